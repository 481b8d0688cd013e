"""upload, upload_blob: material files (PDF, JPEG, PNG, OFD) and their bytes (engine/uploads/)

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upload",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("public_id", sa.String(32), nullable=False, unique=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("application.id"), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_kind", sa.String(16), nullable=False),
        sa.Column("storage_key", sa.String(200), nullable=False),
        sa.Column("scan", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_upload_owner_id", "upload", ["owner_id"])
    op.create_index("ix_upload_application_id", "upload", ["application_id"])
    op.create_index("ix_upload_sha256", "upload", ["sha256"])
    op.create_table(
        "upload_blob",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("upload_blob")
    op.drop_index("ix_upload_sha256", table_name="upload")
    op.drop_index("ix_upload_application_id", table_name="upload")
    op.drop_index("ix_upload_owner_id", table_name="upload")
    op.drop_table("upload")
