"""service_definition.policy: the matter's policy versioned with its definition

A policy change (catalogue keys such as credit.blocks or grant) used to reach running
applications, which read the live matter row. Existing versions get the policy the matter
has at upgrade time: the one they ran with until now.

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_definition") as batch:
        batch.add_column(sa.Column("policy", sa.JSON(), nullable=True))
    op.execute("UPDATE service_definition SET policy = (SELECT elements FROM matter "
               "WHERE matter.code = service_definition.matter_code)")
    with op.batch_alter_table("service_definition") as batch:
        batch.alter_column("policy", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("service_definition") as batch:
        batch.drop_column("policy")
