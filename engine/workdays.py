"""Working-day arithmetic for deadlines (法定/承诺时限 are counted in working days).

For now weekends are the only days off; the holiday and make-up-day calendar of the
deadline-supervision work replaces ``is_working_day`` without changing callers.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta


def is_working_day(day: date) -> bool:
    return day.weekday() < 5


def add_working_days(start: datetime, days: int) -> datetime:
    """The moment ``days`` working days after ``start`` (same time of day)."""
    moment = start
    remaining = days
    while remaining > 0:
        moment += timedelta(days=1)
        if is_working_day(moment.date()):
            remaining -= 1
    return moment
