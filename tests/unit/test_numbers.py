"""Result-number policies (engine/policy/numbers.py): a format string may name only year, date and seq."""
from __future__ import annotations

import pytest

from engine.policy.numbers import NumberFormatError, NumberPolicy, check_format


def test_a_format_names_only_year_date_and_seq_and_needs_seq():
    check_format("ZLBA-{year}-{seq:06d}号")
    check_format("琼卫公证字〔{year}〕第{seq:06d}号 {date}")
    for bad in ("ZLBA-{year}", "{seq.__class__}", "{seq!r}", "{holder}{seq}", "{0}{seq}", "{seq[0]}"):
        with pytest.raises(NumberFormatError):
            check_format(bad)


def test_a_policy_needs_a_field_and_a_format():
    assert NumberPolicy.of({}) is None
    assert NumberPolicy.of({"result_number": {"field": "no", "format": "X{seq}"}}) == NumberPolicy("no", "X{seq}")
    for bad in ("ZLBA-{seq}", {"field": "no"}, {"format": "X{seq}"}, {"field": 1, "format": "X{seq}"}):
        with pytest.raises(NumberFormatError):
            NumberPolicy.of({"result_number": bad})
