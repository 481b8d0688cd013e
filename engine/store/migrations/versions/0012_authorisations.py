"""authorisation: 授权代办, who may apply in whose name (engine/people/authorisations.py)

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "authorisation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("principal_id_number", sa.String(18), nullable=False),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("outlet", sa.String(64), nullable=True),
        sa.Column("matters", sa.JSON(), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("given_by", sa.String(16), nullable=False),
        sa.Column("document_ref", sa.String(100), nullable=True),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_authorisation_principal_id_number", "authorisation", ["principal_id_number"])
    op.create_index("ix_authorisation_agent_id", "authorisation", ["agent_id"])
    op.create_index("ix_authorisation_outlet", "authorisation", ["outlet"])


def downgrade() -> None:
    op.drop_index("ix_authorisation_outlet", table_name="authorisation")
    op.drop_index("ix_authorisation_agent_id", table_name="authorisation")
    op.drop_index("ix_authorisation_principal_id_number", table_name="authorisation")
    op.drop_table("authorisation")
