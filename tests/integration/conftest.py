"""Fixtures: the API under test and fresh users."""
from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from api import create_app
from engine import users
from engine.demo import DEMO_PASSWORD
from engine.models import RegistryPerson
from forms.identifiers import make_resident_id
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


def _born(age: int, n: int) -> date:
    """A birth date whose birthday has passed this year, so the person is exactly ``age``."""
    today = date.today()
    anniversary = date(today.year - age, today.month, min(today.day, 28))
    return anniversary - timedelta(days=1 + n % 300)


@pytest.fixture
def resident(engine):
    """Register a fresh local resident of the given age (an approved one enters the
    benefit register, so every approval needs a person of its own)."""
    def make(age: int, local: bool = True) -> str:
        n = next(_unique)
        id_number = make_resident_id("460106", _born(age, n), f"{n % 999:03d}")
        with engine.sessions() as session:
            session.merge(RegistryPerson(id_number=id_number, name=f"居民{n}", household_local=local,
                                         household_region="460100" if local else "110100"))
            session.commit()
        return id_number
    return make
