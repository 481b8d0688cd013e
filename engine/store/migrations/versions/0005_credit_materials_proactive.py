"""credit registry, dishonest-debtor list, e-licence library; per-application promised
days (red-tier fast lane), materials (免证办) and the proactive flag (免申即享); residents'
phone numbers in the population registry (免申即享 notices)

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "src_credit",
        sa.Column("subject", sa.String(18), primary_key=True),
        sa.Column("tier", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "src_debtor",
        sa.Column("subject", sa.String(18), primary_key=True),
        sa.Column("case_no", sa.String(64), nullable=False),
        sa.Column("court", sa.String(100), nullable=False),
        sa.Column("listed_on", sa.Date(), nullable=False),
    )
    op.create_table(
        "src_licence",
        sa.Column("holder", sa.String(18), primary_key=True),
        sa.Column("licence_type", sa.String(64), primary_key=True),
        sa.Column("licence_no", sa.String(64), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
    )
    with op.batch_alter_table("application") as batch_op:
        batch_op.add_column(sa.Column("promised_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("materials", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("proactive", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("src_person") as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("src_person") as batch_op:
        batch_op.drop_column("phone")
    with op.batch_alter_table("application") as batch_op:
        batch_op.drop_column("proactive")
        batch_op.drop_column("materials")
        batch_op.drop_column("promised_days")
    op.drop_table("src_licence")
    op.drop_table("src_debtor")
    op.drop_table("src_credit")
