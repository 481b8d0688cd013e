"""Unit tests of the working-day calendar (工作日): the shipped 2026 schedule, deadline
arithmetic across holidays and make-up days, clock pauses, 电子监察 fractions, and the
refusal of bad calendar files."""
from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest

from engine.oversight.calendar import (CalendarError, ClockPaused, Pause, WorkingCalendar,
                             default_calendar)

D = date.fromisoformat


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar.load()


# --- the shipped 2026 data -------------------------------------------------------------

def test_shipped_calendar_knows_2026_and_is_the_default(cal):
    assert 2026 in cal.known_years
    assert default_calendar() is default_calendar()
    assert 2026 in default_calendar().known_years


@pytest.mark.parametrize("day", ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09",
                                 "2026-09-20", "2026-10-10"])
def test_make_up_weekend_days_are_working_days(cal, day):
    assert D(day).weekday() >= 5
    assert cal.is_working_day(D(day))


@pytest.mark.parametrize("day", ["2026-01-01", "2026-01-02", "2026-02-16", "2026-02-20",
                                 "2026-02-23", "2026-04-06", "2026-05-04", "2026-05-05",
                                 "2026-06-19", "2026-09-25", "2026-10-01", "2026-10-07"])
def test_weekday_holidays_are_off(cal, day):
    assert D(day).weekday() < 5
    assert not cal.is_working_day(D(day))


def test_plain_weekdays_work_and_plain_weekends_rest(cal):
    assert cal.is_working_day(D("2026-03-10"))      # Tuesday
    assert not cal.is_working_day(D("2026-03-14"))  # Saturday
    assert not cal.is_working_day(D("2026-01-03"))  # Saturday inside 元旦


def test_2026_has_248_working_days(cal):
    # 261 weekdays - 19 weekday holidays + 6 make-up weekend days, counted by hand
    assert cal.working_days_between(D("2025-12-31"), D("2026-12-31")) == 248


# --- counting across holidays -----------------------------------------------------------

def test_national_day_and_its_make_up_saturday(cal):
    # Sep 30 (1), Oct 1-7 off, Oct 8 (2), Oct 9 (3), Sat Oct 10 make-up (4), Sun off, Oct 12 (5)
    assert cal.add_working_days(D("2026-09-29"), 1) == D("2026-09-30")
    assert cal.add_working_days(D("2026-09-29"), 2) == D("2026-10-08")
    assert cal.add_working_days(D("2026-09-29"), 4) == D("2026-10-10")
    assert cal.add_working_days(D("2026-09-29"), 5) == D("2026-10-12")
    assert cal.working_days_between(D("2026-09-29"), D("2026-10-12")) == 5
    assert cal.working_days_between(D("2026-09-30"), D("2026-10-07")) == 0


def test_national_day_sunday_make_up_before_mid_autumn(cal):
    # Fri Sep 18 -> Sun Sep 20 make-up (1), Mon Sep 21 (2); Sep 25-27 中秋 off
    assert cal.add_working_days(D("2026-09-18"), 1) == D("2026-09-20")
    assert cal.add_working_days(D("2026-09-24"), 1) == D("2026-09-28")


def test_spring_festival_with_two_make_up_saturdays(cal):
    # Fri Feb 13 (1), Sat Feb 14 make-up (2), Feb 15-23 off, Feb 24-27 (3-6),
    # Sat Feb 28 make-up (7), Sun off, Mon Mar 2 (8)
    start = D("2026-02-12")
    assert cal.add_working_days(start, 2) == D("2026-02-14")
    assert cal.add_working_days(start, 3) == D("2026-02-24")
    assert cal.add_working_days(start, 7) == D("2026-02-28")
    assert cal.add_working_days(start, 8) == D("2026-03-02")
    assert cal.working_days_between(start, D("2026-03-02")) == 8
    assert cal.working_days_between(D("2026-02-14"), D("2026-02-23")) == 0


def test_new_year_with_sunday_make_up(cal):
    # Jan 1-3 off, Sun Jan 4 make-up (1), Mon Jan 5 (2)
    assert cal.add_working_days(D("2026-01-01"), 1) == D("2026-01-04")
    assert cal.add_working_days(D("2026-01-01"), 2) == D("2026-01-05")
    assert cal.working_days_between(D("2026-01-01"), D("2026-01-05")) == 2


def test_labour_day_with_make_up_saturday(cal):
    # Thu Apr 30 -> May 1-5 off, May 6-8 (1-3), Sat May 9 make-up (4), Mon May 11 (5)
    assert cal.add_working_days(D("2026-04-30"), 1) == D("2026-05-06")
    assert cal.add_working_days(D("2026-04-30"), 4) == D("2026-05-09")
    assert cal.add_working_days(D("2026-04-30"), 5) == D("2026-05-11")


def test_zero_days_and_empty_or_reversed_spans(cal):
    assert cal.add_working_days(D("2026-10-03"), 0) == D("2026-10-03")
    assert cal.working_days_between(D("2026-03-10"), D("2026-03-10")) == 0
    assert cal.working_days_between(D("2026-03-20"), D("2026-03-10")) == 0
    with pytest.raises(ValueError):
        cal.add_working_days(D("2026-03-10"), -1)


def test_add_and_between_agree_over_the_whole_year(cal):
    start = D("2026-01-01")
    for days in range(0, 248):
        due = cal.add_working_days(start, days)
        assert cal.working_days_between(start, due) == days
        assert days == 0 or cal.is_working_day(due)


# --- clock pauses -----------------------------------------------------------------------

def test_supplement_pause_of_three_working_days_adds_three(cal):
    start = D("2026-03-02")  # Monday; 10 working days end Mon Mar 16
    assert cal.deadline(start, 10) == D("2026-03-16")
    pause = Pause(D("2026-03-04"), D("2026-03-09"), "supplement")  # stops Mar 5, 6, 9
    assert cal.working_days_between(pause.start, pause.end) == 3
    assert cal.deadline(start, 10, [pause]) == D("2026-03-19")
    assert cal.deadline(start, 10, [pause]) == cal.add_working_days(D("2026-03-16"), 3)


def test_pause_over_a_holiday_adds_only_its_working_days(cal):
    start = D("2026-09-21")  # Monday; 10 working days: Sep 22-24, 28-30, Oct 8-10 (Sat), Oct 12
    assert cal.deadline(start, 10) == D("2026-10-12")
    pause = Pause(D("2026-09-29"), D("2026-10-09"), "expert_review")  # stops Sep 30, Oct 8, Oct 9
    assert cal.working_days_between(pause.start, pause.end) == 3      # not the 7 days of 国庆
    assert cal.deadline(start, 10, [pause]) == D("2026-10-15")
    assert cal.deadline(start, 10, [pause]) == cal.add_working_days(D("2026-10-12"), 3)


def test_same_day_pause_and_pause_after_the_deadline_change_nothing(cal):
    start = D("2026-03-02")
    assert cal.deadline(start, 10, [Pause(D("2026-03-05"), D("2026-03-05"), "hearing")]) == D("2026-03-16")
    assert cal.deadline(start, 10, [Pause(D("2026-03-16"), D("2026-03-20"), "hearing")]) == D("2026-03-16")


def test_overlapping_pauses_count_each_day_once(cal):
    start = D("2026-03-02")
    one = Pause(D("2026-03-04"), D("2026-03-09"), "supplement")
    overlapping = Pause(D("2026-03-05"), D("2026-03-06"), "inspection")
    assert cal.deadline(start, 10, [one, overlapping]) == D("2026-03-19")


def test_open_pause_has_no_deadline(cal):
    with pytest.raises(ClockPaused, match="paused since 2026-03-04"):
        cal.deadline(D("2026-03-02"), 10, [Pause(D("2026-03-04"), None, "supplement")])


def test_pause_cannot_end_before_it_starts():
    with pytest.raises(ValueError):
        Pause(D("2026-03-04"), D("2026-03-03"), "supplement")


# --- 电子监察 fractions ---------------------------------------------------------------

def test_used_fraction_reaches_yellow_at_eighty_percent(cal):
    start = D("2026-03-02")  # 10 working days: Mar 3-6, 9-13, 16
    assert cal.used_fraction(start, 10, start) == 0.0
    assert cal.used_fraction(start, 10, D("2026-03-11")) == 0.7
    assert cal.used_fraction(start, 10, D("2026-03-12")) == 0.8   # yellow boundary, exact
    assert cal.used_fraction(start, 10, D("2026-03-14")) == 0.9   # weekend uses nothing
    assert cal.used_fraction(start, 10, D("2026-03-16")) == 1.0   # due day: not yet red
    assert cal.used_fraction(start, 10, D("2026-03-17")) > 1.0    # overdue: red


def test_used_fraction_is_one_exactly_on_the_deadline(cal):
    start = D("2026-09-24")
    for days in (1, 3, 5, 7, 15, 20):
        due = cal.deadline(start, days)
        assert cal.used_fraction(start, days, due) == 1.0
        assert cal.used_fraction(start, days, cal.add_working_days(due, 1)) > 1.0


def test_used_fraction_excludes_paused_days_open_or_closed(cal):
    start = D("2026-03-02")
    closed = Pause(D("2026-03-04"), D("2026-03-09"), "supplement")
    assert cal.used_fraction(start, 10, D("2026-03-19"), [closed]) == 1.0
    still_open = Pause(D("2026-03-04"), None, "hearing")
    assert cal.used_fraction(start, 10, D("2026-03-04"), [still_open]) == 0.2
    assert cal.used_fraction(start, 10, D("2026-06-30"), [still_open]) == 0.2
    with pytest.raises(ValueError):
        cal.used_fraction(start, 0, D("2026-03-04"))


def test_eighty_percent_boundary_matches_for_every_limit(cal):
    start = D("2026-09-15")
    for days in range(1, 61):
        first_yellow = next(cal.add_working_days(start, n) for n in range(days + 1) if n / days >= 0.8)
        assert cal.used_fraction(start, days, first_yellow) >= 0.8
        before = first_yellow - timedelta(days=1)
        assert before <= start or cal.used_fraction(start, days, before) < 0.8


# --- years without a calendar file -------------------------------------------------------

def test_year_without_file_counts_weekends_only_and_is_reported(caplog):
    cal = WorkingCalendar.from_data([D("2026-10-01")], [D("2026-10-10")], known_years=[2026])
    assert cal.known_years == frozenset({2026})
    assert cal.covers(D("2026-03-01"), D("2026-12-31"))
    assert not cal.covers(D("2026-12-01"), D("2027-01-31"))
    with caplog.at_level(logging.WARNING, logger="engine.oversight.calendar"):
        assert cal.is_working_day(D("2027-01-01"))        # a Friday: worked, 元旦 unknown
        assert not cal.is_working_day(D("2027-01-02"))    # Saturday
        assert cal.add_working_days(D("2026-12-30"), 3) == D("2027-01-04")
    warnings = [r for r in caplog.records if "2027" in r.getMessage()]
    assert len(warnings) == 1                              # once per year, not per day
    assert "weekends only" in warnings[0].getMessage()


def test_empty_directory_knows_no_year(tmp_path):
    cal = WorkingCalendar.load(tmp_path)
    assert cal.known_years == frozenset()
    assert cal.add_working_days(D("2026-10-01"), 1) == D("2026-10-02")


def test_from_data_refuses_contradictions():
    with pytest.raises(ValueError):
        WorkingCalendar.from_data([D("2026-10-10")], [D("2026-10-10")], [2026])
    with pytest.raises(ValueError):
        WorkingCalendar.from_data([], [D("2026-10-09")], [2026])  # a Friday


def test_many_hundred_day_spans_are_quick(cal):
    start = D("2026-01-01")
    for offset in range(300):
        cal.working_days_between(start, start + timedelta(days=offset + 300))
    assert cal.add_working_days(start, 240) == D("2026-12-21")


# --- bad calendar files ------------------------------------------------------------------

GOOD = """\
year: 2026
source: test
holidays:
  - {date: 2026-10-01, name: 国庆节}
  - {date: 2026-10-02, name: 国庆节}
make_up_workdays:
  - {date: 2026-10-10, name: 国庆节调休}
"""


def _load(tmp_path, text: str, name: str = "cn-2026.yaml") -> WorkingCalendar:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return WorkingCalendar.load(tmp_path)


def _error(tmp_path, text: str, name: str = "cn-2026.yaml") -> CalendarError:
    with pytest.raises(CalendarError) as caught:
        _load(tmp_path, text, name)
    assert name in str(caught.value)
    return caught.value


def test_good_file_loads(tmp_path):
    cal = _load(tmp_path, GOOD)
    assert cal.known_years == frozenset({2026})
    assert not cal.is_working_day(D("2026-10-02")) and cal.is_working_day(D("2026-10-10"))


def test_duplicate_date(tmp_path):
    error = _error(tmp_path, GOOD.replace("2026-10-02", "2026-10-01"))
    assert error.line == 5 and error.entry == "holidays[1]"
    assert "duplicate date 2026-10-01 (first at line 4)" in str(error)


def test_date_outside_the_year(tmp_path):
    error = _error(tmp_path, GOOD.replace("2026-10-02", "2027-10-02"))
    assert error.line == 5 and "outside 2026" in str(error)


def test_make_up_day_that_is_not_a_weekend(tmp_path):
    error = _error(tmp_path, GOOD.replace("2026-10-10", "2026-10-09"))
    assert error.line == 7 and error.entry == "make_up_workdays[0]"
    assert "not a weekend" in str(error) and "Friday" in str(error)


def test_holiday_that_is_also_a_make_up_day(tmp_path):
    text = GOOD.replace("2026-10-02, name: 国庆节", "2026-10-10, name: 国庆节")
    error = _error(tmp_path, text)
    assert error.line == 7 and "both a holiday (line 5) and a make-up working day" in str(error)


@pytest.mark.parametrize("text, problem", [
    (GOOD.replace("2026-10-02", "2026-02-30"), "does not exist"),
    (GOOD.replace("2026-10-02", "'10/02/2026'"), "not YYYY-MM-DD"),
    (GOOD.replace("year: 2026", "year: 2025"), "does not match the file name"),
    (GOOD.replace("source: test\n", ""), "missing keys: ['source']"),
    (GOOD.replace("make_up_workdays:", "make_up_workday:"), "missing keys"),
    (GOOD + "extra: 1\n", "unknown keys: ['extra']"),
    (GOOD + "holidays: []\n", "keys given twice: ['holidays']"),
    (GOOD.replace(", name: 国庆节}", "}", 1), "each entry is"),
    (GOOD.replace("name: 国庆节}", "name: ''}", 1), "needs a name"),
    ("year: 2026\nsource: t\nholidays: 3\nmake_up_workdays: []\n", "holidays must be a list"),
    ("holidays: [\n", "not valid YAML"),
    ("", "expected a mapping"),
])
def test_other_malformed_files(tmp_path, text, problem):
    assert problem in str(_error(tmp_path, text))


def test_badly_named_file(tmp_path):
    assert "named cn-YYYY.yaml" in str(_error(tmp_path, GOOD, "cn-2026-draft.yaml"))


def test_missing_directory(tmp_path):
    with pytest.raises(CalendarError, match="not found"):
        WorkingCalendar.load(tmp_path / "nowhere")


def test_the_provisional_2027_file_counts_statutory_holidays_but_is_not_a_known_year(caplog):
    cal = WorkingCalendar.load()  # a fresh one: each instance warns once per year
    assert 2027 not in cal.known_years and not cal.covers(D("2027-01-01"), D("2027-12-31"))
    with caplog.at_level(logging.WARNING, logger="engine.oversight.calendar"):
        assert not cal.is_working_day(D("2027-02-08"))   # 初三, a Monday: a statutory holiday
        assert not cal.is_working_day(D("2027-06-09"))   # 端午, a Wednesday
        assert cal.is_working_day(D("2027-02-09"))       # make-up and extra days are not known yet
    warnings = [r.getMessage() for r in caplog.records if "2027" in r.getMessage()]
    assert len(warnings) == 1 and "provisional" in warnings[0]


def test_provisional_must_be_a_boolean(tmp_path):
    error = _error(tmp_path, GOOD.replace("year: 2026", "year: 2026\nprovisional: maybe"))
    assert "provisional must be true or false" in str(error)
