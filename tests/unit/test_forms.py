"""Unit tests of form-js form loading and marshmallow validation, including the shipped forms."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from forms import (Form, FormDefinitionError, FormValidationError, load_form, load_form_file,
                   make_resident_id)
from forms.definition import MAX_CHOICE_LENGTH, MAX_ITEMS, label_of
from forms.json_schema import form_json_schema

FORMS_DIR = Path(__file__).resolve().parents[2] / "forms"
OLD_PERSON = make_resident_id("460100", date(1940, 3, 8), "021")
LANDLORD = make_resident_id("460105", date(1975, 11, 2), "135")
TENANT = make_resident_id("460106", date(1998, 1, 30), "246")


def form_of(*components, form_id="test_form") -> dict:
    return {"type": "default", "id": form_id, "schemaVersion": 16, "components": list(components)}


def textfield(key, **extra) -> dict:
    return {"type": "textfield", "key": key, "label": key, **extra}


def problems_of(source) -> list[str]:
    with pytest.raises(FormDefinitionError) as caught:
        load_form(source, "broken.form.json")
    assert "broken.form.json" in str(caught.value)
    return caught.value.problems


def errors_of(form: Form, data) -> dict[str, list[str]]:
    with pytest.raises(FormValidationError) as caught:
        form.validate(data)
    return caught.value.errors


@pytest.fixture(scope="module")
def elderly() -> Form:
    return load_form_file(FORMS_DIR / "elderly_subsidy.form.json")


@pytest.fixture(scope="module")
def rental() -> Form:
    return load_form_file(FORMS_DIR / "rental_filing.form.json")


# --- shipped forms ---------------------------------------------------------------------

def test_elderly_form_loads(elderly):
    assert elderly.id == "elderly_subsidy"
    assert elderly.fields == ["applicant_name", "id_number", "phone", "bank_account"]


def test_rental_form_loads(rental):
    assert rental.id == "rental_filing"
    assert rental.fields == ["landlord_name", "landlord_id_number", "tenant_name", "tenant_id_number",
                             "property_cert_no", "address", "start_date", "end_date", "monthly_rent",
                             "phone"]


def test_elderly_valid_payload_is_cleaned(elderly):
    cleaned = elderly.validate({"applicant_name": "  王秀英 ", "id_number": OLD_PERSON.lower(),
                                "phone": "13907550001", "bank_account": ""})
    assert cleaned == {"applicant_name": "王秀英", "id_number": OLD_PERSON.upper(), "phone": "13907550001"}


def test_elderly_optional_bank_account_checked_when_given(elderly):
    base = {"applicant_name": "王秀英", "id_number": OLD_PERSON, "phone": "13907550001"}
    cleaned = elderly.validate({**base, "bank_account": "6217000010001234567"})
    assert cleaned["bank_account"] == "6217000010001234567"
    assert "bank_account" in errors_of(elderly, {**base, "bank_account": "6217-0000"})


def test_elderly_all_errors_at_once(elderly):
    wrong_check = OLD_PERSON[:17] + ("1" if OLD_PERSON.endswith("0") else "0")
    errors = errors_of(elderly, {"applicant_name": "   ", "id_number": wrong_check, "phone": "2390755000"})
    assert errors["applicant_name"] == ["必填 required"]
    assert any("校验位错误" in message for message in errors["id_number"])
    assert any("手机号码" in message for message in errors["phone"])
    assert set(errors) == {"applicant_name", "id_number", "phone"}


def test_elderly_name_too_long(elderly):
    errors = errors_of(elderly, {"applicant_name": "名" * 51, "id_number": OLD_PERSON, "phone": "13907550001"})
    assert errors == {"applicant_name": ["最多50个字符 must have at most 50 characters"]}


def test_unknown_field_is_refused(elderly):
    errors = errors_of(elderly, {"applicant_name": "王秀英", "id_number": OLD_PERSON, "phone": "13907550001",
                                 "is_admin": True})
    assert errors == {"is_admin": ["未知字段 unknown field"]}


def test_non_mapping_payload_is_refused(elderly):
    assert "_schema" in errors_of(elderly, ["not", "a", "form"])


RENTAL_OK = {"landlord_name": "陈建国", "landlord_id_number": LANDLORD,
             "tenant_name": "林晓", "tenant_id_number": TENANT,
             "property_cert_no": "琼（2023）海口市不动产权第0012345号", "address": "海口市龙华区滨海大道1号",
             "start_date": "2024-06-01", "end_date": "2025-05-31",
             "monthly_rent": "2500.50", "phone": "13876543210"}


def test_rental_valid_payload_is_json_ready(rental):
    cleaned = rental.validate(RENTAL_OK)
    assert cleaned["start_date"] == "2024-06-01" and cleaned["end_date"] == "2025-05-31"
    assert cleaned["monthly_rent"] == 2500.5
    assert json.loads(json.dumps(cleaned, ensure_ascii=False)) == cleaned


def test_rental_all_errors_at_once(rental):
    data = {**RENTAL_OK, "tenant_id_number": "46010619980130", "start_date": "2024-02-30",
            "monthly_rent": -1, "phone": "1387654321"}
    del data["address"]
    errors = errors_of(rental, data)
    assert set(errors) == {"tenant_id_number", "start_date", "monthly_rent", "phone", "address"}
    assert errors["address"] == ["必填 required"]
    assert errors["monthly_rent"] == ["不能小于0 must be at least 0"]
    assert "YYYY-MM-DD" in errors["start_date"][0]


def test_rental_cert_no_length(rental):
    assert "property_cert_no" in errors_of(rental, {**RENTAL_OK, "property_cert_no": "证" * 41})


# --- component kinds -------------------------------------------------------------------

def test_number_integer_and_float():
    form = load_form(form_of({"type": "number", "key": "people", "decimalDigits": 0,
                              "validate": {"min": 1, "max": 9}},
                             {"type": "number", "key": "area", "validate": {"required": True}}))
    assert form.validate({"people": "3", "area": 60}) == {"people": 3, "area": 60.0}
    errors = errors_of(form, {"people": 2.5, "area": True})
    assert set(errors) == {"people", "area"}
    assert errors_of(form, {"people": 10, "area": 1}) == {"people": ["不能大于9 must be at most 9"]}


def test_choices_checkbox_and_checklist():
    values = [{"label": "是", "value": "yes"}, {"label": "否", "value": "no"}]
    form = load_form(form_of({"type": "select", "key": "kind", "values": values,
                              "validate": {"required": True}},
                             {"type": "radio", "key": "answer", "values": values},
                             {"type": "checklist", "key": "tags", "values": values},
                             {"type": "checkbox", "key": "consent", "validate": {"required": True}},
                             {"type": "textarea", "key": "notes"}))
    cleaned = form.validate({"kind": "yes", "answer": "no", "tags": ["yes"], "consent": True, "notes": " x "})
    assert cleaned == {"kind": "yes", "answer": "no", "tags": ["yes"], "consent": True, "notes": "x"}
    errors = errors_of(form, {"kind": "maybe", "tags": ["yes", "maybe"], "consent": False})
    assert set(errors) == {"kind", "tags", "consent"}
    assert errors["consent"] == ["必填 required"]
    assert errors["tags"][0].startswith("第2项")


def test_credit_code_format_and_display_components_ignored():
    form = load_form(form_of({"type": "text", "text": "说明"}, {"type": "spacer"}, {"type": "separator"},
                             {"type": "image", "source": "x.png"}, {"type": "html", "content": "<b>x</b>"},
                             textfield("uscc", properties={"format": "credit_code"})))
    assert form.fields == ["uscc"]
    assert form.validate({"uscc": " 91350100m000100y43 "}) == {"uscc": "91350100M000100Y43"}
    assert "uscc" in errors_of(form, {"uscc": "91350100M000100Y44"})


def test_datetime_subtypes_serialise_to_iso():
    form = load_form(form_of({"type": "datetime", "key": "day", "subtype": "date"},
                             {"type": "datetime", "key": "at", "subtype": "datetime"}))
    assert form.validate({"day": "2024-05-01", "at": "2024-05-01T09:30:00"}) == {
        "day": "2024-05-01", "at": "2024-05-01T09:30:00"}


def test_pattern_behaves_like_javascript_regexp():
    form = load_form(form_of(textfield("code", validate={"pattern": "\\d{3}"})))
    assert form.validate({"code": "ab123"}) == {"code": "ab123"}  # RegExp.test searches
    assert "code" in errors_of(form, {"code": "１２３"})  # JS \d is ASCII only


def test_load_form_accepts_a_mapping_and_text():
    definition = form_of(textfield("name"))
    assert load_form(definition).fields == load_form(json.dumps(definition)).fields == ["name"]


# --- definition errors -----------------------------------------------------------------

def test_bad_json_names_the_line():
    problems = problems_of('{\n  "id": "x",\n  "components": [,]\n}')
    assert len(problems) == 1 and "line 3" in problems[0]


def test_top_level_must_be_an_object():
    assert "JSON object" in problems_of("[]")[0]


def test_missing_components():
    assert problems_of({"type": "default", "id": "x"}) == ["missing 'components' list"]


def test_missing_form_id():
    assert "missing form 'id'" in problems_of({"components": [textfield("a")]})


def test_component_without_key():
    problems = problems_of(form_of({"type": "textfield", "id": "Field_1", "label": "姓名"}))
    assert problems == ["components[0] (Field_1): textfield component has no 'key'"]


def test_dotted_key_is_refused():
    assert "plain identifier" in problems_of(form_of(textfield("a.b")))[0]


def test_duplicate_key():
    problems = problems_of(form_of(textfield("name"), textfield("name")))
    assert problems == ["components[1] (name): duplicate key 'name'"]


def test_unknown_type():
    assert "unknown component type 'signature'" in problems_of(form_of({"type": "signature", "key": "s"}))[0]


def test_group_unsupported():
    problem = problems_of(form_of({"type": "group", "id": "Group_1", "components": [textfield("a")]}))[0]
    assert "'group' is not supported" in problem and "Group_1" in problem


def test_unknown_format():
    problem = problems_of(form_of(textfield("x", properties={"format": "passport"})))[0]
    assert "unknown format 'passport'" in problem


def test_format_only_on_textfield():
    problem = problems_of(form_of({"type": "number", "key": "n", "properties": {"format": "phone"}}))[0]
    assert "only allowed on a textfield" in problem


def test_bad_regex_pattern():
    problem = problems_of(form_of(textfield("x", validate={"pattern": "([a-z"})))[0]
    assert problem.startswith("components[0] (x): invalid regex pattern")


def test_select_needs_static_values():
    problem = problems_of(form_of({"type": "select", "key": "s", "valuesKey": "options"}))[0]
    assert "values" in problem


def test_bad_validate_options():
    problems = problems_of(form_of({"type": "number", "key": "n", "validate": {"min": "zero"}},
                                   textfield("t", validate={"maxLength": -1})))
    assert len(problems) == 2
    assert "validate.min" in problems[0] and "validate.maxLength" in problems[1]


def test_conditional_is_refused_rather_than_ignored():
    problem = problems_of(form_of(textfield("x", conditional={"hide": "=true"})))[0]
    assert "conditional" in problem


def test_all_problems_reported_together():
    problems = problems_of(form_of(textfield("a"), {"type": "textfield"}, textfield("a"),
                                   {"type": "bogus", "key": "b"}))
    assert len(problems) == 3


def test_unsupported_validation_type_is_refused():
    problem = problems_of(form_of(textfield("mail", validate={"validationType": "email"})))[0]
    assert "validationType 'email'" in problem


def test_form_js_phone_validation_type_means_mainland_mobile():
    form = load_form(form_of(textfield("tel", validate={"validationType": "phone"})))
    assert form.validate({"tel": "13800138000"}) == {"tel": "13800138000"}
    assert "tel" in errors_of(form, {"tel": "+44 20 7946 0000"})


def test_reserved_key_and_missing_type():
    problems = problems_of(form_of(textfield("Meta"), {"key": "no_type"}))
    assert "reserved" in problems[0] and "missing component 'type'" in problems[1]


def test_schema_method_names_are_fine_as_keys():
    form = load_form(form_of(textfield("load"), textfield("validate"), textfield("fields")))
    data = {"load": "a", "validate": "b", "fields": "c"}
    assert form.validate(data) == data


# --- dynamiclist, defaults, data choices, date labels ---------------------------------

def dynamiclist(path="people", children=None, **extra) -> dict:
    """A dynamiclist as the form-js 1.x editor saves one."""
    return {"type": "dynamiclist", "id": "List_1", "path": path, "label": "家庭成员", "isRepeating": True,
            "allowAddRemove": True, "defaultRepetitions": 1, "showOutline": True,
            "components": children if children is not None else [
                {"type": "text", "id": "Text_1", "text": "成员"},
                textfield("name", validate={"required": True, "maxLength": 5}),
                {"type": "number", "key": "age", "label": "年龄", "decimalDigits": 0},
                {"type": "datetime", "key": "born", "subtype": "date", "dateLabel": "出生日期"}],
            **extra}


def test_dynamiclist_is_a_list_of_objects_each_checked_by_its_components():
    form = load_form(form_of(textfield("note"), dynamiclist()))
    assert form.fields == ["note", "people"]
    cleaned = form.validate({"people": [{"name": " 王 ", "age": "7", "born": "2019-01-02"}, {"name": "李"}]})
    assert cleaned == {"people": [{"name": "王", "age": 7, "born": "2019-01-02"}, {"name": "李"}]}
    json.dumps(cleaned)  # dates inside items are ISO text too
    assert form.validate({"people": []}) == {}  # optional without properties.minItems: [] means not answered


def test_dynamiclist_errors_are_located_by_item_and_field():
    form = load_form(form_of(dynamiclist()))
    errors = errors_of(form, {"people": [{"name": "王", "age": 1.5}, "x", {"extra": 1}, {"name": "名" * 6}]})
    assert errors == {"people.0.age": ["请输入整数 not a valid integer"],
                      "people.1": ["每一项必须是对象 each item must be an object"],
                      "people.2.name": ["必填 required"], "people.2.extra": ["未知字段 unknown field"],
                      "people.3.name": ["最多5个字符 must have at most 5 characters"]}
    assert errors_of(form, {"people": {"name": "王"}}) == {"people": ["必须是列表 must be a list"]}


def test_dynamiclist_length_comes_from_its_properties_or_a_default_limit():
    bounded = load_form(form_of(dynamiclist(properties={"minItems": 1, "maxItems": "2"})))  # the editor saves text
    assert errors_of(bounded, {}) == {"people": ["必填 required"]}
    assert errors_of(bounded, {"people": [{"name": "王"}] * 3}) == {"people": ["最多2项 must have at most 2 items"]}
    unbounded = load_form(form_of(dynamiclist()))
    assert unbounded.validate({"people": [{"name": "王"}] * MAX_ITEMS})
    assert errors_of(unbounded, {"people": [{"name": "王"}] * (MAX_ITEMS + 1)}) == {
        "people": [f"最多{MAX_ITEMS}项 must have at most {MAX_ITEMS} items"]}


@pytest.mark.parametrize("component, says", [
    (dynamiclist(isRepeating=False), "must repeat"),
    (dynamiclist(path="a.b"), "plain identifier"),
    ({**dynamiclist(), "path": None}, "has no 'path'"),
    (dynamiclist(children=[{"type": "text", "text": "x"}]), "at least one input component"),
    (dynamiclist(children=[dynamiclist("inner")]), "inside a dynamiclist"),
    (dynamiclist(children=[textfield("id", properties={"format": "resident_id"})]), "personal data"),
    (dynamiclist(properties={"minItems": 3, "maxItems": 2}), "more than properties.maxItems"),
    (dynamiclist(properties={"maxItems": "many"}), "properties.maxItems"),
    (dynamiclist(conditional={"hide": "=true"}), "'conditional'"),
])
def test_a_dynamiclist_that_cannot_be_enforced_is_refused(component, says):
    assert says in problems_of(form_of(component))[0]


def test_a_broken_item_component_is_named_inside_its_list():
    problems = problems_of(form_of(dynamiclist(children=[textfield("name"), {"type": "bogus", "key": "b"}])))
    assert problems == ["components[0] (people).components[1] (b): unknown component type 'bogus'"]


def test_list_key_and_field_key_share_one_namespace():
    assert "duplicate key 'people'" in problems_of(form_of(textfield("people"), dynamiclist()))[0]


def test_default_value_is_the_answer_when_none_is_given():
    form = load_form(form_of({"type": "textarea", "key": "comment", "defaultValue": ""},
                             {"type": "number", "key": "copies", "decimalDigits": 0, "defaultValue": "2"},
                             {"type": "checklist", "key": "tags", "defaultValue": [],
                              "values": [{"label": "是", "value": "yes"}]},
                             {"type": "number", "key": "floor", "defaultValue": ""},
                             textfield("name", validate={"required": True}, defaultValue="王")))
    cleaned = form.validate({"name": "李", "comment": "   "})
    assert cleaned == {"name": "李", "comment": "", "copies": 2, "tags": []}  # a blank number default: none
    cleaned["tags"].append("yes")
    assert form.validate({"name": "李"})["tags"] == []  # each answer gets its own copy
    assert errors_of(form, {}) == {"name": ["必填 required"]}  # a required field's default only pre-fills the page


def test_a_default_value_that_is_no_valid_answer_is_refused():
    problem = problems_of(form_of(textfield("code", validate={"pattern": "^[0-9]+$"}, defaultValue="abc")))[0]
    assert problem.startswith("components[0] (code): defaultValue 'abc' is not a valid answer")


def test_data_choices_only_where_the_caller_checks_them():
    checklist = {"type": "checklist", "key": "missing", "valuesKey": "materials", "properties": {"maxItems": 2}}
    assert "values" in problems_of(form_of(checklist))[0]
    form = load_form(form_of(checklist), data_choices=True)
    assert form.validate({"missing": [" 申请书 ", "身份证"]}) == {"missing": ["申请书", "身份证"]}
    assert errors_of(form, {"missing": ["a", "b", "c"]}) == {"missing": ["最多2项 must have at most 2 items"]}
    assert "missing" in errors_of(form, {"missing": ["x" * (MAX_CHOICE_LENGTH + 1)]})
    assert "values" in problems_of(form_of({"type": "select", "key": "s", "valuesExpression": "=options"}))[0]


def test_a_date_is_labelled_by_its_date_label():
    component = {"type": "datetime", "key": "day", "subtype": "date", "dateLabel": "开始日期"}
    assert label_of(component) == "开始日期"
    assert label_of({"type": "datetime", "key": "at", "subtype": "time", "timeLabel": "时间"}) == "时间"
    assert label_of(textfield("name", label="姓名")) == "姓名"
    form = load_form(form_of(component))
    assert form_json_schema(form, "t")["properties"]["day"]["title"] == "开始日期"


@pytest.mark.parametrize("path", sorted(FORMS_DIR.glob("*.form.json")), ids=lambda path: path.name)
def test_shipped_dates_carry_the_label_form_js_shows(path):
    components = json.loads(path.read_text(encoding="utf-8"))["components"]
    for component in components:
        if component["type"] == "datetime":
            assert component.get("dateLabel") and "label" not in component, component["key"]


def test_a_dynamiclist_is_published_as_an_array_of_objects():
    published = form_json_schema(load_form(form_of(dynamiclist(properties={"minItems": 1}))), "t")
    people = published["properties"]["people"]
    assert (people["type"], people["minItems"], people["maxItems"]) == ("array", 1, MAX_ITEMS)
    assert people["items"]["required"] == ["name"] and people["items"]["additionalProperties"] is False
    assert people["items"]["properties"]["born"] == {"title": "出生日期", "type": "string", "format": "date"}
    assert published["required"] == ["people"] and published["examples"] == [{"people": [{"name": "name"}]}]
