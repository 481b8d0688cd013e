"""免申即享 no-application benefits: the rule set that decides applications also finds the
eligible who have not applied, and the engine applies for them.

A matter opts in with ``proactive:`` in its catalogue entry: the age people reach
(``turning_age``, read from the birth date in the resident ID) and how the form is filled
from the population registry. A scheduled job scans the registry for residents who
reached that age in the last month, evaluates the matter's rules on their
facts, and starts an application — marked proactive, owned by the system's proactive
applicant — for each one the rules approve, then records a notification to the person.
The Idempotency-Key ``proactive:<matter>:<id>`` means nobody is ever started twice.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from engine.people import users
from engine.oversight.deadlines import local_day
from engine.definitions.versions import current_definition
from engine.errors import InvalidInput
from engine.store.models import Matter, Outcome, User
from engine.store.registries import RegistryPerson
from engine.events import EventKind, record
from engine.operations.decide import DECIDE

if TYPE_CHECKING:
    from engine.services import Services

PROACTIVE_USER = "onewindow-proactive"
LOOK_BACK = timedelta(days=31)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanResult:
    matter: str
    candidates: int
    started: list[int]
    not_eligible: int
    incomplete: list[str]  # registry data too incomplete for the form (e.g. no phone): left to apply themselves


def scan_all(services: Services) -> list[ScanResult]:
    """Every matter that opts in (the scheduler's job)."""
    with services.sessions() as session:
        codes = [m.code for m in session.scalars(select(Matter)) if m.elements.get("proactive")]
    return [scan(services, code) for code in codes]


def scan(services: Services, matter_code: str) -> ScanResult:
    """Start an application for each resident reaching the matter's age this month whom the
    rules approve; the ones already started are skipped by their Idempotency-Key."""
    now = services.clock()
    with services.sessions() as session:
        matter = session.get(Matter, matter_code)
        definition = current_definition(session, matter_code, required=False)
        policy = definition.policy.get("proactive") if definition is not None else None
        if policy is None:  # not deployed (yet), or the live version (an analyst's) does not opt in
            return ScanResult(matter_code, 0, [], 0, [])
        judge = services.runner.service_tasks_for(definition)
        people = _turning(session, policy["turning_age"], now)
        applicant = _proactive_applicant(session)
        session.commit()
    started, not_eligible, incomplete = [], 0, []
    for person in people:
        data = {field: getattr(person, column) for field, column in policy["form"].items()}
        if any(value in (None, "") for value in data.values()):
            incomplete.append(person.id_number)
            continue
        if judge(DECIDE, {}, data)["outcome"] != Outcome.APPROVE:  # the rules.decide an application runs
            not_eligible += 1
            continue
        try:
            application, created = services.applications.submit(applicant, matter_code, data,
                                                 f"proactive:{matter_code}:{person.id_number}", proactive=True)
        except InvalidInput as exc:  # started before with other registry data: that application stands
            log.warning("免申即享 %s: %s not started again: %s", matter_code, person.id_number, exc.errors)
            continue
        if created:
            started.append(application.id)
            _notify(services, application.id, person, matter.name, now)
    if incomplete:
        log.warning("免申即享 %s: %d resident(s) lack registry data for the form", matter_code, len(incomplete))
    return ScanResult(matter_code, len(people), started, not_eligible, incomplete)


def _turning(session, age: int, now: datetime) -> list[RegistryPerson]:
    """Residents who reached ``age`` in the last month (a daily job thus never misses a
    birthday at a month's end). The resident ID holds the birth date YYYYMMDD at positions
    7–14; a production registry adapter would query by birth date instead."""
    today = local_day(now)
    first, last = years_before(today - LOOK_BACK, age), years_before(today, age)
    birth = func.substr(RegistryPerson.id_number, 7, 8)
    return list(session.scalars(select(RegistryPerson).where(birth >= f"{first:%Y%m%d}", birth <= f"{last:%Y%m%d}")
                                .order_by(RegistryPerson.id_number)))


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _proactive_applicant(session) -> User:
    user = session.scalars(select(User).where(User.username == PROACTIVE_USER)).first()
    if user is None:  # an account nobody signs in to: its password is never given out
        user = users.create_user(session, PROACTIVE_USER, secrets.token_urlsafe(32), "applicant",
                                 display_name="免申即享（系统代为申请）")
    return user


def _notify(services: Services, application_id: int, person: RegistryPerson, matter_name: str, now: datetime) -> None:
    """Recorded as an event; an SMS gateway adapter would send it (none is wired in the
    embedded default, so nothing pretends to have been sent)."""
    with services.sessions() as session:
        record(session, EventKind.NOTIFICATION_QUEUED, "proactive", now, application_id=application_id,
               data={"to": person.id_number, "phone": person.phone, "channel": "sms",
                     "text": f"{person.name}您好：您已符合{matter_name}条件，系统已为您免申办理。"})
        session.commit()
    log.info("proactive application %s started for a resident", application_id)
