"""Administrative division codes (行政区划代码, GB/T 2260): the first 6 digits of a resident ID.

A resident ID keeps the code of the place that first issued it for life, so a code that
was later abolished (北京市崇文区 110103, merged into 东城区 in 2010; 海口市振东区 460102,
abolished in 2002) stays valid: every code that was ever in use is accepted, whatever the
birth date.

The table is python-stdnum's ``cn/loc`` database (``stdnum/cn/loc.dat``): every GB/T 2260
code with the years it was in use, compiled by python-stdnum from the published code
lists (1980 to 2025 in python-stdnum 2.2, released January 2026). Nothing is copied here:
upgrading python-stdnum brings the newest codes.
"""
from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from stdnum import numdb

__all__ = ["division_codes", "is_division_code"]

DATABASE = "cn/loc"
CODE_LENGTH = 6
PLACE = "county"  # the property a full code's entry carries (its name, with the years in use)


def _codes(prefixes: list, start: str = "") -> Iterator[str]:
    for length, low, high, properties, children in prefixes:
        for number in range(int(low), int(high) + 1):
            code = f"{start}{number:0{length}d}"
            if PLACE in properties and len(code) == CODE_LENGTH:
                yield code
            yield from _codes(children, code)


@cache
def division_codes() -> tuple[str, ...]:
    """Every division code ever in use, in order (test and demo data draw from it)."""
    return tuple(sorted(set(_codes(numdb.get(DATABASE).prefixes))))


@cache
def _known() -> frozenset[str]:
    return frozenset(division_codes())


def is_division_code(code: str) -> bool:
    """True when ``code`` is a GB/T 2260 administrative division code, current or historical."""
    return code in _known()
