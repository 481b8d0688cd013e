"""Fixtures: the API under test and fresh users."""
from __future__ import annotations

import itertools

import pytest

from api import create_app
from engine import users
from engine.demo import DEMO_PASSWORD
from tests.integration.helpers import ApiClient

_unique = itertools.count(1)


@pytest.fixture(scope="session")
def api(engine, people) -> ApiClient:
    return ApiClient(create_app(engine=engine))


@pytest.fixture
def new_user(engine):
    """Create a fresh user (so tests don't see each other's applications)."""
    def make(role: str = "applicant", department: str | None = None) -> str:
        name = f"{role}_{department or 'x'}_{next(_unique)}"
        with engine.sessions() as session:
            users.create_user(session, name, DEMO_PASSWORD, role, department)
            session.commit()
        return name
    return make
