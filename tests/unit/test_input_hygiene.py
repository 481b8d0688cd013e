"""Input hygiene in the form layer: characters, nesting, numbers and region codes, each
refused naming the field (issue 12). Every input here is written out literally."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from engine.demo import demo_people
from forms import Form, FormDefinitionError, load_form
from forms.identifiers import birth_date_from_id, resident_id_problem
from forms.regions import division_codes, is_division_code
from tests.unit.test_forms import errors_of, form_of

FORMS_DIR = Path(__file__).resolve().parents[2] / "forms"
BIDI_FORMATTING = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
CONTROLS = ["\x01", "\x07", "\x08", "\x1b", "\x1f", "\x7f", "\x85", "\x9b"]
CHOICES = [{"label": "甲", "value": "a"}, {"label": "乙", "value": "b"}]
# Check characters computed with python-stdnum's cn.ric.calc_check_digit, not the product's table.
REGION_999999 = "999999198001010011"
REGION_469999 = "469999198001010018"  # 海南省 exists, 4699 under it does not
CHONGWEN_1950 = "110103195003150024"  # 北京市崇文区, merged into 东城区 in 2010
ZHENDONG_1962 = "460102196210010030"  # 海口市振东区 (1990-2002): born before the code existed
XIUYING_1956 = "460105195607040013"  # 海口市秀英区 today


def form_with(*components) -> Form:
    return load_form(form_of(*components))


@pytest.fixture(scope="module")
def texts() -> Form:
    return form_with({"type": "textfield", "key": "name", "validate": {"maxLength": 50}},
                   {"type": "textarea", "key": "purpose"},
                   {"type": "textfield", "key": "id_number", "properties": {"format": "resident_id"}})


@pytest.fixture(scope="module")
def shapes() -> Form:
    return form_with({"type": "textfield", "key": "name"}, {"type": "number", "key": "area"},
                   {"type": "number", "key": "people", "decimalDigits": 0},
                   {"type": "checkbox", "key": "consent"}, {"type": "datetime", "key": "day", "subtype": "date"},
                   {"type": "select", "key": "kind", "values": CHOICES},
                   {"type": "checklist", "key": "tags", "values": CHOICES})


@pytest.fixture(scope="module")
def numbers() -> Form:
    return form_with({"type": "number", "key": "free"},
                   {"type": "number", "key": "count", "decimalDigits": 0},
                   {"type": "number", "key": "rent", "decimalDigits": 2, "validate": {"min": 0, "max": 1000000}},
                   {"type": "number", "key": "age", "decimalDigits": 0, "validate": {"min": 0, "max": 150}})


# --- 1. characters ---------------------------------------------------------------------

@pytest.mark.parametrize("char", BIDI_FORMATTING)
def test_bidi_formatting_characters_are_refused_in_names(texts, char):
    errors = errors_of(texts, {"name": f"王{char}秀英"})
    assert list(errors) == ["name"]
    assert errors["name"][0].startswith("不能含有文字方向控制字符（U+")
    assert f"U+{ord(char):04X}" in errors["name"][0]


@pytest.mark.parametrize("char", CONTROLS)
@pytest.mark.parametrize("key", ["name", "purpose"])
def test_control_characters_are_refused_in_any_text_field(texts, key, char):
    errors = errors_of(texts, {key: f"王{char}五"})
    assert errors == {key: [f"不能含有控制字符（U+{ord(char):04X}） control character U+{ord(char):04X} is not allowed"]}


def test_line_breaks_and_tabs_only_in_multi_line_fields(texts):
    assert texts.validate({"purpose": "第一行\r\n第二行\n\t缩进"}) == {"purpose": "第一行\r\n第二行\n\t缩进"}
    errors = errors_of(texts, {"name": "王\n五", "purpose": "好", "id_number": None})
    assert errors == {"name": ["不能含有控制字符（U+000A） control character U+000A is not allowed"]}
    assert "U+0009" in errors_of(texts, {"name": "王\t五"})["name"][0]


def test_a_lone_surrogate_is_refused_naming_the_field(texts):
    assert "U+D800" in errors_of(texts, {"name": "王\ud800"})["name"][0]


def test_formatted_fields_are_checked_too(texts):
    errors = errors_of(texts, {"id_number": "\u202e" + XIUYING_1956})
    assert "文字方向控制字符" in errors["id_number"][0]


@pytest.mark.parametrize("name", ["王秀英", "Zoë O'Brien", "阿卜杜拉·买买提", "محمد", "👨\u200d👩\u200d👧", "a b"])
def test_ordinary_names_in_any_script_are_accepted(texts, name):
    assert texts.validate({"name": name}) == {"name": name}


def test_character_and_length_problems_are_reported_together(texts):
    assert len(errors_of(texts, {"name": "\u202e" + "名" * 60})["name"]) == 2


# --- 2. nesting ------------------------------------------------------------------------

@pytest.mark.parametrize("nested", [{"a": 1}, ["x"], [[["x"]]], {"x": {"y": []}}])
def test_an_object_or_array_where_the_form_has_a_single_value(shapes, nested):
    data = {key: nested for key in ("name", "area", "people", "consent", "day", "kind")}
    errors = errors_of(shapes, data)
    assert set(errors) == set(data)
    assert errors["name"] == ["必须是文本 must be text"]
    assert errors["area"] == ["请输入数字 not a valid number"]
    assert errors["people"] == ["请输入整数 not a valid integer"]


def test_a_checklist_holds_chosen_values_not_lists_or_objects(shapes):
    assert shapes.validate({"tags": ["a", "b"]}) == {"tags": ["a", "b"]}
    errors = errors_of(shapes, {"tags": ["a", ["b"], {"value": "a"}]})
    assert list(errors) == ["tags"] and len(errors["tags"]) == 2
    assert errors["tags"][0].startswith("第2项") and errors["tags"][1].startswith("第3项")
    assert errors_of(shapes, {"tags": {"a": True}}) == {"tags": ["必须是列表 must be a list"]}


# --- 3. numbers ------------------------------------------------------------------------

@pytest.mark.parametrize("huge", [10 ** 30, 1e30, -1e16, 10 ** 400, 1000000000000001])
def test_numbers_beyond_ten_to_the_fifteen_are_refused_without_a_declared_range(numbers, huge):
    errors = errors_of(numbers, {"free": huge, "count": huge})
    assert errors == {key: ["数值过大，绝对值不能超过1000万亿 the magnitude must be at most 10^15"]
                      for key in ("free", "count")}


def test_numbers_up_to_ten_to_the_fifteen_are_held_exactly(numbers):
    cleaned = numbers.validate({"free": 1e15, "count": -10 ** 15})
    assert cleaned == {"free": 1e15, "count": -1000000000000000}
    assert isinstance(cleaned["count"], int)


@pytest.mark.parametrize("inexact", [0.12345678901234567, 999999999999999.9, "3.1415926535897932"])
def test_more_significant_digits_than_a_double_holds_are_refused(numbers, inexact):
    assert errors_of(numbers, {"free": inexact}) == {
        "free": ["有效数字不能超过15位 more than 15 significant digits cannot be stored exactly"]}


def test_decimal_digits_declared_by_the_form_are_honoured(numbers):
    assert numbers.validate({"rent": "2500.50", "count": 2.0}) == {"rent": 2500.5, "count": 2}
    assert numbers.validate({"rent": 0.1}) == {"rent": 0.1}
    assert errors_of(numbers, {"rent": 2500.505}) == {"rent": ["最多保留2位小数 at most 2 decimal places"]}
    assert errors_of(numbers, {"count": 2.5}) == {"count": ["请输入整数 not a valid integer"]}


@pytest.mark.parametrize("data, expected", [
    ({"age": 151}, {"age": ["不能大于150 must be at most 150"]}),
    ({"age": -1}, {"age": ["不能小于0 must be at least 0"]}),
    ({"rent": 1000000.01}, {"rent": ["不能大于1000000 must be at most 1000000"]}),
    ({"rent": -0.01}, {"rent": ["不能小于0 must be at least 0"]}),
])
def test_declared_ranges_are_honoured(numbers, data, expected):
    assert errors_of(numbers, data) == expected


@pytest.mark.parametrize("not_a_number", [True, float("nan"), float("inf"), "NaN", "Infinity", "1_000", "١٢",
                                          "1e3", "0x10", "", "12元"])
def test_what_is_not_a_plain_number_is_refused(numbers, not_a_number):
    if not_a_number == "":
        assert numbers.validate({"free": not_a_number}) == {}  # blank: not answered
        return
    assert errors_of(numbers, {"free": not_a_number}) == {"free": ["请输入数字 not a valid number"]}


@pytest.mark.parametrize("component, says", [
    ({"validate": {"max": 1e20}}, "validate.max 1e+20 lies beyond ±10^15"),
    ({"validate": {"min": -10 ** 16}}, "validate.min -10000000000000000 lies beyond ±10^15"),
    ({"decimalDigits": -1}, "decimalDigits must be an integer from 0 to 15, got -1"),
    ({"decimalDigits": "2"}, "decimalDigits must be an integer from 0 to 15, got '2'"),
    ({"decimalDigits": 16}, "decimalDigits must be an integer from 0 to 15, got 16"),
])
def test_a_form_promising_what_a_number_cannot_hold_is_refused_at_deploy(component, says):
    with pytest.raises(FormDefinitionError) as caught:
        form_with({"type": "number", "key": "n", **component})
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(f"components[0] (n): {says}")


def test_every_shipped_number_field_declares_a_range():
    for path in sorted(FORMS_DIR.glob("*.form.json")):
        for component in json.loads(path.read_text(encoding="utf-8"))["components"]:
            if component["type"] == "number":
                validate = component.get("validate", {})
                assert "min" in validate and "max" in validate, (path.name, component["key"])


# --- 4. region codes -------------------------------------------------------------------

@pytest.mark.parametrize("number", [REGION_999999, REGION_469999])
def test_an_id_whose_region_is_no_administrative_division_is_refused(number):
    assert resident_id_problem(number) == (f"身份证号码前6位{number[:6]}不是行政区划代码，请核对"
                                           " the first 6 digits of the resident ID are no administrative division code")


@pytest.mark.parametrize("number", [CHONGWEN_1950, ZHENDONG_1962, XIUYING_1956])
def test_ids_issued_under_abolished_or_current_codes_are_accepted(number):
    assert resident_id_problem(number) is None


def test_a_mistyped_digit_shows_as_a_wrong_check_character_first():
    assert "校验位错误" in resident_id_problem("999999198001010012")


def test_the_region_plays_no_part_in_an_age():
    assert birth_date_from_id(REGION_999999) == date(1980, 1, 1)


def test_division_codes_hold_current_and_historical_codes():
    codes = division_codes()
    assert len(codes) > 6000 and list(codes) == sorted(codes)
    assert {"110105", "110103", "460102", "460105", "469001"} <= set(codes)
    assert not {"999999", "469999", "000000"} & set(codes)
    assert not is_division_code("11010") and not is_division_code("１１０１０５")


def test_the_id_form_field_names_an_unknown_region(texts):
    errors = errors_of(texts, {"id_number": REGION_999999})
    assert list(errors) == ["id_number"] and "行政区划代码" in errors["id_number"][0]
    assert texts.validate({"id_number": CHONGWEN_1950}) == {"id_number": CHONGWEN_1950}


def test_every_demo_person_has_a_valid_id():
    people = demo_people(date(2026, 5, 1))
    assert {name: resident_id_problem(number, today=date(2026, 5, 1)) for name, number in people.items()} == {
        name: None for name in people}
