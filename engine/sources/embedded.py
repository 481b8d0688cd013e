"""The embedded data-sharing adapters: demo SQL tables standing in for the population
registry, death records, property registry, credit registry, dishonest-debtor list and the
e-licence library (电子证照库). A production deployment replaces an adapter with one that
calls the provincial data-sharing platform over HTTP, keeping the ``Source`` shape
(engine/sources/__init__.py)."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from engine.store.db import SOURCE_TIMEOUT_SECONDS
from engine.errors import SourceUnavailable
from engine.sources import Source, SourceRecord
from engine.store.registries import CreditRecord, DeathRecord, DebtorRecord, LicenceRecord, PropertyRecord, RegistryPerson, SubsidyRecipient


Query = Callable[[Session, str], dict | None]


class SqlSource:
    """A source backed by the embedded demo tables.

    ``delay`` simulates a slow remote registry (demo and fault tests): a registry slower
    than ``timeout`` is given up on after ``timeout`` seconds, as an HTTP adapter's client
    timeout would. The lookup runs on the caller's thread — ``engine.sources.read_all`` already
    runs an operation's lookups side by side, and a second thread per lookup only cost time.
    On PostgreSQL the demo tables' own queries are bounded by the read-only database's
    statement timeout (``engine.store.db.make_engine``); SQLite reads under WAL never wait.
    """

    def __init__(self, name: str, sessions: sessionmaker[Session], query: Query,
                 timeout: float = SOURCE_TIMEOUT_SECONDS, delay: float = 0.0, deferred: bool = False) -> None:
        self.name = name
        self.deferred = deferred
        self.in_process = not delay  # a simulated slow registry is read as a remote one would be
        self._sessions = sessions
        self._query = query
        self._timeout = timeout
        self._delay = delay

    def lookup(self, key: str) -> SourceRecord:
        if self._delay:
            time.sleep(min(self._delay, self._timeout))
            if self._delay > self._timeout:
                raise SourceUnavailable(f"{self.name} did not answer within {self._timeout}s")
        try:
            data = self._read(key)
        except OperationalError as exc:  # the registry's database is down or too slow: cannot verify
            raise SourceUnavailable(f"{self.name} cannot be reached: {exc.orig}") from exc
        return SourceRecord(self.name, key, data, datetime.now(timezone.utc))

    def _read(self, key: str) -> dict | None:
        """A read is safe to repeat: once, when the pooled connection turns out to have been
        dropped (the database restarted) — cheaper than pinging before every lookup."""
        try:
            with self._sessions() as session:
                return self._query(session, key)
        except OperationalError as exc:
            if not exc.connection_invalidated:
                raise
        with self._sessions() as session:
            return self._query(session, key)


def _person(session: Session, id_number: str) -> dict | None:
    person = session.get(RegistryPerson, id_number)
    if person is None:
        return None
    return {"name": person.name, "household_region": person.household_region,
            "household_local": person.household_local}


def _death(session: Session, id_number: str) -> dict | None:
    """Death records answer for everybody: no record means alive."""
    record = session.get(DeathRecord, id_number)
    return {"alive": record is None, "died_on": record.died_on.isoformat() if record else None}


def _property(session: Session, cert_no: str) -> dict | None:
    record = session.get(PropertyRecord, cert_no)
    if record is None:
        return None
    return {"owner_id_number": record.owner_id_number, "owner_name": record.owner_name,
            "address": record.address, "seized": record.seized}


def _subsidy(session: Session, id_number: str) -> dict | None:
    """The benefit register answers for everybody: the matters a person already receives."""
    rows = session.scalars(select(SubsidyRecipient.matter_code).where(SubsidyRecipient.id_number == id_number))
    return {"matters": sorted(rows)}


def _credit(session: Session, subject: str) -> dict | None:
    """The credit registry answers for everybody: no record is no adverse information (blue)."""
    record = session.get(CreditRecord, subject)
    if record is None:
        return {"tier": "blue", "reason": "无不良信用记录"}
    return {"tier": record.tier, "reason": record.reason}


def _debtor(session: Session, subject: str) -> dict | None:
    """The dishonest-debtor list answers for everybody: listed or not."""
    record = session.get(DebtorRecord, subject)
    if record is None:
        return {"listed": False}
    return {"listed": True, "case_no": record.case_no, "court": record.court,
            "listed_on": record.listed_on.isoformat()}


def _licences(session: Session, holder: str) -> dict | None:
    """A holder's e-licences by type (an empty mapping when the library holds none)."""
    rows = session.scalars(select(LicenceRecord).where(LicenceRecord.holder == holder))
    return {"licences": {r.licence_type: {"licence_no": r.licence_no,
                                          "valid_until": r.valid_until.isoformat() if r.valid_until else None}
                         for r in rows}}


EMBEDDED_QUERIES: dict[str, Query] = {
    "population_registry": _person,
    "death_records": _death,
    "property_registry": _property,
    "subsidy_register": _subsidy,
    "credit_registry": _credit,
    "debtor_list": _debtor,
    "licence_library": _licences,
}


def embedded_sources(sessions: sessionmaker[Session], options: dict | None = None) -> dict[str, Source]:
    """The embedded adapters, each configurable by ``ONEWINDOW_SOURCES`` options
    (``timeout``, ``delay``, ``deferred``)."""
    options = options or {}
    return {name: SqlSource(name, sessions, query, **options.get(name, {}))
            for name, query in EMBEDDED_QUERIES.items()}
