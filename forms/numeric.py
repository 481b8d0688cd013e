"""What a number field accepts, so that the number stored is the number the applicant gave.

Answers are stored as JSON and read by rules as Python ints and floats (IEEE doubles).
The rule for every number field of every form:

1. A number is a JSON number or a plain decimal string ("2500.50": ASCII digits, an
   optional sign and fraction). true/false, NaN, Infinity, digit grouping ("1_000") and
   other scripts' digits ("١٢") are not numbers.
2. Its magnitude is at most MAX_MAGNITUDE (10^15), whatever the form declares: up to
   there every integer, and every decimal of at most 15 significant digits, is held
   exactly by a double. A form whose validate.min or validate.max lies beyond it is
   refused at deploy (forms/definition.py).
3. It has at most SIGNIFICANT_DIGITS (15, C's DBL_DIG) significant digits, and at most
   the field's form-js ``decimalDigits`` places after the point where the form declares
   them (0 makes a whole-number field, stored as an int).
4. Within that, validate.min and validate.max bound it where the form declares them.

A JSON number arrives already parsed into a double; its shortest round-trip spelling
(``repr``) is what is checked, so 0.1 counts as one place and 2500.50 as one.
"""
from __future__ import annotations

import math
import re
from decimal import Decimal

__all__ = ["MAX_MAGNITUDE", "SIGNIFICANT_DIGITS", "WHOLE_NUMBER", "number_problem", "parse_number"]

MAX_MAGNITUDE = 10 ** 15
SIGNIFICANT_DIGITS = 15
WHOLE_NUMBER = "请输入整数 not a valid integer"
_PLAIN_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def parse_number(value: object) -> Decimal:
    """The exact decimal an answer stands for; ValueError when it is no number (rule 1)."""
    if isinstance(value, bool):
        raise ValueError("true/false is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float) and math.isfinite(value):
        return Decimal(repr(value))
    if isinstance(value, str) and _PLAIN_DECIMAL.fullmatch(value.strip()):
        return Decimal(value.strip())
    raise ValueError(f"{value!r} is not a number")


def _digits_and_places(number: Decimal) -> tuple[int, int]:
    """Significant digits and decimal places, trailing zeros not counted (2500.50 -> 5, 1)."""
    _sign, digits, exponent = number.as_tuple()  # exponent is an int: parse_number makes no NaN
    while len(digits) > 1 and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    return len(digits), max(0, -exponent)


def number_problem(number: Decimal, places: int | None = None) -> str | None:
    """Describe why ``number`` cannot be stored as given (rules 2 and 3), or None."""
    if abs(number) > MAX_MAGNITUDE:
        return "数值过大，绝对值不能超过1000万亿 the magnitude must be at most 10^15"
    digits, decimals = _digits_and_places(number)
    if places == 0 and decimals:
        return WHOLE_NUMBER
    if places is not None and decimals > places:
        return f"最多保留{places}位小数 at most {places} decimal places"
    if digits > SIGNIFICANT_DIGITS:
        return (f"有效数字不能超过{SIGNIFICANT_DIGITS}位"
                f" more than {SIGNIFICANT_DIGITS} significant digits cannot be stored exactly")
    return None
