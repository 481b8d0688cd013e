"""application.yellow_at / colour / clock_pauses: deadline supervision (电子监察)

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("yellow_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("colour", sa.String(8), nullable=False, server_default="green"))
        batch.add_column(sa.Column("clock_pauses", sa.JSON(), nullable=False, server_default="[]"))
        batch.create_index("ix_application_colour", ["colour"])
        batch.create_index("ix_application_supervision", ["status", "colour", "due_at"])


def downgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.drop_index("ix_application_supervision")
        batch.drop_index("ix_application_colour")
        batch.drop_column("clock_pauses")
        batch.drop_column("colour")
        batch.drop_column("yellow_at")
