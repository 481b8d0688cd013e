"""application.timer_due_at: when the next BPMN timer of an application fires

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("timer_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_application_timer_due_at", ["timer_due_at"])


def downgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.drop_index("ix_application_timer_due_at")
        batch.drop_column("timer_due_at")
