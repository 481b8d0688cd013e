"""application.public_ref: the reference applicants see and use in their paths, random and
not guessable, instead of the sequential id (engine/store/references.py); existing applications get
one here

Revision ID: 0011
Revises: 0010
"""
import secrets

from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

REF_BYTES = 16  # as engine/store/references.py makes them (22 characters); a migration keeps its own copy


def upgrade() -> None:
    with op.batch_alter_table("application") as batch_op:
        batch_op.add_column(sa.Column("public_ref", sa.String(32), nullable=True))
    application = sa.table("application", sa.column("id", sa.Integer), sa.column("public_ref", sa.String))
    connection = op.get_bind()
    for (row_id,) in connection.execute(sa.select(application.c.id)).all():
        connection.execute(application.update().where(application.c.id == row_id)
                           .values(public_ref=secrets.token_urlsafe(REF_BYTES)))
    with op.batch_alter_table("application") as batch_op:
        batch_op.alter_column("public_ref", existing_type=sa.String(32), nullable=False)
        batch_op.create_index("ix_application_public_ref", ["public_ref"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("application") as batch_op:
        batch_op.drop_index("ix_application_public_ref")
        batch_op.drop_column("public_ref")
