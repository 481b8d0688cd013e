"""application.reasons: one explanation per decision (engine/explanation.py)

Recorded when an application is answered. Applications answered before this revision keep
``reasons`` empty; their ``decision`` and ``result`` still hold what was known.

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("application", sa.Column("reasons", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    op.drop_column("application", "reasons")
