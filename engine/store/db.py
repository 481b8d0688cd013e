"""Database connection and schema migrations (Alembic), the same on SQLite and PostgreSQL."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SOURCE_TIMEOUT_SECONDS = 2  # a data-sharing source's default timeout (engine.sources.SqlSource)


def make_engine(url: str, immediate: bool = True, read_only: bool = False) -> Engine:
    """Create the SQLAlchemy engine.

    SQLite gets WAL and a busy timeout, and (``immediate``) takes its write lock when a
    transaction begins: two writers then queue instead of one failing at commit with
    "database is locked", and the second sees the first's committed version.
    ``read_only`` (the data-sharing sources' lookups): PostgreSQL in autocommit, so a
    lookup is one statement, not BEGIN, SELECT, ROLLBACK, and bounded in time (connect and
    statement timeouts of ``SOURCE_TIMEOUT_SECONDS``): a stuck registry read is an
    unavailable fact, not a stuck request. No ping before each use (a round trip per
    lookup): a read that meets a dropped connection is repeated once instead
    (``engine.sources.SqlSource``).
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        if immediate:
            event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    if not read_only:
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_engine(url, pool_size=10, max_overflow=20, isolation_level="AUTOCOMMIT",
                           connect_args={"connect_timeout": SOURCE_TIMEOUT_SECONDS})
    event.listen(engine, "connect", _bounded_statements)
    return engine


def _bounded_statements(dbapi_connection, _record) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {SOURCE_TIMEOUT_SECONDS * 1000}")
    dbapi_connection.commit()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def insert_for(dialect: str, table) -> PostgresInsert | SqliteInsert:
    """An INSERT that can say ``on_conflict_do_nothing()`` / ``on_conflict_do_update()``:
    both backends have it, each in its own dialect."""
    return postgres_insert(table) if dialect == "postgresql" else sqlite_insert(table)


def dialect_of(session: Session) -> str:
    """The session's database dialect: a hot path's statements are built once per dialect."""
    return session.get_bind().dialect.name


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the schema to the newest migration (``onewindow db upgrade``)."""
    command.upgrade(alembic_config(url), "head")
