"""Fixtures: the API under test and fresh users."""
from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import NamedTuple

import pytest
from sqlalchemy import select

from api import create_app
from engine.people import company_roles, identity, users
from engine.people.authorisations import GivenBy
from engine.demo import DEMO_PASSWORD
from engine.services import Services
from engine.store.models import Authorisation, User
from engine.store.registries import CompanyRecord, CreditRecord, DeathRecord, DebtorRecord, LicenceRecord, RegistryPerson
from forms.identifiers import is_valid_resident_id, make_credit_code, make_resident_id
from tests.integration.helpers import BEIJING, ApiClient, MovableClock, add_licences

_unique = itertools.count(1)


@pytest.fixture(scope="session")
def api(services, people) -> ApiClient:
    return ApiClient(create_app(services))


@pytest.fixture
def new_user(services):
    """Create a fresh user (so tests don't see each other's applications); an applicant is
    a fresh resident of the population registry with a verified account (实名认证), unless
    ``verified=False`` (an account opened before 实名认证)."""
    def make(role: str = "applicant", department: str | None = None, verified: bool = True) -> str:
        with services.sessions() as session:
            if role == "applicant" and verified:
                user = _verified_account(session, _new_resident(session, 40))
            else:
                user = users.create_user(session, f"{role}_{department or 'x'}_{next(_unique)}", DEMO_PASSWORD,
                                         role, department)
            session.commit()
            return user.username
    return make


@pytest.fixture
def applicant_for(services):
    """The username of an account that may apply for ``subject`` (engine/people/subjects.py): a
    resident's own verified account (opened on first use); for a resident who cannot open
    one (deceased), a fresh person they authorised (授权代办); for a company, its legal
    representative's account, holding the role."""
    def make(subject: str) -> str:
        with services.sessions() as session:
            user = (_person_account(session, subject) if is_valid_resident_id(subject)
                    else _company_account(session, subject))
            session.commit()
            return user.username
    return make


def _born(age: int, n: int) -> date:
    """A birth date whose birthday has passed this year, so the person is exactly ``age``."""
    today = date.today()
    anniversary = date(today.year - age, today.month, min(today.day, 28))
    return anniversary - timedelta(days=1 + n % 300)


def _new_resident(session, age: int, local: bool = True) -> str:
    n = next(_unique)
    id_number = make_resident_id("460106", _born(age, n), f"{n % 999:03d}")
    session.merge(RegistryPerson(id_number=id_number, name=f"居民{n}", household_local=local,
                                 household_region="460100" if local else "110100"))
    session.flush()
    return id_number


def _verified_account(session, id_number: str) -> User:
    user = users.create_user(session, f"person_{next(_unique)}", DEMO_PASSWORD, "applicant")
    identity.verify_account(session, user, session.get(RegistryPerson, id_number).name, id_number, actor="tests")
    return user


def _person_account(session, id_number: str) -> User:
    held = session.scalars(select(User).where(User.resident_id == id_number)).first()
    if held is not None:
        return held
    if session.get(DeathRecord, id_number) is None:
        return _verified_account(session, id_number)
    agent = _verified_account(session, _new_resident(session, 40))
    session.add(Authorisation(principal_id_number=id_number, agent=agent, matters=None, given_by=GivenBy.PAPER,
                              valid_from=datetime(2025, 1, 1, tzinfo=BEIJING),
                              valid_to=datetime(2027, 12, 31, tzinfo=BEIJING),
                              document_ref="测试授权书", recorded_by="tests"))
    return agent


def _company_account(session, credit_code: str) -> User:
    record = session.get(CompanyRecord, credit_code)
    representative = _person_account(session, record.legal_rep_id_number)
    if credit_code not in identity.companies_of(session, representative):
        company_roles.claim_legal_representative(session, representative, credit_code)
    return representative


@pytest.fixture
def resident(services):
    """Register a fresh local resident of the given age (an approved one enters the
    benefit register, so every approval needs a person of its own)."""
    def make(age: int, local: bool = True) -> str:
        with services.sessions() as session:
            id_number = _new_resident(session, age, local)
            session.commit()
        return id_number
    return make


@pytest.fixture
def senior(services, resident):
    """A fresh local resident of ``age`` whose e-licences the library holds (``licences``):
    老年人优待证 is decided at once, certificate-free."""
    def make(age: int, licences: tuple[str, ...] = ("resident_id_card", "id_photo"), local: bool = True) -> str:
        id_number = resident(age, local=local)
        add_licences(services, id_number, licences)
        return id_number
    return make


class Clocked(NamedTuple):
    client: ApiClient
    clock: MovableClock
    services: Services  # on the movable clock (its work.fire_timers is the scheduler's job)


@pytest.fixture
def clocked(services) -> Clocked:
    """The API on a clock the test moves, starting Monday 28 Sep 2026, 10:00 in Beijing —
    the week before National Day, so deadlines cross the holiday and the 10 Oct make-up day."""
    clock = MovableClock(datetime(2026, 9, 28, 10, 0, tzinfo=BEIJING))
    timed = replace(services, clock=clock)
    return Clocked(ApiClient(create_app(timed)), clock, timed)


@pytest.fixture
def company(services):
    """A fresh company (unified social credit code) in the market-entity registry with a
    fresh legal representative (``applicant_for`` signs them in), a credit tier (None: no record,
    which reads as blue), optionally on the dishonest-debtor list, and the e-licences the
    library holds for it."""
    def make(tier: str | None = None, debtor: bool = False,
             licences: tuple[str, ...] = ("business_licence", "publication_permit"),
             permit_valid_until: date = date(2028, 12, 31)) -> str:
        n = next(_unique)
        credit_code = make_credit_code(f"91469027PB{n:07d}")
        with services.sessions() as session:
            representative = _new_resident(session, 45)
            session.add(CompanyRecord(credit_code=credit_code, name=f"测试企业{n}有限公司",
                                      legal_rep_id_number=representative,
                                      legal_rep_name=session.get(RegistryPerson, representative).name))
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
