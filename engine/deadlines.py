"""Deadlines and 电子监察 colours, counted in working days of the calendar.

An application's promised limit (承诺时限) runs from the day it is submitted; every clock
pause (补正 supplement requests, 特别程序 special procedures) adds its working days back.
The due moment and the moment the application turns yellow (80% of the limit used) are
stored in columns, so the sweep and the supervisor's lists never compute per row.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from engine.calendar import Pause, WorkingCalendar

LOCAL = ZoneInfo("Asia/Shanghai")  # the calendar's days are mainland China's days
YELLOW_SHARE = 0.8
PAUSE_REASONS = {
    "supplement": "补正材料（一次性告知）",
    "inspection": "现场勘验",
    "expert_review": "专家评审",
    "hearing": "听证",
}


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
    if any(p.get("end") is None for p in recorded_pauses):
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
        return "red"
    return "yellow" if now >= deadline.yellow_at else "green"
