"""What a person holds or receives (发放名册, 持证名册): one approval per subject per matter,
guaranteed by the database.

A matter opts in with ``recipient_id_field`` (the form field naming whom the benefit or
card is for) and says what a repeat application gets with ``repeat``:

- ``reject`` (the default): refused, naming what the person already holds and since when;
- ``reissue``: the new approval replaces the holding (a card re-issued: 补领/换领).

The rules usually refuse a repeat already (``already_receiving`` reads the register), but
two applications judged at the same moment both see an empty register. The register's
primary key (subject, matter) settles it: the approval's ``INSERT … ON CONFLICT DO
NOTHING`` inserts for exactly one of them — on PostgreSQL the second insert waits for the
first transaction and then finds its row — and the other is turned into a refusal (or a
re-issue) in its own transaction, before any number is issued for it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine.store.db import dialect_of, insert_for
from engine.oversight.deadlines import local_day
from engine.store.models import Application
from engine.store.registries import SubsidyRecipient

ALREADY_HELD_RULE = "already_held"


class Repeat(StrEnum):
    REJECT = "reject"
    REISSUE = "reissue"


@dataclass(frozen=True)
class HoldingPolicy:
    subject_field: str
    repeat: Repeat

    @classmethod
    def of(cls, elements: dict) -> HoldingPolicy | None:
        field = elements.get("recipient_id_field")
        return cls(field, Repeat(elements.get("repeat", Repeat.REJECT))) if field else None


def enrol(session: Session, policy: HoldingPolicy, application: Application,
          now: datetime) -> SubsidyRecipient | None:
    """Enter the application's subject in the register; None when that worked (or there is
    no subject), else the holding someone else's approval already made."""
    subject = application.form_data.get(policy.subject_field)
    if not subject:
        return None
    inserted = session.execute(_enrol_statement(dialect_of(session)), {
        "id_number": subject, "matter_code": application.matter_code, "since": local_day(now),
        "tracking_no": application.tracking_no}).first()
    if inserted is not None:
        return None
    return session.scalars(select(SubsidyRecipient).where(
        SubsidyRecipient.id_number == subject, SubsidyRecipient.matter_code == application.matter_code)
        .execution_options(populate_existing=True)).one()


def record_number(session: Session, policy: HoldingPolicy, application: Application, result_no: str | None) -> None:
    """The holding names the approval and the number it was granted under (one UPDATE, no read)."""
    session.execute(_RECORD_NUMBER, {"subject": application.form_data[policy.subject_field],
                                     "matter": application.matter_code, "tracking": application.tracking_no,
                                     "number": result_no})


# Built once (per dialect) on the table: building the statement on every approval, through the
# ORM's bulk path, cost about as much as the run of the rules (bench/RESULTS.md, issue 14).
_REGISTER = SubsidyRecipient.__table__
_RECORD_NUMBER = update(_REGISTER).where(
    _REGISTER.c.id_number == bindparam("subject"), _REGISTER.c.matter_code == bindparam("matter"),
).values(tracking_no=bindparam("tracking"), result_no=bindparam("number"))


@lru_cache(maxsize=None)
def _enrol_statement(dialect: str):
    return insert_for(dialect, _REGISTER).on_conflict_do_nothing().returning(_REGISTER.c.id_number)


def refusal(held: SubsidyRecipient, matter_name: str) -> str:
    """The applicant's reason, naming what is held."""
    number = f"，编号 {held.result_no}" if held.result_no else ""
    return f"申请对象已于 {held.since:%Y-%m-%d} 起享有“{matter_name}”{number}，不予重复办理"
