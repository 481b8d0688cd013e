"""The whitelisted functions code may call: pure date and number helpers, and the ones
bound to a run (``today``, ``now``, ``age_from_id``, ``working_days_later``, ``policy``)."""
from __future__ import annotations

import builtins
import copy
from collections.abc import Iterator, Sized
from datetime import date, datetime, time, timedelta, timezone
from functools import wraps
from typing import Any, Callable, Iterable, Mapping

from engine.oversight.calendar import default_calendar
from engine.sandbox.budget import (
    _check_int,
    _counted,
    _current_budget,
    _guarded_add,
    _guarded_str,
)
from engine.sandbox.limits import (
    BEIJING,
    MAX_INT_DIGITS,
    MAX_INT_TEXT,
    MAX_RANGE,
    BudgetExceeded,
)
from forms.identifiers import birth_date_from_id

# --- the whitelisted functions ----------------------------------------------------------

def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _local(moment: datetime) -> datetime:
    """Aware times are converted to the server's time zone; naive ones are taken as local."""
    return moment.astimezone() if moment.tzinfo is not None else moment


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text).date()
    raise TypeError(f"expected a date or an ISO date string, got {type(value).__name__}")


def parse_date(value: Any) -> str:
    """Validate a date and return it as 'YYYY-MM-DD' (raises ValueError if it is not one)."""
    return _as_date(value).isoformat()


def add_days(value: Any, days: int) -> str:
    if not isinstance(days, int) or isinstance(days, bool):
        raise TypeError(f"add_days needs a whole number of days, got {days!r}")
    return (_as_date(value) + timedelta(days=days)).isoformat()


def days_between(start: Any, end: Any) -> int:
    """``end - start`` in days (negative if end is earlier)."""
    return (_as_date(end) - _as_date(start)).days


def age_on(birth_date: Any, on_date: Any) -> int:
    """Full years between the two dates, as a clerk counts a birthday."""
    birth, on = _as_date(birth_date), _as_date(on_date)
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def year_of(value: Any) -> int:
    return _as_date(value).year


def month_of(value: Any) -> int:
    return _as_date(value).month


def _capped_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise BudgetExceeded(f"range of {len(result)} items exceeds the size budget of {MAX_RANGE}")
    return result


def _charging(function: Callable[..., Any]) -> Callable[..., Any]:
    """A builtin that walks its arguments in C (sorted, max...): one step per item."""
    @wraps(function)
    def charged(*args: Any, **kwargs: Any) -> Any:
        _current_budget().charge(sum(len(value) for value in (*args, *kwargs.values())
                                     if isinstance(value, Sized)))
        return function(*args, **kwargs)
    return charged


def _counting(function: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """A lazy builtin (enumerate, zip): whoever consumes it pays one step per item."""
    @wraps(function)
    def counted(*args: Any, **kwargs: Any) -> Iterator[Any]:
        return _counted(function(*args, **kwargs), 3)  # measured: tuples cost more than ints
    return counted


def _guarded_int(*args: Any, **kwargs: Any) -> int:
    """int(); reading digits takes quadratic time, so long texts are refused unread."""
    if args and isinstance(args[0], str) and len(args[0]) > MAX_INT_TEXT:
        raise BudgetExceeded(f"text of {len(args[0])} characters exceeds the size budget "
                             f"of {MAX_INT_TEXT} for a number")
    return _check_int(int(*args, **kwargs))


def _guarded_round(number: Any, ndigits: Any = None) -> Any:
    """round(); round(1, -10**9) would compute 10**(10**9) first."""
    if isinstance(ndigits, int) and abs(ndigits) > MAX_INT_DIGITS:
        raise BudgetExceeded(f"rounding to {ndigits} digits exceeds the size budget of {MAX_INT_DIGITS}")
    return round(number, ndigits)


_charged_sum = _charging(sum)


def _guarded_sum(values: Iterable[Any], /, start: Any = 0) -> Any:
    """sum(); adding up lists goes through the size budget at every addition."""
    if not isinstance(start, (list, tuple)):
        return _check_int(_charged_sum(values, start))
    total = start
    for value in _counted(values, 1):
        total = _guarded_add(total, value)
    return total


_PURE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len, "min": _charging(min), "max": _charging(max), "abs": abs, "round": _guarded_round,
    "int": _guarded_int, "float": float, "str": _guarded_str, "bool": bool, "sum": _guarded_sum,
    "any": _charging(any), "all": _charging(all), "sorted": _charging(sorted),
    "list": _charging(list), "dict": _charging(dict), "range": _capped_range,
    "enumerate": _counting(enumerate), "zip": _counting(zip),
    "parse_date": parse_date, "add_days": add_days, "days_between": days_between,
    "age_on": age_on, "year_of": year_of, "month_of": month_of,
}
FUNCTION_NAMES = frozenset(_PURE_FUNCTIONS) | {"today", "now", "age_from_id", "working_days_later", "policy"}
_FORBIDDEN_NAMES = frozenset(dir(builtins)) - FUNCTION_NAMES


def sandbox_functions(clock: Callable[[], datetime] | None = None,
                      matter_policy: Mapping[str, Any] | None = None) -> dict[str, Callable[..., Any]]:
    """The whitelisted functions, with ``today``/``now``/``age_from_id`` reading ``clock``
    and ``policy(key, …)`` reading the policy of the version the application runs on
    (``policy('commitment', 'verify_within_working_days')``): a copy, so no script changes it.

    ``today()`` is the calendar date in the server's local time zone (run the server with
    TZ=Asia/Shanghai): an aware clock value is converted to local time, a naive one is
    taken as already local. ``now()`` is that local time as an ISO string with seconds.
    """
    read_clock = clock or _utc_now

    def today() -> str:
        return _local(read_clock()).date().isoformat()

    def now() -> str:
        return _local(read_clock()).isoformat(timespec="seconds")

    def age_from_id(id_number: str) -> int:
        return age_on(birth_date_from_id(id_number), today())

    def working_days_later(days: int) -> str:
        """09:00 Beijing time on the ``days``-th working day from today: the moment a BPMN
        timer waits for (告知承诺 verification N working days after approval).

        The calendar counts day by day (measured: about 1.2 µs a day, some twenty steps),
        so each day costs steps and at most MAX_RANGE days (about 40 years) are counted.
        """
        days = int(days)
        if days > MAX_RANGE:
            raise BudgetExceeded(f"{days} working days exceed the size budget of {MAX_RANGE}")
        _current_budget().charge(20 * max(days, 0))
        day = default_calendar().add_working_days(date.fromisoformat(today()), days)
        return datetime.combine(day, time(9), tzinfo=BEIJING).isoformat()

    def policy(*keys: str) -> Any:
        value: Any = matter_policy or {}
        for depth, key in enumerate(keys):
            if not isinstance(value, Mapping) or key not in value:
                raise LookupError(f"the matter's policy has no {'.'.join(map(str, keys[:depth + 1]))}")
            value = value[key]
        return copy.deepcopy(value)

    return {**_PURE_FUNCTIONS, "today": today, "now": now, "age_from_id": age_from_id,
            "working_days_later": working_days_later, "policy": policy}
