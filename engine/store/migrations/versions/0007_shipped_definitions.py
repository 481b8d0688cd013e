"""service_definition.shipped: whether a version came from the repository's catalogue,
so that a restart never deploys the shipped files over an analyst's version

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_definition") as batch_op:
        batch_op.add_column(sa.Column("shipped", sa.Boolean(), nullable=False, server_default=sa.false()))
    # Before this column, the catalogue deployed as "system" (serve) or "cli" (onewindow deploy).
    op.execute("UPDATE service_definition SET shipped = true WHERE deployed_by IN ('system', 'cli')")


def downgrade() -> None:
    with op.batch_alter_table("service_definition") as batch_op:
        batch_op.drop_column("shipped")
