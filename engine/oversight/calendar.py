"""Working days (工作日) of mainland China, read from one calendar file per year.

Legal and promised time limits (法定/承诺时限) are counted in working days: weekends are
off except make-up working days (调休上班), and public holidays (法定节假日及调休放假) are
off even on weekdays. The State Council publishes each year's schedule, normally in
November of the year before, so the schedule is data (``calendars/cn-YYYY.yaml``), never
code. A year without a file counts weekends only; that guess is logged once per year and
visible through ``known_years`` / ``covers`` so it is never silent. A file marked
``provisional: true`` holds the statutory holidays the law fixes (《全国年节及纪念日放假
办法》) before the notice with its make-up working days is out: its holidays count, but
the year stays unknown (logged, ``covers`` False) until the official file replaces it.

Counting rule (期间开始的当日不计入): the day a period starts is not counted, so N working
days from ``start`` end on the N-th working day after it. A clock pause (补正 supplement
request, 特别程序 special procedure) lets the clock run on its start day and restarts it
on its end day, which by the same rule is not counted either: a pause from s to e removes
the working days in (s, e], exactly ``working_days_between(s, e)``.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Iterable

import yaml

CALENDARS = Path(__file__).parent / "calendars"
FILE_NAME = re.compile(r"cn-(\d{4})\.yaml")
FILE_KEYS = {"year", "source", "holidays", "make_up_workdays"}
OPTIONAL_KEYS = {"provisional"}
ENTRY_KEYS = {"date", "name"}
ONE_DAY = timedelta(days=1)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pause:
    """A stop of the deadline clock (补正, 特别程序: inspection, expert review, hearing).

    The clock runs on ``start`` and stops after it; it restarts on ``end``, which is not
    counted (the day a period starts never is). ``end`` None: still paused.
    """

    start: date
    end: date | None
    reason: str

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"pause ends ({self.end}) before it starts ({self.start})")

    def stops(self, day: date) -> bool:
        """True when the clock does not run on ``day``: after the start, up to the end."""
        return self.start < day and (self.end is None or day <= self.end)


class CalendarError(Exception):
    """A calendar file that cannot be trusted: names the file, line and entry, and the problem."""

    def __init__(self, file: Path | str, problem: str, line: int | None = None, entry: str = "") -> None:
        self.file, self.problem, self.line, self.entry = str(file), problem, line, entry
        where = str(file) + (f", line {line}" if line else "") + (f" ({entry})" if entry else "")
        super().__init__(f"{where}: {problem}")


class ClockPaused(ValueError):
    """No deadline can be fixed while the clock is paused: the pause's length is not known yet."""


class WorkingCalendar:
    """Which days are working days, and deadline arithmetic over them.

    Immutable once built (it only remembers which unguarded years it already logged), so
    one instance is shared by every request and worker. Results are deterministic.
    """

    def __init__(self, holidays: frozenset[date], make_up_days: frozenset[date],
                 known_years: frozenset[int], provisional_years: frozenset[int] = frozenset()) -> None:
        if clash := holidays & make_up_days:
            raise ValueError(f"days both holiday and make-up working day: {sorted(clash)}")
        if weekdays := {d for d in make_up_days if d.weekday() < 5}:
            raise ValueError(f"make-up working days that are not weekends: {sorted(weekdays)}")
        self._holidays = holidays
        self._make_up_days = make_up_days
        self._known_years = known_years
        self._provisional_years = provisional_years - known_years
        self._reported: set[int] = set()

    @classmethod
    def load(cls, directory: Path = CALENDARS) -> WorkingCalendar:
        """Every ``cn-YYYY.yaml`` in ``directory``; one bad file stops the load (CalendarError)."""
        if not directory.is_dir():
            raise CalendarError(directory, "calendar directory not found")
        holidays: set[date] = set()
        make_up_days: set[date] = set()
        years: set[int] = set()
        provisional: set[int] = set()
        for path in sorted(directory.glob("cn-*.yaml")):
            year, off, on, is_provisional = _read_file(path)
            (provisional if is_provisional else years).add(year)
            holidays |= off
            make_up_days |= on
        return cls(frozenset(holidays), frozenset(make_up_days), frozenset(years), frozenset(provisional))

    @classmethod
    def from_data(cls, holidays: Iterable[date], make_up_days: Iterable[date],
                  known_years: Iterable[int]) -> WorkingCalendar:
        """A calendar from plain dates (tests, tools); no file involved."""
        return cls(frozenset(holidays), frozenset(make_up_days), frozenset(known_years))

    @property
    def known_years(self) -> frozenset[int]:
        """Years with an official calendar file; any other year counts weekends only."""
        return self._known_years

    def covers(self, start: date, end: date) -> bool:
        """True when every year from ``start`` to ``end`` has its official calendar."""
        return all(year in self._known_years for year in range(start.year, end.year + 1))

    def is_working_day(self, day: date) -> bool:
        """Make-up days work, holidays rest, otherwise Monday to Friday work."""
        if day.year not in self._known_years:
            self._report_unknown(day.year)
        if day in self._make_up_days:
            return True
        if day in self._holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (start not counted); 0 gives ``start``."""
        return self.deadline(start, days)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; 0 when ``end`` is not after ``start``."""
        return self._running_days(start, end, ())

    def deadline(self, start: date, days: int, pauses: Iterable[Pause] = ()) -> date:
        """The last day allowed when ``days`` working days run from ``start``.

        Each pause adds back the working days in (pause.start, pause.end]; a pause that
        starts on or after the deadline it would move does not move it. An open pause
        raises ClockPaused: while paused, no deadline exists (电子监察 freezes the colour).
        """
        if days < 0:
            raise ValueError(f"a time limit cannot be negative: {days}")
        pauses = tuple(pauses)
        if open_pauses := [p for p in pauses if p.end is None]:
            raise ClockPaused(f"the clock is paused since {open_pauses[0].start} ({open_pauses[0].reason})")
        day, remaining = start, days
        while remaining:
            day += ONE_DAY
            if self._clock_runs(day, pauses):
                remaining -= 1
        return day

    def used_fraction(self, start: date, days: int, today: date, pauses: Iterable[Pause] = ()) -> float:
        """Working days used up to ``today`` (paused ones excluded) / days allowed.

        电子监察: yellow at >= 0.8, red above 1.0 (today is after the deadline). An open
        pause is fine here: the clock simply has not run since it started.
        """
        if days <= 0:
            raise ValueError(f"a time limit must be positive to measure its use: {days}")
        return self._running_days(start, today, tuple(pauses)) / days

    def _clock_runs(self, day: date, pauses: tuple[Pause, ...]) -> bool:
        return self.is_working_day(day) and not any(p.stops(day) for p in pauses)

    def _running_days(self, start: date, end: date, pauses: tuple[Pause, ...]) -> int:
        span = (end - start).days
        return sum(self._clock_runs(start + ONE_DAY * i, pauses) for i in range(1, span + 1))

    def _report_unknown(self, year: int) -> None:
        if year in self._reported:
            return
        self._reported.add(year)
        if year in self._provisional_years:
            log.warning("the working-day calendar for %d is provisional: statutory holidays only, no "
                        "make-up working days, until the State Council notice is transcribed", year)
        else:
            log.warning("no working-day calendar for %d: counting weekends only until "
                        "engine/oversight/calendars/cn-%d.yaml is published", year, year)


@cache
def default_calendar() -> WorkingCalendar:
    """The shipped calendars, read once per process: they change only with a release."""
    return WorkingCalendar.load()


# --- reading a calendar file ------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as text, so a bad date is reported with its line."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_scalar)


def _read_file(path: Path) -> tuple[int, set[date], set[date], bool]:
    """One year's file: (year, holidays, make-up working days, provisional), or CalendarError."""
    root, data = _parse(path)
    if not isinstance(data, dict):
        raise CalendarError(path, f"expected a mapping with keys {sorted(FILE_KEYS)}")
    if missing := FILE_KEYS - data.keys():
        raise CalendarError(path, f"missing keys: {sorted(missing)}")
    if unknown := data.keys() - FILE_KEYS - OPTIONAL_KEYS:
        raise CalendarError(path, f"unknown keys: {sorted(map(str, unknown))}")
    keys = [key_node.value for key_node, _ in root.value]
    if repeated := sorted({k for k in keys if keys.count(k) > 1}):
        raise CalendarError(path, f"keys given twice: {repeated}")  # YAML would keep only the last
    year = _year_of(path, data["year"], _key_line(root, "year"))
    holidays = _entries(path, root, data, "holidays", year)
    make_up_days = _entries(path, root, data, "make_up_workdays", year)
    for day, (line, entry) in make_up_days.items():
        if day.weekday() < 5:
            raise CalendarError(path, f"make-up working day {day} is a {day:%A}, not a weekend", line, entry)
        if day in holidays:
            raise CalendarError(path, f"{day} is both a holiday (line {holidays[day][0]}) "
                                      f"and a make-up working day", line, entry)
    provisional = data.get("provisional", False)
    if not isinstance(provisional, bool):
        raise CalendarError(path, "provisional must be true or false", _key_line(root, "provisional"))
    return year, set(holidays), set(make_up_days), provisional


def _parse(path: Path) -> tuple[yaml.Node | None, object]:
    loader = _Loader(path.read_text(encoding="utf-8"))
    try:
        root = loader.get_single_node()
        return root, loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CalendarError(path, f"not valid YAML: {exc}", mark.line + 1 if mark else None) from exc
    finally:
        loader.dispose()


def _year_of(path: Path, value: object, line: int | None) -> int:
    named = FILE_NAME.fullmatch(path.name)
    if named is None:
        raise CalendarError(path, "calendar files are named cn-YYYY.yaml")
    if not isinstance(value, int) or isinstance(value, bool) or value != int(named.group(1)):
        raise CalendarError(path, f"year {value!r} does not match the file name", line)
    return value


def _entries(path: Path, root: yaml.Node, data: dict, key: str, year: int) -> dict[date, tuple[int | None, str]]:
    """The dates listed under ``key``, each with its line and a label naming the entry."""
    items = data[key]
    if not isinstance(items, list):
        raise CalendarError(path, f"{key} must be a list of {{date, name}} entries", _key_line(root, key))
    lines = _item_lines(root, key)
    found: dict[date, tuple[int | None, str]] = {}
    for index, item in enumerate(items):
        line, entry = lines[index], f"{key}[{index}]"
        day = _entry_date(path, item, line, entry)
        if day.year != year:
            raise CalendarError(path, f"{day} is outside {year}", line, entry)
        if day in found:
            raise CalendarError(path, f"duplicate date {day} (first at line {found[day][0]})", line, entry)
        found[day] = (line, entry)
    return found


def _entry_date(path: Path, item: object, line: int | None, entry: str) -> date:
    if not isinstance(item, dict) or item.keys() != ENTRY_KEYS:
        raise CalendarError(path, "each entry is {date: YYYY-MM-DD, name: ...}", line, entry)
    if not isinstance(item["name"], str) or not item["name"].strip():
        raise CalendarError(path, "the entry needs a name", line, entry)
    text = str(item["date"])
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise CalendarError(path, f"date {text!r} is not YYYY-MM-DD", line, entry)
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CalendarError(path, f"date {text!r} does not exist: {exc}", line, entry) from exc


def _key_line(root: yaml.Node, key: str) -> int | None:
    for key_node, _ in root.value:
        if key_node.value == key:
            return key_node.start_mark.line + 1
    return None


def _item_lines(root: yaml.Node, key: str) -> list[int]:
    for key_node, value_node in root.value:
        if key_node.value == key and isinstance(value_node, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value_node.value]
    return []
