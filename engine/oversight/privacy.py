"""Privacy by need: personal data masked for those who do not need it, seen in full only
with a stated reason that the data subject can read.

Analysts, supervisors and admins see an application's personal answers masked (the form
declares which they are: forms/personal.py) — in its form data and wherever a value of them
was copied (a decision, a result, an event, an incident's error). As a net under that, any
valid resident ID or mobile number in a text they read is masked too (a clerk's comment).
Applicants see their own applications and clerks their department's cases in full (whom
they are shown to is engine/applications.py's ``_may_read``). ``personal_data`` gives the
full answers with a reason and records who looked, which ``data_access`` shows the applicant.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.people import subjects
from engine.errors import Forbidden, NotFound
from engine.store.models import Application, Event, User
from engine.people.regions import sees_region
from engine.running.compiled import compiled
from engine.events import EventKind, record
from forms.identifiers import is_valid_resident_id
from forms.personal import PersonalKind

MASKED_ROLES = frozenset({"analyst", "supervisor", "admin"})
MIN_REASON = 10  # characters: "查看" is not a reason
MASK = "*"
RESIDENT_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
PHONE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])")
SHORTEST_COPY = 2  # a shorter answer is not looked for in other texts


def _keep(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return MASK * len(value)
    return value[:head] + MASK * (len(value) - head - tail) + value[len(value) - tail:]


MASKS: dict[PersonalKind, Callable[[str], str]] = {
    PersonalKind.RESIDENT_ID: lambda v: _keep(v, 4, 4),  # 4601**********1010
    PersonalKind.PHONE: lambda v: _keep(v, 3, 4),  # 138****8000
    PersonalKind.BANK_ACCOUNT: lambda v: _keep(v, 0, 4),
    PersonalKind.ADDRESS: lambda v: _keep(v, min(6, len(v) // 2), 0),  # the city and district stay
    PersonalKind.NAME: lambda v: _keep(v, 1, 0),  # 王**
}


def mask_as(kind: PersonalKind, value: Any) -> Any:
    """One answer masked as what it is; an empty or non-text answer is left as it is."""
    return MASKS[kind](value) if isinstance(value, str) and value else value


@dataclass(frozen=True)
class Masking:
    """Masks one application's personal answers wherever they appear in what is shown."""

    copies: dict[str, str] = field(default_factory=dict)  # answer -> its masked form

    @classmethod
    def of(cls, personal: dict[str, PersonalKind], form_data: dict) -> Masking:
        copies = {form_data[key]: mask_as(kind, form_data[key]) for key, kind in personal.items()
                  if isinstance(form_data.get(key), str) and len(form_data[key]) >= SHORTEST_COPY}
        return cls(dict(sorted(copies.items(), key=lambda item: -len(item[0]))))  # longest first

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, dict):
            return {key: self(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(item) for item in value]
        return value

    def _text(self, text: str) -> str:
        for answer, masked in self.copies.items():
            text = text.replace(answer, masked)
        text = RESIDENT_ID_IN_TEXT.sub(
            lambda m: mask_as(PersonalKind.RESIDENT_ID, m[0]) if is_valid_resident_id(m[0].upper()) else m[0], text)
        return PHONE_IN_TEXT.sub(lambda m: mask_as(PersonalKind.PHONE, m[0]), text)


def mask(data: dict, form) -> dict:
    """A form's answers as those without the need see them."""
    return Masking.of(form.personal, data)(data)


def sees_masked(user: User) -> bool:
    return user.role in MASKED_ROLES


def masking_of(session: Session, application_id: int | None) -> Masking:
    """The masking of one application's data; for data of no application, the net only."""
    application = session.get(Application, application_id) if application_id is not None else None
    if application is None:
        return Masking()
    return Masking.of(compiled(application.definition).form.personal, application.form_data)


def personal_data(session: Session, user: User, application_id: int, reason: str, now: datetime) -> dict:
    """The application's personal answers in full, for staff who see them masked; the look
    is recorded with its reason (the caller commits)."""
    if not sees_masked(user):
        raise Forbidden("you see this application's data in full already, or not at all")
    application = session.get(Application, application_id)
    if application is None or not sees_region(user, application.region):  # a supervisor: their region's only
        raise NotFound(f"no application {application_id}")
    personal = compiled(application.definition).form.personal
    answers = {key: application.form_data[key] for key in personal if key in application.form_data}
    record(session, EventKind.PERSONAL_DATA_VIEWED, user.username, now, application_id=application.id,
           data={"reason": reason, "role": user.role, "fields": sorted(answers)})
    return {"reference": application.public_ref, "tracking_no": application.tracking_no,
            "matter": application.matter_code, "personal_data": answers}


def data_access(session: Session, user: User, limit: int = 100) -> list[dict]:
    """谁查看了我的信息: every full view of the applications about the caller (made by
    them or in their name; an agent's own submissions for others are not about them), newest first."""
    rows = session.execute(select(Event, Application).join(Application, Event.application_id == Application.id)
                           .where(subjects.about(session, user), Event.kind == EventKind.PERSONAL_DATA_VIEWED)
                           .order_by(Event.id.desc()).limit(limit))
    return [{"reference": application.public_ref, "tracking_no": application.tracking_no,
             "matter": application.matter_code, "viewer": event.actor, "viewer_role": event.data.get("role"),
             "at": event.at, "reason": event.data.get("reason"), "fields": event.data.get("fields", [])}
            for event, application in rows]
