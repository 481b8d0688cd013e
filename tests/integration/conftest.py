"""Fixtures: the API under test and fresh users."""
from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import NamedTuple

import pytest

from api import create_app
from engine import users
from engine.demo import DEMO_PASSWORD
from engine.models import CreditRecord, DebtorRecord, LicenceRecord, RegistryPerson
from forms.identifiers import make_credit_code, make_resident_id
from tests.integration.helpers import BEIJING, ApiClient, MovableClock, add_licences

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


@pytest.fixture
def senior(engine, resident):
    """A fresh local resident of ``age`` whose e-licences the library holds (``licences``):
    老年人优待证 is decided at once, certificate-free."""
    def make(age: int, licences: tuple[str, ...] = ("resident_id_card", "id_photo"), local: bool = True) -> str:
        id_number = resident(age, local=local)
        add_licences(engine, id_number, licences)
        return id_number
    return make


class Clocked(NamedTuple):
    client: ApiClient
    clock: MovableClock
    engine: object  # the Engine, on the movable clock (its fire_timers is the scheduler's job)


@pytest.fixture
def clocked(engine) -> Clocked:
    """The API on a clock the test moves, starting Monday 28 Sep 2026, 10:00 in Beijing —
    the week before National Day, so deadlines cross the holiday and the 10 Oct make-up day."""
    clock = MovableClock(datetime(2026, 9, 28, 10, 0, tzinfo=BEIJING))
    timed = replace(engine, clock=clock)
    return Clocked(ApiClient(create_app(engine=timed)), clock, timed)


@pytest.fixture
def company(engine):
    """A fresh company (unified social credit code) with a credit tier (None: no record,
    which reads as blue), optionally on the dishonest-debtor list, and the e-licences the
    library holds for it."""
    def make(tier: str | None = None, debtor: bool = False,
             licences: tuple[str, ...] = ("business_licence", "publication_permit"),
             permit_valid_until: date = date(2028, 12, 31)) -> str:
        credit_code = make_credit_code(f"91469027PB{next(_unique):07d}")
        with engine.sessions() as session:
            if tier:
                session.add(CreditRecord(subject=credit_code, tier=tier, reason="测试"))
            if debtor:
                session.add(DebtorRecord(subject=credit_code, case_no="（2026）琼0106执99号",
                                         court="海口市龙华区人民法院", listed_on=date(2026, 3, 1)))
            for licence_type in licences:
                valid_until = permit_valid_until if licence_type == "publication_permit" else None
                session.add(LicenceRecord(holder=credit_code, licence_type=licence_type,
                                          licence_no=f"{licence_type}-{credit_code}", valid_until=valid_until))
            session.commit()
        return credit_code
    return make
