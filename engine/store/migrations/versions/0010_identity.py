"""实名认证 and company roles: app_user.resident_id / full_name / verified_at (an account's
verified identity), the market-entity registry src_company (市场主体登记) and company_role
(a person's role for a company: legal representative or authorised handler)

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ACTIVE = sa.text("revoked_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch_op:
        batch_op.add_column(sa.Column("resident_id", sa.String(18), nullable=True))
        batch_op.add_column(sa.Column("full_name", sa.String(100), nullable=True))
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint("uq_app_user_resident_id", ["resident_id"])
    op.create_table(
        "src_company",
        sa.Column("credit_code", sa.String(18), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("legal_rep_id_number", sa.String(18), nullable=False),
        sa.Column("legal_rep_name", sa.String(100), nullable=False),
        sa.Column("region", sa.String(12), nullable=False),
    )
    op.create_table(
        "company_role",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("granted_by", sa.String(64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_company_role_user_id", "company_role", ["user_id"])
    op.create_index("ix_company_role_credit_code", "company_role", ["credit_code"])
    op.create_index("uq_company_role_active", "company_role", ["user_id", "credit_code"], unique=True,
                    sqlite_where=ACTIVE, postgresql_where=ACTIVE)


def downgrade() -> None:
    op.drop_table("company_role")
    op.drop_table("src_company")
    with op.batch_alter_table("app_user") as batch_op:
        batch_op.drop_constraint("uq_app_user_resident_id", type_="unique")
        batch_op.drop_column("verified_at")
        batch_op.drop_column("full_name")
        batch_op.drop_column("resident_id")
