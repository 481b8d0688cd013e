"""Chinese identifier checks: resident ID numbers and unified social credit codes.

Applicants mistype these numbers constantly; catching a wrong check character at the
form stops a case from reaching a clerk only to be sent back days later.

- 居民身份证号 (GB 11643-1999): check character by ISO 7064 MOD 11-2, and a first 6 digits
  that are an administrative division code (GB/T 2260, historical codes included).
- 统一社会信用代码 (GB 32100-2015): check character mod 31 over a 31-character alphabet.

The ``*_problem`` functions return a human message for the first thing wrong (Chinese
first, short English after) or ``None`` when the value is valid, so form validation can
show the applicant exactly what to fix.
"""
from __future__ import annotations

import re
from datetime import date

from forms.regions import is_division_code

__all__ = [
    "CREDIT_CODE_ALPHABET",
    "birth_date_from_id",
    "credit_code_check_char",
    "credit_code_problem",
    "is_valid_credit_code",
    "is_valid_resident_id",
    "make_credit_code",
    "make_resident_id",
    "normalise_resident_id",
    "resident_id_check_char",
    "resident_id_problem",
]

# --- 居民身份证号 -------------------------------------------------------------------

_RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_CHECK_CHARS = "10X98765432"
_RESIDENT_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")  # not \d: Python's \d matches full-width digits


def normalise_resident_id(value: str) -> str:
    """Strip surrounding whitespace and upper-case a trailing x (people type 'x' as often as 'X')."""
    return value.strip().upper()


def resident_id_check_char(first17: str) -> str:
    """Return the MOD 11-2 check character for the first 17 digits of a resident ID."""
    if len(first17) != 17 or not first17.isdigit() or not first17.isascii():
        raise ValueError(f"need exactly 17 ASCII digits, got {first17!r}")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _RESIDENT_WEIGHTS))
    return _RESIDENT_CHECK_CHARS[total % 11]


def _parse_birth_date(digits: str) -> date | None:
    """Parse YYYYMMDD; None when it is not a real calendar date (e.g. 19990230)."""
    try:
        return date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def resident_id_problem(value: str, today: date | None = None) -> str | None:
    """Describe the first thing wrong with a resident ID number, or return None if valid.

    ``today`` is injectable so tests can pin the "birth date in the future" check. The
    region code is checked last: a mistyped digit shows first as a wrong check character.
    """
    problem = _structure_problem(value, today)
    if problem is not None:
        return problem
    region = normalise_resident_id(value)[:6]
    if not is_division_code(region):
        return (f"身份证号码前6位{region}不是行政区划代码，请核对"
                " the first 6 digits of the resident ID are no administrative division code")
    return None


def _structure_problem(value: str, today: date | None) -> str | None:
    """Type, length, characters, birth date and check character of a resident ID."""
    if not isinstance(value, str):
        return "身份证号码必须是文本 resident ID must be a string"
    number = normalise_resident_id(value)
    if len(number) != 18:
        return f"身份证号码应为18位，实际为{len(number)}位 resident ID must have 18 characters"
    if not _RESIDENT_SHAPE.match(number):
        return "身份证号码只能包含数字，最后一位可为X resident ID must be 17 digits plus a digit or X"
    birth = _parse_birth_date(number[6:14])
    if birth is None:
        return f"身份证号码中的出生日期{number[6:14]}无效 invalid birth date in resident ID"
    if birth > (today or date.today()):
        return f"身份证号码中的出生日期{birth.isoformat()}晚于今天 birth date in resident ID is in the future"
    expected = resident_id_check_char(number[:17])
    if number[17] != expected:
        return "身份证号码校验位错误，请核对 resident ID check character is wrong"
    return None


def is_valid_resident_id(value: str, today: date | None = None) -> bool:
    """True when ``value`` is a well-formed resident ID (lowercase x accepted)."""
    return resident_id_problem(value, today) is None


def birth_date_from_id(id_number: str) -> date:
    """Birth date encoded in a resident ID; eligibility rules (e.g. 高龄补贴) depend on age.

    Raises ValueError with the human message when the ID is malformed, so a bad ID is
    never silently turned into a plausible-looking age. The region code plays no part in
    an age, so an application recorded before the region check still replays.
    """
    problem = _structure_problem(id_number, None)
    if problem is not None:
        raise ValueError(problem)
    number = normalise_resident_id(id_number)
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def make_resident_id(region: str, birth: date, seq: str) -> str:
    """Build a valid resident ID from a 6-digit region, a birth date and a 3-digit sequence.

    Used by tests and demo seed data so nobody needs a real person's ID number.
    """
    if not is_division_code(region):
        raise ValueError(f"region must be a 6-digit administrative division code, got {region!r}")
    if len(seq) != 3 or not seq.isdigit():
        raise ValueError(f"sequence must be 3 digits, got {seq!r}")
    first17 = f"{region}{birth:%Y%m%d}{seq}"
    if len(first17) != 17:
        raise ValueError(f"birth year must have 4 digits, got {birth.year}")
    return first17 + resident_id_check_char(first17)


# --- 统一社会信用代码 ---------------------------------------------------------------

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_INDEX = {char: index for index, char in enumerate(CREDIT_CODE_ALPHABET)}


def credit_code_check_char(first17: str) -> str:
    """Return the GB 32100 check character for the first 17 characters of a credit code."""
    if len(first17) != 17:
        raise ValueError(f"need exactly 17 characters, got {len(first17)}")
    bad = [char for char in first17 if char not in _CREDIT_INDEX]
    if bad:
        raise ValueError(f"characters not allowed in a credit code: {''.join(bad)!r}")
    total = sum(_CREDIT_INDEX[char] * weight for char, weight in zip(first17, _CREDIT_WEIGHTS))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(value: str) -> str | None:
    """Describe the first thing wrong with a unified social credit code, or None if valid."""
    if not isinstance(value, str):
        return "统一社会信用代码必须是文本 credit code must be a string"
    code = value.strip().upper()
    if len(code) != 18:
        return f"统一社会信用代码应为18位，实际为{len(code)}位 credit code must have 18 characters"
    bad = sorted({char for char in code if char not in _CREDIT_INDEX})
    if bad:
        return (f"统一社会信用代码含有不允许的字符{''.join(bad)}（不使用I、O、Z、S、V）"
                " credit code contains characters outside its alphabet")
    if not code[2:8].isdigit():
        return "统一社会信用代码第3-8位应为行政区划代码数字 credit code characters 3-8 must be digits"
    if code[17] != credit_code_check_char(code[:17]):
        return "统一社会信用代码校验位错误，请核对 credit code check character is wrong"
    return None


def is_valid_credit_code(value: str) -> bool:
    """True when ``value`` is a well-formed unified social credit code."""
    return credit_code_problem(value) is None


def make_credit_code(first17: str) -> str:
    """Append the check character to 17 credit-code characters (tests and demo seed data)."""
    return first17 + credit_code_check_char(first17)
