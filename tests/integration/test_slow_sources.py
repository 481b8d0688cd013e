"""A slow data-sharing read never holds a write transaction open.

Before: the submitting request began its transaction (on SQLite, BEGIN IMMEDIATE: the
database's write lock) with its first read and kept it through the rules' registry
lookups, so one slow registry answer stalled every other writer. Now the reads a change
needs end before the workflow runs, and the write begins after the lookups.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from sqlalchemy import text

from api import create_app
from engine.sources import Source, SourceRecord
from tests.integration.helpers import ApiClient

WAIT = 20  # seconds: only a broken build waits this long


@dataclass
class HeldSource:
    """The real population registry adapter, whose answer the test holds back until it says so."""

    inner: Source
    entered: threading.Event
    release: threading.Event

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def deferred(self) -> bool:
        return False

    def lookup(self, key: str) -> SourceRecord:
        self.entered.set()
        self.release.wait(2 * WAIT)  # longer than the test waits for the other submission
        return self.inner.lookup(key)


def _elderly(id_number: str) -> dict:
    """The elder's own application; the registry fills in the name (秒填)."""
    return {"matter": "elderly_subsidy", "data": {"id_number": id_number, "phone": "13800138000"}}


def test_other_submissions_commit_while_one_waits_for_a_registry(services, settings, api, applicant_for, resident):
    held = HeldSource(services.sources["population_registry"], threading.Event(), threading.Event())
    slow = ApiClient(create_app(replace(services, sources={**services.sources, "population_registry": held})))
    waiting_reply, quick_reply = {}, {}
    elders = {"waiting": resident(85), "quick": resident(90)}
    accounts = {id_number: applicant_for(id_number) for id_number in elders.values()}

    def submit(client, reply: dict, id_number: str) -> None:
        reply["response"] = client.post("/api/applications", accounts[id_number], json=_elderly(id_number))

    waiting = threading.Thread(target=submit, args=(slow, waiting_reply, elders["waiting"]))
    waiting.start()
    try:
        assert held.entered.wait(WAIT), "the registry lookup never started"
        if settings.database_url.startswith("postgresql"):  # the waiting request has written nothing yet
            with services.sessions() as session:
                locks = session.scalar(text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() "
                    "AND l.locktype IN ('transactionid', 'tuple')"))
            assert locks == 0
        quick = threading.Thread(target=submit, args=(api, quick_reply, elders["quick"]))
        quick.start()
        quick.join(WAIT)
        assert not quick.is_alive(), "another submission waited for the registry lookup's transaction"
        assert quick_reply["response"].status_code == 201, quick_reply["response"].get_json()
        assert waiting.is_alive()  # still inside its lookup
    finally:
        held.release.set()
        waiting.join(2 * WAIT)
    assert waiting_reply["response"].status_code == 201, waiting_reply["response"].get_json()
    assert waiting_reply["response"].get_json()["outcome"] == "approve"
