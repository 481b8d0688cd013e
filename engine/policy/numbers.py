"""Result numbers (证照/文书编号): unique per matter and year, issued by the database.

A matter's catalogue entry names its number with ``result_number``::

    result_number: {field: filing_no, format: "ZLBA-{year}-{seq:06d}号"}

``field`` is the key of the application's result that carries the number, ``format`` a
Python format string over ``year`` (the Beijing year of issue), ``date`` (YYYYMMDD) and
``seq`` (the running number of that matter and year) — nothing else, so a format string
cannot reach any object's attributes.

The counter is a row of ``result_counter`` bumped by one atomic ``INSERT … ON CONFLICT DO
UPDATE … RETURNING`` inside the deciding transaction (PostgreSQL and SQLite alike): two
approvals at once queue on the row and get two numbers, and a rolled-back approval gives
its number back, so the numbers of a year have no gaps — which a PostgreSQL sequence
would not promise (a sequence value is never rolled back).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from string import Formatter

from sqlalchemy.orm import Session

from engine.store.db import dialect_of, insert_for
from engine.store.models import ResultCounter

FIELDS = frozenset({"year", "date", "seq"})


class NumberFormatError(ValueError):
    """A ``result_number`` policy that cannot make numbers."""


@dataclass(frozen=True)
class NumberPolicy:
    field: str
    format: str

    @classmethod
    def of(cls, elements: dict) -> NumberPolicy | None:
        """The matter's policy, checked; None when its results carry no number."""
        policy = elements.get("result_number")
        if policy is None:
            return None
        if not isinstance(policy, dict) or not isinstance(policy.get("field"), str) \
                or not isinstance(policy.get("format"), str):
            raise NumberFormatError("result_number needs 'field' and 'format' strings")
        check_format(policy["format"])
        return cls(policy["field"], policy["format"])


def check_format(text: str) -> None:
    """Only ``{year}``, ``{date}`` and ``{seq}`` (with a format spec such as ``:06d``), and ``seq`` must appear."""
    names = set()
    for _literal, name, _spec, conversion in Formatter().parse(text):
        if name is None:
            continue
        if name not in FIELDS or conversion:
            raise NumberFormatError(f"result_number format may use only {{year}}, {{date}} and {{seq}}, not {{{name}}}")
        names.add(name)
    if "seq" not in names:
        raise NumberFormatError("result_number format must contain {seq}")


def issue(session: Session, matter_code: str, policy: NumberPolicy, day: date) -> str:
    """The next number of the matter in ``day``'s year, counted in the current transaction."""
    seq = session.execute(_count_statement(dialect_of(session)),
                          {"matter_code": matter_code, "year": day.year, "last": 1}).scalar_one()
    return policy.format.format(year=day.year, date=f"{day:%Y%m%d}", seq=seq)


@lru_cache(maxsize=None)
def _count_statement(dialect: str):
    """The counter's upsert, built once per dialect on the table (not per approval)."""
    counter = ResultCounter.__table__
    return insert_for(dialect, counter).on_conflict_do_update(
        index_elements=[counter.c.matter_code, counter.c.year],
        set_={"last": counter.c.last + 1}).returning(counter.c.last)
