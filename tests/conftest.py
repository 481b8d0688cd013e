"""Test backends: the embedded default (SQLite, in-process work) or, with
``ONEWINDOW_TEST_BACKEND=postgres``, real PostgreSQL and Redis. CI runs the suite on both."""
from __future__ import annotations

import os
from datetime import date

import pytest
from redis import Redis
from sqlalchemy import text

from engine.definitions.catalogue import deploy_catalogue
from engine.config import Settings
from engine.store.db import make_engine, upgrade
from engine.demo import seed

BACKEND = os.environ.get("ONEWINDOW_TEST_BACKEND", "sqlite")
if BACKEND not in ("sqlite", "postgres"):  # a misspelt "postgresql" would silently run SQLite
    raise pytest.UsageError(f"ONEWINDOW_TEST_BACKEND={BACKEND!r}: use sqlite or postgres")
PG_URL = os.environ.get("ONEWINDOW_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ONEWINDOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def pytest_report_header(config) -> str:
    return f"onewindow backend: {BACKEND}"


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    if BACKEND == "postgres":
        _reset_postgres(PG_URL)
        Redis.from_url(REDIS_URL).flushdb()
        result = Settings(database_url=PG_URL, redis_url=REDIS_URL, demo=True)
    else:
        path = tmp_path_factory.mktemp("db") / "onewindow.db"
        result = Settings(database_url=f"sqlite:///{path}", redis_url=None, demo=True)
    upgrade(result.database_url)
    # Jobs run by RQ workers (in this process or spawned) build their services from these.
    os.environ["ONEWINDOW_DATABASE_URL"] = result.database_url
    # The suite loads the demo data and makes users with its published password: on
    # PostgreSQL too, which the server refuses unless told (engine/people/accounts.py).
    os.environ["ONEWINDOW_DEMO"] = "1"
    if result.redis_url:
        os.environ["ONEWINDOW_REDIS_URL"] = result.redis_url
    return result


def _reset_postgres(url: str) -> None:
    database = make_engine(url)
    with database.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    database.dispose()


@pytest.fixture(scope="session")
def services(settings):
    from onewindow.wiring import build_services

    built = build_services(settings)
    with built.sessions() as session:
        deploy_catalogue(session, set(built.sources), "tests")
        session.commit()
    return built


@pytest.fixture(scope="session")
def people(services) -> dict[str, str]:
    with services.sessions() as session:
        ids = seed(session, date.today())
        session.commit()
    return ids
