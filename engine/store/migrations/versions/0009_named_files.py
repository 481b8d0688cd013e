"""service_definition.file_names and called_bpmn: an upload is a set of named files (every
problem names its file), and the processes a call activity calls may come in files of their
own; task.candidate_users: a user task may name the clerks who may take it (Camunda's
candidateUsers)

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_definition") as batch_op:
        batch_op.add_column(sa.Column("file_names", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("called_bpmn", sa.JSON(), nullable=True))
    with op.batch_alter_table("task") as batch_op:
        batch_op.add_column(sa.Column("candidate_users", sa.String(1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("task") as batch_op:
        batch_op.drop_column("candidate_users")
    with op.batch_alter_table("service_definition") as batch_op:
        batch_op.drop_column("called_bpmn")
        batch_op.drop_column("file_names")
