"""Resident IDs (GB 11643-1999) written out by hand, one for each of the 11 check characters.

The other identifier tests build their IDs with ``make_resident_id``, the code under test,
so a swapped pair in its check-character table went unnoticed. These literals were
computed outside the product, with ISO 7064 MOD 11-2 in its textbook form (weight of
position i = 2^(17-i) mod 11, check value = (12 - sum mod 11) mod 11, 10 written X), and
checked once more with the standard's weight table 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
(check character = "10X98765432"[sum mod 11]). Region codes are real administrative
divisions (GB/T 2260); birth dates are real days (one a 29 February).
"""
from __future__ import annotations

import pytest

from forms.identifiers import birth_date_from_id, is_valid_resident_id, resident_id_check_char, resident_id_problem

CHECK_CHARACTERS = "0123456789X"
BY_CHECK_CHARACTER = {
    "0": "510107200002290010",  # 成都市武侯区, born 29 Feb 2000
    "1": "110105194912310011",  # 北京市朝阳区
    "2": "330106199610110022",  # 杭州市西湖区
    "3": "460105195607040013",  # 海口市秀英区
    "4": "110101197811200014",  # 北京市东城区
    "5": "310115198506090015",  # 上海市浦东新区
    "6": "310104196303150016",  # 上海市徐汇区
    "7": "420106200808080057",  # 武汉市武昌区
    "8": "440106199002280058",  # 广州市天河区
    "9": "440305197001010019",  # 深圳市南山区
    "X": "32010220151203003X",  # 南京市玄武区
}


def test_the_literals_cover_every_check_character():
    assert sorted(BY_CHECK_CHARACTER) == sorted(CHECK_CHARACTERS)
    assert all(number[17] == check for check, number in BY_CHECK_CHARACTER.items())


@pytest.mark.parametrize("check", CHECK_CHARACTERS)
def test_an_id_with_each_check_character_is_accepted(check):
    number = BY_CHECK_CHARACTER[check]
    assert resident_id_problem(number) is None
    assert resident_id_check_char(number[:17]) == check
    assert birth_date_from_id(number).strftime("%Y%m%d") == number[6:14]


@pytest.mark.parametrize("check", CHECK_CHARACTERS)
def test_each_wrong_check_character_is_refused(check):
    number = BY_CHECK_CHARACTER[check]
    for wrong in CHECK_CHARACTERS.replace(check, ""):
        problem = resident_id_problem(number[:17] + wrong)
        assert problem is not None and "校验位错误" in problem, (number, wrong)


def test_a_lowercase_x_check_character_is_accepted():
    assert is_valid_resident_id(BY_CHECK_CHARACTER["X"].lower())
