"""Deadlines and 电子监察 colours, counted in working days of the calendar.

An application's promised limit (承诺时限) runs from the day it is submitted; every clock
pause (补正 supplement requests, 特别程序 special procedures) adds its working days back.
The due moment and the moment the application turns yellow (80% of the limit used) are
stored in columns, so the sweep and the supervisor's lists never compute per row.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from engine.oversight.calendar import Pause, WorkingCalendar
from engine.store.models import ACTIVE_TASK, Application, Matter, Task, as_utc
from engine.events import EventKind, record

LOCAL = ZoneInfo("Asia/Shanghai")  # the calendar's days are mainland China's days
YELLOW_SHARE = 0.8
PAUSE_REASONS = {
    "supplement": "补正材料（一次性告知）",
    "inspection": "现场勘验",
    "expert_review": "专家评审",
    "hearing": "听证",
}


class Colour(StrEnum):
    """电子监察: an application's deadline colour (``Application.colour``)."""

    GREEN = "green"
    YELLOW = "yellow"  # 80% of the promised limit used
    RED = "red"  # overdue


@dataclass(frozen=True)
class Deadline:
    yellow_at: datetime
    due_at: datetime  # the first moment after the last allowed working day


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL).date()


def _start_of(day: date) -> datetime:
    """Midnight of a local day, in UTC: what the database stores (SQLite drops offsets)."""
    return datetime.combine(day, time.min, tzinfo=LOCAL).astimezone(timezone.utc)


def pauses_of(recorded: list[dict]) -> list[Pause]:
    """The application's recorded pauses as calendar pauses (local days)."""
    return [Pause(local_day(datetime.fromisoformat(p["start"])),
                  local_day(datetime.fromisoformat(p["end"])) if p.get("end") else None, p["reason"])
            for p in recorded]


def deadline_for(calendar: WorkingCalendar, submitted_at: datetime, promised_days: int,
                 recorded_pauses: list[dict]) -> Deadline | None:
    """None while the clock is paused: no deadline runs then."""
    if is_paused(recorded_pauses):
        return None
    start, pauses = local_day(submitted_at), pauses_of(recorded_pauses)
    due_day = calendar.deadline(start, promised_days, pauses)
    yellow_day = calendar.deadline(start, math.ceil(YELLOW_SHARE * promised_days), pauses)
    return Deadline(yellow_at=_start_of(yellow_day), due_at=_start_of(due_day + timedelta(days=1)))


def colour_at(deadline: Deadline | None, now: datetime, previous: str = "green") -> str:
    """green / yellow (80% of the limit used) / red (overdue); frozen while paused."""
    if deadline is None:
        return previous
    if now >= deadline.due_at:
        return Colour.RED
    return Colour.YELLOW if now >= deadline.yellow_at else Colour.GREEN


def is_paused(recorded_pauses: list[dict]) -> bool:
    return any(p.get("end") is None for p in recorded_pauses)


def promised_days(session: Session, application: Application) -> int:
    """The application's own limit (a red tier's fast lane) or its matter's promised limit."""
    return application.promised_days or session.get(Matter, application.matter_code).promised_days


def refresh_deadline(session: Session, calendar: WorkingCalendar, application: Application, now: datetime) -> None:
    """Recompute the application's due moment and colour after its pauses changed; open
    tasks show the new due date (while paused they keep the last one they showed)."""
    deadline = deadline_for(calendar, as_utc(application.created_at), promised_days(session, application),
                            application.clock_pauses)
    application.due_at = deadline.due_at if deadline else None
    application.yellow_at = deadline.yellow_at if deadline else None
    application.colour = colour_at(deadline, now, application.colour)
    if deadline is not None:
        session.execute(update(Task).where(Task.application_id == application.id,
                                           Task.status.in_(ACTIVE_TASK))
                        .values(due_at=deadline.due_at))


def due_for_new_task(session: Session, calendar: WorkingCalendar, application: Application,
                     now: datetime) -> datetime:
    """A task needs a due date even while the clock is paused (the applicant's 补正 step,
    a step after a special procedure): the deadline as if the pause ended now."""
    if application.due_at is not None:
        return application.due_at
    pauses = [p if p.get("end") else {**p, "end": now.isoformat()} for p in application.clock_pauses]
    return deadline_for(calendar, as_utc(application.created_at), promised_days(session, application), pauses).due_at


def pause_clock(session: Session, calendar: WorkingCalendar, application: Application, now: datetime,
                reason: str, note: str, by: str) -> None:
    """Open a pause (补正, 特别程序), recompute the deadline (none while paused) and record
    ``clock.paused`` — for a clerk's pause and for a BPMN ``clock.pause`` step alike."""
    application.clock_pauses = [*application.clock_pauses, {
        "start": now.isoformat(), "end": None, "reason": reason, "note": note, "by": by}]
    _clock_event(session, calendar, application, now, by, EventKind.CLOCK_PAUSED,
                 {"reason": reason, "label": PAUSE_REASONS[reason], "note": note})


def resume_clock(session: Session, calendar: WorkingCalendar, application: Application, now: datetime,
                 by: str) -> None:
    """Close the open pause, move the deadline by the paused working days and record
    ``clock.resumed`` with them."""
    pauses = [dict(p) for p in application.clock_pauses]
    pauses[-1]["end"] = now.isoformat()
    application.clock_pauses = pauses  # reassign: JSON columns don't track nested edits
    paused_days = calendar.working_days_between(local_day(datetime.fromisoformat(pauses[-1]["start"])),
                                                local_day(now))
    _clock_event(session, calendar, application, now, by, EventKind.CLOCK_RESUMED,
                 {"reason": pauses[-1]["reason"], "paused_working_days": paused_days})


def _clock_event(session: Session, calendar: WorkingCalendar, application: Application, now: datetime,
                 by: str, kind: EventKind, data: dict) -> None:
    refresh_deadline(session, calendar, application, now)
    if application.due_at is not None:
        data["due_at"] = as_utc(application.due_at).isoformat()
    record(session, kind, by, now, data, application=application)
