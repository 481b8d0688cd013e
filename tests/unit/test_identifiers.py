"""Unit tests of resident ID (GB 11643) and unified social credit code (GB 32100) checks."""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from forms.identifiers import (CREDIT_CODE_ALPHABET, birth_date_from_id, credit_code_check_char,
                               credit_code_problem, is_valid_credit_code, is_valid_resident_id,
                               make_credit_code, make_resident_id, resident_id_check_char,
                               resident_id_problem)
from forms.regions import division_codes

TEXTBOOK_ID = "11010519491231002X"
CITED_USCC = "91350100M000100Y43"


def _with_check(first17: str, check: str) -> str:
    return first17 + check


def _wrong_resident_check(first17: str) -> str:
    right = resident_id_check_char(first17)
    return next(c for c in "0123456789X" if c != right)


# --- resident ID -----------------------------------------------------------------------

def test_textbook_resident_id_is_valid():
    assert resident_id_problem(TEXTBOOK_ID) is None
    assert is_valid_resident_id(TEXTBOOK_ID)
    assert resident_id_check_char(TEXTBOOK_ID[:17]) == "X"
    assert birth_date_from_id(TEXTBOOK_ID) == date(1949, 12, 31)


def test_lowercase_x_and_whitespace_are_accepted():
    assert is_valid_resident_id(TEXTBOOK_ID.lower())
    assert is_valid_resident_id(f"  {TEXTBOOK_ID} ")
    assert birth_date_from_id(TEXTBOOK_ID.lower()) == date(1949, 12, 31)


@pytest.mark.parametrize("value", ["", "1101051949123100", "11010519491231002X1"])
def test_wrong_length(value):
    assert "18位" in resident_id_problem(value)


@pytest.mark.parametrize("value", ["11010519491231002A", "1101051949123X002X", "11010519491231-02X",
                                   "１１010519491231002X"])
def test_bad_characters(value):
    problem = resident_id_problem(value)
    assert problem is not None and "只能包含数字" in problem


def test_invalid_birth_date():
    number = make_resident_id("110105", date(1999, 2, 28), "123").replace("19990228", "19990230")
    problem = resident_id_problem(number)
    assert "出生日期19990230无效" in problem
    with pytest.raises(ValueError, match="invalid birth date"):
        birth_date_from_id(number)


def test_birth_date_in_the_future_uses_injected_today():
    number = make_resident_id("460100", date(2030, 6, 1), "001")
    assert "晚于今天" in resident_id_problem(number, today=date(2030, 5, 31))
    assert resident_id_problem(number, today=date(2030, 6, 1)) is None
    assert not is_valid_resident_id(number, today=date(2024, 1, 1))


def test_wrong_check_character():
    wrong = _with_check(TEXTBOOK_ID[:17], _wrong_resident_check(TEXTBOOK_ID[:17]))
    assert "校验位错误" in resident_id_problem(wrong)
    with pytest.raises(ValueError, match="check character"):
        birth_date_from_id(wrong)


def test_non_string_is_a_problem_not_a_crash():
    assert resident_id_problem(11010519491231002) is not None


def test_make_resident_id_round_trips_over_random_inputs():
    rng = random.Random(11643)
    today = date(2024, 5, 1)
    for _ in range(2000):
        region = rng.choice(division_codes())
        birth = date(1900, 1, 1) + timedelta(days=rng.randint(0, (today - date(1900, 1, 1)).days))
        seq = f"{rng.randint(0, 999):03d}"
        number = make_resident_id(region, birth, seq)
        assert resident_id_problem(number, today=today) is None, number
        assert birth_date_from_id(number) == birth
        assert number[:6] == region and number[14:17] == seq
        broken = _with_check(number[:17], _wrong_resident_check(number[:17]))
        assert not is_valid_resident_id(broken, today=today)


@pytest.mark.parametrize("region, seq", [("11010", "001"), ("1101051", "001"), ("110105", "01"),
                                         ("11010a", "001"), ("110105", "0a1"), ("999999", "001")])
def test_make_resident_id_rejects_bad_parts(region, seq):
    with pytest.raises(ValueError):
        make_resident_id(region, date(1980, 1, 1), seq)


def test_resident_check_char_needs_17_digits():
    with pytest.raises(ValueError):
        resident_id_check_char("1234")


# --- unified social credit code --------------------------------------------------------

def test_cited_credit_code_is_valid():
    assert credit_code_problem(CITED_USCC) is None
    assert is_valid_credit_code(CITED_USCC)
    assert credit_code_check_char(CITED_USCC[:17]) == "3"
    assert is_valid_credit_code(CITED_USCC.lower())


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_credit_code_letters_outside_the_alphabet(letter):
    code = CITED_USCC[:8] + letter + CITED_USCC[9:]
    problem = credit_code_problem(code)
    assert problem is not None and letter in problem and "不允许的字符" in problem


def test_credit_code_wrong_length():
    assert "18位" in credit_code_problem(CITED_USCC[:17])


def test_credit_code_region_must_be_digits():
    code = make_credit_code("91AB0100M000100Y4")
    assert "3-8" in credit_code_problem(code)


def test_credit_code_wrong_check_character():
    right = credit_code_check_char(CITED_USCC[:17])
    wrong = next(c for c in CREDIT_CODE_ALPHABET if c != right)
    assert "校验位错误" in credit_code_problem(CITED_USCC[:17] + wrong)


def test_make_credit_code_round_trips_over_random_inputs():
    rng = random.Random(32100)
    for _ in range(2000):
        first17 = (rng.choice(CREDIT_CODE_ALPHABET) + rng.choice(CREDIT_CODE_ALPHABET)
                   + f"{rng.randint(0, 999999):06d}"
                   + "".join(rng.choice(CREDIT_CODE_ALPHABET) for _ in range(9)))
        code = make_credit_code(first17)
        assert credit_code_problem(code) is None, code
        assert code[:17] == first17 and code[17] in CREDIT_CODE_ALPHABET
        others = [c for c in CREDIT_CODE_ALPHABET if c != code[17]]
        assert not is_valid_credit_code(first17 + rng.choice(others))


def test_credit_code_check_char_rejects_bad_input():
    with pytest.raises(ValueError):
        credit_code_check_char("91350100M000100Y")
    with pytest.raises(ValueError):
        credit_code_check_char("91350100I000100Y4")
