"""application.bundle_id/bundle_element/ordered_matters: a member application of a bundle (一件事, engine/bundles/)

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("bundle_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("bundle_element", sa.String(100), nullable=True))
        batch.add_column(sa.Column("ordered_matters", sa.JSON(), nullable=True))
        batch.create_foreign_key("fk_application_bundle", "application", ["bundle_id"], ["id"])
        batch.create_index("ix_application_bundle_id", ["bundle_id"])


def downgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.drop_index("ix_application_bundle_id")
        batch.drop_constraint("fk_application_bundle", type_="foreignkey")
        batch.drop_column("ordered_matters")
        batch.drop_column("bundle_element")
        batch.drop_column("bundle_id")
