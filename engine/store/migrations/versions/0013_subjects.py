"""application.subject_kind/subject_id/authorisation_id: whom an application is for (engine/people/subjects.py)

Applications made before subject binding keep NULL: they were made for whatever the form
said, and nothing checked it.

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("subject_kind", sa.String(8), nullable=True))
        batch.add_column(sa.Column("subject_id", sa.String(18), nullable=True))
        batch.add_column(sa.Column("authorisation_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_application_authorisation", "authorisation", ["authorisation_id"], ["id"])
        batch.create_index("ix_application_subject_id", ["subject_id"])


def downgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.drop_index("ix_application_subject_id")
        batch.drop_constraint("fk_application_authorisation", type_="foreignkey")
        batch.drop_column("authorisation_id")
        batch.drop_column("subject_id")
        batch.drop_column("subject_kind")
