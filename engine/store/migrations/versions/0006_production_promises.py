"""production mode keeps its promises (issue 11): task versions (one winner of two
concurrent task actions), the request digest of an idempotency key, the result number, the approval and
number each benefit holder holds, result-number counters, incidents, periodic job runs

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task") as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("application") as batch_op:
        batch_op.add_column(sa.Column("request_digest", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("result_no", sa.String(64), nullable=True))
        batch_op.create_unique_constraint("uq_application_result_no", ["matter_code", "result_no"])
    with op.batch_alter_table("src_subsidy_recipient") as batch_op:
        batch_op.add_column(sa.Column("tracking_no", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("result_no", sa.String(64), nullable=True))
    op.create_table(
        "result_counter",
        sa.Column("matter_code", sa.String(64), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("last", sa.Integer(), nullable=False),
    )
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("application.id"), nullable=False, index=True),
        sa.Column("matter_code", sa.String(64), nullable=False),
        sa.Column("definition_version", sa.Integer(), nullable=False),
        sa.Column("element_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_incident_open", "incident", ["status", "created_at"])
    op.create_table(
        "periodic_job_run",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("periodic_job_run")
    op.drop_index("ix_incident_open", table_name="incident")
    op.drop_table("incident")
    op.drop_table("result_counter")
    with op.batch_alter_table("src_subsidy_recipient") as batch_op:
        batch_op.drop_column("result_no")
        batch_op.drop_column("tracking_no")
    with op.batch_alter_table("application") as batch_op:
        batch_op.drop_constraint("uq_application_result_no", type_="unique")
        batch_op.drop_column("result_no")
        batch_op.drop_column("request_digest")
    with op.batch_alter_table("task") as batch_op:
        batch_op.drop_column("version")
