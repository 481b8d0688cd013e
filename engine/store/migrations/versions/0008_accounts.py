"""app_user.disabled and app_user.demo_password: accounts can be disabled, and the server
knows which accounts still have the published demo password

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa
from werkzeug.security import check_password_hash

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Before this revision only `onewindow demo` (and `serve` on an empty embedded database)
# made accounts with the published password, under these names (engine/demo.py at 0007).
DEMO_PASSWORD = "demo-password"
DEMO_USERNAMES = ("alice", "bob", "clerk_civil", "clerk_housing", "clerk_housing2", "clerk_window",
                  "clerk_culture", "clerk_health", "clerk_social", "analyst", "supervisor", "admin")


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch_op:
        batch_op.add_column(sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("demo_password", sa.Boolean(), nullable=False, server_default=sa.false()))
    users = sa.table("app_user", sa.column("id", sa.Integer), sa.column("username", sa.String),
                     sa.column("password_hash", sa.String), sa.column("demo_password", sa.Boolean))
    connection = op.get_bind()
    rows = connection.execute(sa.select(users.c.id, users.c.password_hash)
                              .where(users.c.username.in_(DEMO_USERNAMES))).all()
    published = [row.id for row in rows if check_password_hash(row.password_hash, DEMO_PASSWORD)]
    if published:
        connection.execute(users.update().where(users.c.id.in_(published)).values(demo_password=True))


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch_op:
        batch_op.drop_column("demo_password")
        batch_op.drop_column("disabled")
