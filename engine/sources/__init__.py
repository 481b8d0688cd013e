"""Data-sharing sources (数据共享) and the one way they are read.

Every source is an adapter with one call, ``lookup(key)``, run under its own timeout
(the embedded adapters: engine/sources/embedded.py). A source marked ``deferred`` is slow
enough that only a worker may read it, never an HTTP request: every service operation
names the sources it reads (engine/operations/), and the run stops before a step that
would read a deferred one (``deferred_among``).

Whatever reads a source — a rule set's facts (engine/sources/facts.py), the credit check,
the e-licence library — reads it through ``read_all``: lookups side by side, one per
(source, key), each answer a ``Reading`` with its status and the time it was read
(provenance). "Cannot answer" is a status, never an exception past this point.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Iterable, Mapping, Protocol

from engine.errors import SourceUnavailable


@dataclass(frozen=True)
class SourceRecord:
    """What one lookup returned, with when it was read (every fact keeps its source and time)."""

    source: str
    key: str
    data: dict | None  # None: the source answered that it has no record
    read_at: datetime


class Source(Protocol):
    name: str
    deferred: bool
    in_process: bool  # answered by this process's own database (an adapter that does not say is remote)

    def lookup(self, key: str) -> SourceRecord:
        """Return the record for ``key``; raise SourceUnavailable if the source cannot answer."""


class ReadStatus(StrEnum):
    OK = "ok"
    NO_RECORD = "no_record"  # the source answered: it holds nothing under the key
    UNAVAILABLE = "unavailable"  # it did not answer (down, too slow): cannot verify


@dataclass(frozen=True)
class Reading:
    """One source's answer for one key, as every operation sees it."""

    source: str
    key: str
    status: ReadStatus
    data: dict | None = None
    read_at: str | None = None  # ISO time of the answer; None when there was none
    error: str | None = None

    @property
    def provenance(self) -> dict:
        return {"status": str(self.status), "read_at": self.read_at}


Wanted = tuple[str, str]  # (source name, key)
_LOOKUPS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="sources")


def read_all(sources: Mapping[str, Source], wanted: Iterable[Wanted]) -> dict[Wanted, Reading]:
    """Read every (source, key) once. Remote sources are read side by side (each keeps its own
    timeout, so the wait is bounded by the slowest); sources answered in process, and a single
    lookup, run on the caller's thread — a thread of their own only cost time (measured:
    about 1 ms of an approval's ~10 for three embedded lookups, bench/RESULTS.md)."""
    wanted = list(dict.fromkeys(wanted))
    remote = [pair for pair in wanted if not getattr(sources[pair[0]], "in_process", False)] if len(wanted) > 1 else []
    pending = {pair: _LOOKUPS.submit(_read, sources, *pair) for pair in remote}
    readings = {pair: _read(sources, *pair) for pair in wanted if pair not in pending}
    return {pair: readings[pair] if pair in readings else pending[pair].result() for pair in wanted}


def read(sources: Mapping[str, Source], name: str, key: str) -> Reading:
    return read_all(sources, [(name, key)])[(name, key)]


def deferred_among(sources: Mapping[str, Source], names: Iterable[str]) -> list[str]:
    """Those of ``names`` only a worker may read."""
    return sorted({name for name in names if name in sources and sources[name].deferred})


def _read(sources: Mapping[str, Source], name: str, key: str) -> Reading:
    try:
        record = sources[name].lookup(key)
    except SourceUnavailable as exc:
        return Reading(name, key, ReadStatus.UNAVAILABLE, error=str(exc))
    status = ReadStatus.OK if record.data is not None else ReadStatus.NO_RECORD
    return Reading(name, key, status, record.data, record.read_at.isoformat())
