"""One approval per subject per benefit, and gap-free result numbers, under requests that
arrive at the same moment (issue 11, items 2 and 3).

The guarantees come from the database, not from timing: the register's primary key
(engine/policy/holdings.py) lets exactly one approval of a person through, the others are refused
naming what is held (``already_held``) or by the rules (``already_receiving``); numbers come
from one counter row bumped in the deciding transaction (engine/policy/numbers.py). Shown as
production runs it — real gunicorn worker processes on PostgreSQL and Redis, over HTTP —
and in one process with threads on the embedded SQLite backend. On both, the rules read the
register before the deciding transaction takes its locks, so requests of the same moment can
all pass ``already_receiving`` and only the primary key stops them: each run prints how
many refusals each rule gave.
"""
from __future__ import annotations

import itertools
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from api import create_app
from engine.people import identity
from engine.people.authorisations import GivenBy
from engine.oversight.deadlines import local_day
from engine.demo import DEMO_PASSWORD
from engine.policy.holdings import ALREADY_HELD_RULE
from engine.store.models import Application, Authorisation, ResultCounter, User, utcnow
from engine.store.registries import RegistryPerson, SubsidyRecipient
from forms.identifiers import make_resident_id
from tests.conftest import BACKEND
from tests.integration.gunicorn_server import InProcessApi, gunicorn
from tests.integration.helpers import BEIJING

APPLICANTS = 20  # distinct applicant accounts, each sending one request of a round
ROUNDS = 3
MANY = 50
CHEAP_HASH = "pbkdf2:sha256:1000"
REFUSAL_RULES = {ALREADY_HELD_RULE, "already_receiving"}
CHINESE = re.compile(r"[\u4e00-\u9fff]")
SUBSIDY_NUMBER = re.compile(r"琼民高龄〔(\d{4})〕(\d{6})号")
CARD_NUMBER = re.compile(r"YDZ(\d{4})(\d{7})")
_identities = itertools.count(1)


@pytest.fixture(scope="module", params=["gunicorn", "in-process"])
def server(request, settings, services, people, tmp_path_factory):
    """The API the requests go to: ``gunicorn -w 4`` on PostgreSQL + Redis, or the app in
    this process on SQLite (the embedded default)."""
    if request.param == "gunicorn":
        if BACKEND != "postgres":
            pytest.skip("gunicorn's worker processes share one PostgreSQL and Redis; the sqlite "
                        "backend is embedded (one process) and is shown in-process instead")
        with gunicorn(settings, tmp_path_factory.mktemp("gunicorn") / "gunicorn.log") as running:
            yield running.api
    else:
        if BACKEND == "postgres":
            pytest.skip("on PostgreSQL these scenarios run against real gunicorn worker processes")
        yield InProcessApi(create_app(services))


def give_identity(session, user: User, age: int = 40) -> str:
    """实名认证: register a fresh local resident of about ``age`` in the population registry
    and verify ``user`` as them; their resident ID (region 460107, which no fixture uses)."""
    n = next(_identities)
    born = date(date.today().year - age, 1, 1) + timedelta(days=n // 999 % 360)
    id_number = make_resident_id("460107", born, f"{n % 999:03d}")
    session.add(RegistryPerson(id_number=id_number, name=f"实名居民{n}", household_local=True, household_region="460100"))
    session.flush()
    identity.verify_account(session, user, f"实名居民{n}", id_number, actor="tests")
    return id_number


@dataclass(frozen=True)
class Racers:
    """Distinct applicant accounts (verified people), their ids, and their tokens."""

    user_ids: list[int]
    tokens: list[str]


@pytest.fixture(scope="module")
def applicants(server, services) -> Racers:
    """Distinct verified applicant accounts, each signed in over the API; whom they apply
    for authorises them first (授权代办: ``authorise``). Their password hash is a cheap one
    (werkzeug checks whichever method a hash names): these tests are about races, and
    scrypt's fifth of a second per account would be most of their time."""
    run, password_hash = uuid4().hex[:6], generate_password_hash(DEMO_PASSWORD, method=CHEAP_HASH)
    names = [f"racer_{run}_{i}" for i in range(APPLICANTS)]
    with services.sessions() as session:
        racers = [User(username=name, password_hash=password_hash, role="applicant", display_name=name)
                  for name in names]
        session.add_all(racers)
        for racer in racers:
            give_identity(session, racer)
        user_ids = [racer.id for racer in racers]
        session.commit()
    with ThreadPoolExecutor(max_workers=4) as pool:
        return Racers(user_ids, list(pool.map(server.login, names)))


def authorise(services, principal: str, agent_ids: list[int]) -> None:
    """The person authorises each of these accounts to apply for them (授权代办, on paper)."""
    with services.sessions() as session:
        session.add_all(Authorisation(principal_id_number=principal, agent_id=agent_id, matters=None,
                                      given_by=GivenBy.PAPER, valid_from=datetime(2025, 1, 1, tzinfo=BEIJING),
                                      valid_to=datetime(2027, 12, 31, tzinfo=BEIJING),
                                      document_ref="并发测试授权书", recorded_by="tests")
                        for agent_id in agent_ids)
        session.commit()


def submission(matter: str, id_number: str) -> dict:
    """The name is left out: the population registry fills it in (秒填)."""
    return {"matter": matter, "data": {"id_number": id_number, "phone": "13800138000"}}


def all_at_once(api, requests: list[tuple[str, dict]]) -> tuple[list[tuple[int, dict]], float]:
    """Send every (token, submission) from a thread of its own, released together by a
    barrier once every thread holds an open connection; the replies in order, and seconds."""
    barrier = threading.Barrier(len(requests))

    def send(request: tuple[str, dict]) -> tuple[int, dict]:
        token, body = request
        connection = api.connection()
        barrier.wait(timeout=60)
        return api.call("POST", "/api/applications", token, body, connection)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        replies = list(pool.map(send, requests))
    return replies, time.monotonic() - started


def decided(replies: list[tuple[int, dict]]) -> tuple[list[dict], list[dict]]:
    """(approved, refused) bodies; every request must have been decided in its response."""
    unexpected = [(status, body) for status, body in replies if status != 201]
    assert not unexpected, f"{len(unexpected)} of {len(replies)} not decided at once, e.g. {unexpected[0]}"
    approved = [body for _status, body in replies if body["outcome"] == "approve"]
    refused = [body for _status, body in replies if body["outcome"] == "reject"]
    assert len(approved) + len(refused) == len(replies), [body["outcome"] for _status, body in replies]
    return approved, refused


@pytest.fixture(scope="module")
def staff(server) -> str:
    """The demo analyst's token: the decision's rule ids are for staff (applicants read ``reasons``)."""
    return server.login("analyst")


def refusal_rules(server, staff: str, body: dict, number_held: str) -> set[str]:
    """The rules a refusal gives (read as staff); each says in Chinese why, ``already_held``
    naming the number."""
    assert (body["status"], body["result_no"]) == ("completed", None), body
    status, detail = server.call("GET", f"/api/applications/{body['id']}", staff)
    assert status == 200, detail
    reasons = [r for r in detail["decision"]["reasons"] if r["rule"] in REFUSAL_RULES]
    assert reasons, f"refused without saying it is already held: {detail['decision']}"
    for reason in reasons:
        assert CHINESE.search(reason["message"]), reason
        if reason["rule"] == ALREADY_HELD_RULE:
            assert number_held in reason["message"], reason
    return {r["rule"] for r in reasons}


def the_year() -> int:
    """The year numbers are issued in: Beijing's (engine/policy/numbers.py)."""
    return local_day(utcnow()).year


def holding(services, id_number: str, matter: str) -> tuple[str | None, str | None] | None:
    with services.sessions() as session:
        row = session.get(SubsidyRecipient, (id_number, matter))
        return None if row is None else (row.tracking_no, row.result_no)


def approvals_stored(services, bodies: list[dict]) -> list[int]:
    """Ids of the applications among ``bodies`` the database records as approved."""
    with services.sessions() as session:
        return list(session.scalars(select(Application.id).where(
            Application.id.in_([b["id"] for b in bodies]), Application.outcome == "approve")))


def counter(services, matter: str, year: int) -> int:
    with services.sessions() as session:
        row = session.get(ResultCounter, (matter, year))
        return row.last if row else 0


def report(what: str, approved: list, refused: list[dict], rules: list[set[str]], seconds: float) -> None:
    by_rule = {rule: sum(rule in r for r in rules) for rule in sorted(REFUSAL_RULES)}
    print(f"\n[{BACKEND}] {what}: {len(approved)} approved, {len(refused)} refused {by_rule} in {seconds:.2f} s")


def test_one_person_applied_for_by_20_applicants_at_once_is_granted_the_subsidy_once(
        server, applicants, resident, services, staff):
    for round_no in range(1, ROUNDS + 1):
        id_number = resident(85)
        authorise(services, id_number, applicants.user_ids)
        replies, seconds = all_at_once(server, [(token, submission("elderly_subsidy", id_number))
                                                for token in applicants.tokens])
        approved, refused = decided(replies)
        rules = [refusal_rules(server, staff, body, approved[0]["result_no"]) for body in refused] if approved else []
        report(f"elderly_subsidy round {round_no}", approved, refused, rules, seconds)
        assert (len(approved), len(refused)) == (1, APPLICANTS - 1)
        winner = approved[0]
        assert SUBSIDY_NUMBER.fullmatch(winner["result_no"]), winner["result_no"]
        assert winner["result"]["notice_no"] == winner["result_no"]
        assert holding(services, id_number, "elderly_subsidy") == (winner["tracking_no"], winner["result_no"])
        assert approvals_stored(services, approved + refused) == [winner["id"]]


def test_one_person_applying_20_times_at_once_for_their_own_card_gets_one_card(
        server, applicant_for, senior, services, staff):
    id_number = senior(66)
    token = server.login(applicant_for(id_number))
    replies, seconds = all_at_once(server, [(token, submission("senior_card", id_number))] * APPLICANTS)
    approved, refused = decided(replies)
    rules = [refusal_rules(server, staff, body, approved[0]["result_no"]) for body in refused] if approved else []
    report("senior_card, one person", approved, refused, rules, seconds)
    assert (len(approved), len(refused)) == (1, APPLICANTS - 1)
    card = approved[0]
    assert CARD_NUMBER.fullmatch(card["result_no"]) and card["result"]["card_no"] == card["result_no"]
    assert all(r == {ALREADY_HELD_RULE} for r in rules), rules  # senior_card's rules do not read the register
    assert holding(services, id_number, "senior_card") == (card["tracking_no"], card["result_no"])
    assert approvals_stored(services, approved + refused) == [card["id"]]


def test_50_approvals_at_once_get_the_next_50_numbers_of_the_year(server, applicants, senior, services):
    year, seniors = the_year(), [senior(60 + i % 40) for i in range(MANY)]
    for i, id_number in enumerate(seniors):
        authorise(services, id_number, [applicants.user_ids[i % APPLICANTS]])
    before = counter(services, "senior_card", year)
    replies, seconds = all_at_once(server, [(applicants.tokens[i % APPLICANTS], submission("senior_card", id_number))
                                            for i, id_number in enumerate(seniors)])
    approved, refused = decided(replies)
    report(f"senior_card, {MANY} people (counter was {before})", approved, refused, [], seconds)
    assert (len(approved), refused) == (MANY, [])
    numbers = [CARD_NUMBER.fullmatch(body["result_no"] or "") for body in approved]
    assert all(numbers), [body["result_no"] for body in approved]
    assert {int(n[1]) for n in numbers} == {year}
    assert sorted(int(n[2]) for n in numbers) == list(range(before + 1, before + MANY + 1))
    assert counter(services, "senior_card", year) == before + MANY
    for id_number, body in zip(seniors, approved):
        assert body["form_data"]["id_number"] == id_number
        assert holding(services, id_number, "senior_card") == (body["tracking_no"], body["result_no"])
