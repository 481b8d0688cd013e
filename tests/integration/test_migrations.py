"""Migrations: one head; upgrade -> downgrade to base -> upgrade on a fresh database; and
the schema the migrations build is the one engine/store/models.py declares.

Runs on a fresh SQLite file on every backend and, on the PostgreSQL backend, on a fresh
database of its own next to the suite's (created and dropped here), so whatever head
others add is walked down and up on both. The models are compared with Alembic's
autogenerate (tables, columns, types, nullability, indexes, unique and foreign keys).
Server defaults are not compared: a migration gives a NOT NULL column it adds a server
default so existing rows get a value, while the models set their defaults in Python.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from engine.store.db import alembic_config
from engine.store.models import Base
from tests.conftest import BACKEND, PG_URL


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request, tmp_path) -> Iterator[str]:
    """An empty database: a SQLite file, or a PostgreSQL database made for the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    if BACKEND != "postgres":
        pytest.skip("the PostgreSQL round trip runs in the suite's PostgreSQL run")
    server = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"{make_url(PG_URL).database}_migrations"
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def differences(url: str) -> list:
    """What autogenerate would write to bring the database to the models."""
    database = create_engine(url)
    try:
        with database.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                    Base.metadata)
    finally:
        database.dispose()


def tables(url: str) -> set[str]:
    database = create_engine(url)
    try:
        with database.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        database.dispose()


def test_the_migrations_have_one_head():
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"several heads, upgrade head cannot choose: {heads}"


def test_upgrade_downgrade_to_base_and_upgrade_again_builds_the_models_schema(fresh_url):
    config = alembic_config(fresh_url)
    command.upgrade(config, "head")
    assert differences(fresh_url) == []
    assert set(Base.metadata.tables) <= tables(fresh_url)

    command.downgrade(config, "base")
    assert tables(fresh_url) <= {"alembic_version"}, "the downgrades left tables behind"

    command.upgrade(config, "head")
    assert differences(fresh_url) == []
