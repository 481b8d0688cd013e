"""The embedded data-sharing adapters: demo SQL tables standing in for the population
registry, death records, property registry, credit registry, dishonest-debtor list and the
e-licence library (电子证照库). A production deployment replaces an adapter with one that
calls the provincial data-sharing platform over HTTP, keeping the ``Source`` shape
(engine/sources/__init__.py)."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.exc import OperationalError

from engine.store.db import SOURCE_TIMEOUT_SECONDS
from engine.errors import SourceUnavailable
from engine.sources import Source, SourceRecord
from engine.store.registries import (CreditRecord, DeathRecord, DebtorRecord, LicenceRecord, PropertyRecord,
                                     RegistryPerson, SubsidyRecipient)


Query = Callable[[Connection, str], dict | None]


class SqlSource:
    """A source backed by the embedded demo tables.

    ``delay`` simulates a slow remote registry (demo and fault tests): a registry slower
    than ``timeout`` is given up on after ``timeout`` seconds, as an HTTP adapter's client
    timeout would. The lookup runs on the caller's thread — ``engine.sources.read_all`` already
    runs an operation's lookups side by side, and a second thread per lookup only cost time.
    On PostgreSQL the demo tables' own queries are bounded by the read-only database's
    statement timeout (``engine.store.db.make_engine``); SQLite reads under WAL never wait.
    """

    def __init__(self, name: str, database: Engine, query: Query,
                 timeout: float = SOURCE_TIMEOUT_SECONDS, delay: float = 0.0, deferred: bool = False) -> None:
        self.name = name
        self.deferred = deferred
        self.in_process = not delay  # a simulated slow registry is read as a remote one would be
        self._database = database  # the sources' own read-only engine (onewindow/wiring.py)
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

    def slowed(self, delay: float, timeout: float | None = None) -> SqlSource:
        """This adapter as a slow (or, with ``delay`` over ``timeout``, silent) registry would
        answer: demo and fault tests."""
        return SqlSource(self.name, self._database, self._query, self._timeout if timeout is None else timeout,
                         delay, self.deferred)

    def _read(self, key: str) -> dict | None:
        """A read is safe to repeat: once, when the pooled connection turns out to have been
        dropped (the database restarted) — cheaper than pinging before every lookup."""
        try:
            with self._database.connect() as connection:
                return self._query(connection, key)
        except OperationalError as exc:
            if not exc.connection_invalidated:
                raise
        with self._database.connect() as connection:
            return self._query(connection, key)


# Each query is one Core statement on a connection (no ORM objects: a lookup is on the path of
# every approval), prebuilt with the key as its one parameter.
_PERSON = select(RegistryPerson.name, RegistryPerson.household_region, RegistryPerson.household_local).where(
    RegistryPerson.id_number == bindparam("key"))
_DEATH = select(DeathRecord.died_on).where(DeathRecord.id_number == bindparam("key"))
_PROPERTY = select(PropertyRecord.owner_id_number, PropertyRecord.owner_name, PropertyRecord.address,
                   PropertyRecord.seized).where(PropertyRecord.cert_no == bindparam("key"))
_SUBSIDIES = select(SubsidyRecipient.matter_code).where(SubsidyRecipient.id_number == bindparam("key"))
_CREDIT = select(CreditRecord.tier, CreditRecord.reason).where(CreditRecord.subject == bindparam("key"))
_DEBTOR = select(DebtorRecord.case_no, DebtorRecord.court, DebtorRecord.listed_on).where(
    DebtorRecord.subject == bindparam("key"))
_LICENCES = select(LicenceRecord.licence_type, LicenceRecord.licence_no, LicenceRecord.valid_until).where(
    LicenceRecord.holder == bindparam("key"))


def _row(connection: Connection, statement, key: str):
    return connection.execute(statement, {"key": key}).first()


def _person(connection: Connection, id_number: str) -> dict | None:
    person = _row(connection, _PERSON, id_number)
    return None if person is None else person._asdict()


def _death(connection: Connection, id_number: str) -> dict | None:
    """Death records answer for everybody: no record means alive."""
    record = _row(connection, _DEATH, id_number)
    return {"alive": record is None, "died_on": record.died_on.isoformat() if record else None}


def _property(connection: Connection, cert_no: str) -> dict | None:
    record = _row(connection, _PROPERTY, cert_no)
    return None if record is None else record._asdict()


def _subsidy(connection: Connection, id_number: str) -> dict | None:
    """The benefit register answers for everybody: the matters a person already receives."""
    return {"matters": sorted(connection.scalars(_SUBSIDIES, {"key": id_number}))}


def _credit(connection: Connection, subject: str) -> dict | None:
    """The credit registry answers for everybody: no record is no adverse information (blue)."""
    record = _row(connection, _CREDIT, subject)
    if record is None:
        return {"tier": "blue", "reason": "无不良信用记录"}
    return record._asdict()


def _debtor(connection: Connection, subject: str) -> dict | None:
    """The dishonest-debtor list answers for everybody: listed or not."""
    record = _row(connection, _DEBTOR, subject)
    if record is None:
        return {"listed": False}
    return {"listed": True, "case_no": record.case_no, "court": record.court,
            "listed_on": record.listed_on.isoformat()}


def _licences(connection: Connection, holder: str) -> dict | None:
    """A holder's e-licences by type (an empty mapping when the library holds none)."""
    rows = connection.execute(_LICENCES, {"key": holder})
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


def embedded_sources(database: Engine, options: dict | None = None) -> dict[str, Source]:
    """The embedded adapters, each configurable by ``ONEWINDOW_SOURCES`` options
    (``timeout``, ``delay``, ``deferred``)."""
    options = options or {}
    return {name: SqlSource(name, database, query, **options.get(name, {}))
            for name, query in EMBEDDED_QUERIES.items()}
