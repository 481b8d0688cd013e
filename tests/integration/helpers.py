"""Helpers for integration tests: a signed-in API client and finishing queued work."""
from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from rq import Queue, SimpleWorker
from sqlalchemy import select

from api import create_app
from api.context import SERVICES
from engine.demo import DEMO_PASSWORD, demo_people, registry_name
from engine.people import users
from engine.store.models import User
from engine.store.registries import LicenceRecord
from forms.identifiers import make_resident_id
from worker.queues import QUEUE_NAME, InProcessWorkQueue, RQWorkQueue


class ApiClient:
    """A test client that signs in as named users and remembers their tokens."""

    def __init__(self, app) -> None:
        self.app = app
        self.http = app.test_client()
        self._tokens: dict[str, str] = {}

    def headers(self, username: str | None, **extra: str) -> dict:
        if username is None:
            return extra
        if username not in self._tokens:
            reply = self.http.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
            assert reply.status_code == 200, reply.get_json()
            self._tokens[username] = reply.get_json()["token"]
        return {"Authorization": f"Bearer {self._tokens[username]}", **extra}

    def sign_in(self, username: str, password: str) -> None:
        """Sign in with a password of the account's own (not the demo password)."""
        reply = self.http.post("/api/auth/login", json={"username": username, "password": password})
        assert reply.status_code == 200, reply.get_json()
        self._tokens[username] = reply.get_json()["token"]

    def get(self, path: str, as_user: str | None = None, **kwargs):
        return self.http.get(path, headers=self.headers(as_user), **kwargs)

    def post(self, path: str, as_user: str | None = None, headers: dict | None = None, **kwargs):
        return self.http.post(path, headers=self.headers(as_user, **(headers or {})), **kwargs)


DECISION_READER = "decision_reader"  # an analyst: reads every application on the platform
_reader_tokens: dict[str, str] = {}  # database -> the reader's token


def decision_of(client: ApiClient, application: int | str) -> dict | None:
    """The application's technical decision record (outcome, rule ids, facts with sources) as
    staff read it: applicants and agents get ``decision: null`` and read ``reasons``. Takes
    the application's id or reference. The reading analyst is opened on first use and signed
    in once per database, not through the API (whose sign-in is rate-limited per account)."""
    with client.app.extensions[SERVICES].sessions() as session:
        database = str(session.get_bind().url)
        if database not in _reader_tokens:
            if session.scalar(select(User).where(User.username == DECISION_READER)) is None:
                users.create_user(session, DECISION_READER, DEMO_PASSWORD, "analyst")
            _reader_tokens[database], _ = users.login(session, DECISION_READER, DEMO_PASSWORD)
            session.commit()
    reply = client.http.get(f"/api/applications/{application}",
                            headers={"Authorization": f"Bearer {_reader_tokens[database]}"})
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()["decision"]


def run_queued_work(services) -> None:
    """Finish queued work: the in-process thread, or a real RQ worker in burst mode."""
    if isinstance(services.queue, InProcessWorkQueue):
        services.queue.drain()
        return
    assert isinstance(services.queue, RQWorkQueue)
    redis = services.queue.queue.connection
    SimpleWorker([Queue(QUEUE_NAME, connection=redis)], connection=redis).work(burst=True)


BEIJING = ZoneInfo("Asia/Shanghai")


class MovableClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, *parts: int) -> None:
        self.now = datetime(*parts, tzinfo=BEIJING)


_unknown = itertools.count()


def unknown_resident() -> str:
    """A valid resident ID of an 84-year-old the population registry has never heard of:
    fresh for every case, since an approved one enters the benefit register."""
    n = next(_unknown)
    born = date(date.today().year - 84, 6, 1 + (n // 999) % 28)
    return make_resident_id("469001", born, f"{n % 999 + 1:03d}")


def add_licences(services, id_number: str, licences: tuple[str, ...]) -> None:
    """The e-licence library holds these licences of the person (免证办)."""
    with services.sessions() as session:
        for licence_type in licences:
            session.merge(LicenceRecord(holder=id_number, licence_type=licence_type,
                                        licence_no=f"{licence_type}-{id_number}", valid_until=date(2099, 12, 31)))
        session.commit()


def with_silent_source(services, source: str) -> ApiClient:
    """The API (on ``services``'s clock) with the data-sharing ``source`` not answering: its
    lookups time out, so the facts it gives are unavailable (which sends a case to a clerk,
    never refuses it). Who may apply for whom is read from the registries directly."""
    silent = services.sources[source].slowed(delay=1, timeout=0.01)
    return ApiClient(create_app(replace(services, sources={**services.sources, source: silent})))


def authorise(client: ApiClient, principal: str, agent: str, matters: list[str] | None = None) -> dict:
    """The principal (a verified person's account) authorises ``agent`` online (授权代办), from
    now for a year, for ``matters`` (None: every matter). For a client on the real clock
    (``api``), not a moved one."""
    valid_to = datetime.now(BEIJING) + timedelta(days=365)
    reply = client.post("/api/authorisations", principal,
                        json={"agent": agent, "matters": matters, "valid_to": valid_to.isoformat()})
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def demo_name(id_number: str) -> str:
    """The population registry's name of a demo resident (engine/demo.py): what a form names
    another party by (the registry fills in only the caller's own)."""
    return next(registry_name(key) for key, value in demo_people(date.today()).items() if value == id_number)
