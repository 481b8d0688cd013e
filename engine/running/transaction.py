"""The transaction of a change: reads end before the workflow runs, and a lost race on the
application's version is a Conflict (409), never a 500."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import Conflict


def end_reads(session: Session) -> None:
    """End the transaction that read what a change needs, before the workflow runs: the
    run's data-sharing lookups (seconds, for a slow registry) must not hold SQLite's write
    lock, which its BEGIN IMMEDIATE takes with the first read. Nothing is written yet; the
    objects read stay usable, and their version columns make the write that follows fail
    if someone else changed them meanwhile. A PostgreSQL transaction that has only read
    holds no lock (writes are flushed at commit), so there it goes on: ending it would
    cost three round trips (COMMIT, the pool's ping, BEGIN) for nothing."""
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("end_reads called with unsaved changes: they would be committed early")
    if session.get_bind().dialect.name == "sqlite":
        session.commit()


@contextmanager
def stale_is_conflict(session: Session, message: str) -> Iterator[None]:
    """A flush or commit that finds the application's version moved on means someone
    else's change won: undo ours and say so (409)."""
    try:
        yield
    except StaleDataError as exc:
        session.rollback()
        raise Conflict(message) from exc
