"""A matter's form published as JSON Schema (draft 2020-12), for integrators: what
``GET /api/matters/{code}/schema`` answers and what the OpenAPI document shows for a
submission's ``data``.

It is read off the same form-js components forms/definition.py validates, through the same
readers (required, lengths, patterns, formats, ranges, decimal places, choices), so the two
cannot drift apart; labels become titles (a date's ``dateLabel``), a dynamiclist an array of
objects. It describes canonical answers: the server also
forgives what an applicant's browser does (surrounding spaces, a lower-case x, blank
optional fields, numbers as decimal strings) and checks what a schema cannot say (check
characters, birth dates, region codes, control characters) — the server's 422 is the word.
Keywords are kept to those an OpenAPI 3.0 schema reads too (no ``const``, one ``type``).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

from forms.definition import (CHOICE_TYPES, LIST_TYPE, MAX_CHOICE_LENGTH, MAX_ITEMS, PHONE_PATTERN, STRING_TYPES, Form,
                              _choices, _count_option, _decimal_places, _format, _length_option, _number_option,
                              answer_key, has_data_choices, label_of)
from forms.identifiers import CREDIT_CODE_ALPHABET, make_credit_code, make_resident_id
from forms.numeric import MAX_MAGNITUDE

__all__ = ["DIALECT", "example_answers", "form_json_schema"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
FORMAT_SCHEMAS = {
    "resident_id": {"pattern": "^[0-9]{17}[0-9Xx]$", "description": "18位居民身份证号码"},
    "credit_code": {"pattern": f"^[{CREDIT_CODE_ALPHABET}]{{2}}[0-9]{{6}}[{CREDIT_CODE_ALPHABET}]{{10}}$",
                    "description": "18位统一社会信用代码"},
    "phone": {"pattern": PHONE_PATTERN.pattern, "description": "11位手机号码"},
}
DATETIME_SCHEMAS = {  # by form-js datetime subtype (forms/definition.py DATETIME_SUBTYPES)
    "date": {"format": "date"},
    "time": {"pattern": "^[0-9]{2}:[0-9]{2}(:[0-9]{2})?$"},
    "datetime": {"format": "date-time"},
}
# Answers that pass the server's checks, for the examples integrators try first.
FORMAT_EXAMPLES = {
    "resident_id": make_resident_id("110105", date(1958, 3, 14), "021"),
    "credit_code": make_credit_code("91110105MA01ABCDX"),
    "phone": "13800138000",
}
DATETIME_EXAMPLES = {"date": "2026-03-02", "time": "09:30", "datetime": "2026-03-02T09:30:00+08:00"}


def form_json_schema(form: Form, title: str) -> dict:
    """The form's answers as a JSON Schema object, with one example answer set."""
    inputs = [c for c in form.components if answer_key(c) in form.schema.fields]
    return {
        "$schema": DIALECT, "title": title, "type": "object",
        "properties": {answer_key(c): _property(c) for c in inputs},
        "required": [answer_key(c) for c in inputs if form.schema.fields[answer_key(c)].required],
        "additionalProperties": False,
        "examples": [example_answers(form)],
    }


def _property(component: Mapping[str, Any]) -> dict:
    schema = {"title": label_of(component) or answer_key(component)}
    if component.get("description"):
        schema["description"] = component["description"]
    kind = component["type"]
    if kind == LIST_TYPE:
        return schema | _list(component)
    if kind in STRING_TYPES:
        return schema | _text(component)
    if kind == "number":
        return schema | _number(component)
    if kind in CHOICE_TYPES and has_data_choices(component):
        return schema | _data_choices(component)
    if kind in CHOICE_TYPES:
        choice = {"enum": _choices(component)}
        labels = "；".join(f"{item['value']}：{item.get('label', item['value'])}" for item in component["values"])
        schema["description"] = f"{schema['description']}（{labels}）" if "description" in schema else labels
        return schema | ({"type": "array", "items": choice} if kind == "checklist" else choice)
    if kind == "checkbox":
        return schema | {"type": "boolean"} | ({"enum": [True]} if _validate(component).get("required") else {})
    return schema | {"type": "string"} | DATETIME_SCHEMAS[component.get("subtype", "date")]


def _validate(component: Mapping[str, Any]) -> Mapping[str, Any]:
    return component.get("validate") or {}


def _inputs(component: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A dynamiclist's input components (display components have no key)."""
    return [c for c in component["components"] if c.get("key")]


def _list(component: Mapping[str, Any]) -> dict:
    children = _inputs(component)
    item = {"type": "object", "properties": {c["key"]: _property(c) for c in children},
            "required": [c["key"] for c in children if _validate(c).get("required") is True],
            "additionalProperties": False}
    schema = {"type": "array", "items": item, "maxItems": _count_option(component, "maxItems", MAX_ITEMS)}
    minimum = _count_option(component, "minItems", 0)
    return schema | ({"minItems": minimum} if minimum else {})


def _data_choices(component: Mapping[str, Any]) -> dict:
    """Options that come with the data the form is shown with (valuesKey): any short text here."""
    choice = {"type": "string", "minLength": 1, "maxLength": MAX_CHOICE_LENGTH}
    if component["type"] != "checklist":
        return choice
    return {"type": "array", "items": choice, "maxItems": _count_option(component, "maxItems", MAX_ITEMS)}


def _text(component: Mapping[str, Any]) -> dict:
    validate = _validate(component)
    schema: dict = {"type": "string"}
    for option in ("minLength", "maxLength"):
        if _length_option(validate, option) is not None:
            schema[option] = validate[option]
    fmt = _format(component, validate)
    if fmt is not None:
        schema |= {"pattern": FORMAT_SCHEMAS[fmt]["pattern"]}
        schema.setdefault("description", FORMAT_SCHEMAS[fmt]["description"])
    if validate.get("pattern"):  # form-js patterns are JavaScript regexes, as JSON Schema's are
        schema |= {"allOf": [{"pattern": str(validate["pattern"])}]} if fmt else {"pattern": str(validate["pattern"])}
    return schema


def _number(component: Mapping[str, Any]) -> dict:
    validate = _validate(component)
    minimum, maximum = _number_option(validate, "min"), _number_option(validate, "max")
    places = _decimal_places(component)
    schema = {"type": "integer" if places == 0 else "number",
              "minimum": -MAX_MAGNITUDE if minimum is None else minimum,
              "maximum": MAX_MAGNITUDE if maximum is None else maximum}
    if places:
        schema["description"] = f"最多{places}位小数"
    return schema


def example_answers(form: Form) -> dict:
    """An answer for every required field (and none for the optional ones) that the form
    accepts; a required text field with a pattern of its own gets none (nothing to guess)."""
    return _examples([c for c in form.components if answer_key(c) in form.schema.fields
                      and form.schema.fields[answer_key(c)].required])


def _examples(components: list[Mapping[str, Any]]) -> dict:
    answers = {}
    for component in components:
        answer = _example(component)
        if answer is not None:
            answers[answer_key(component)] = answer
    return answers


def _example(component: Mapping[str, Any]) -> Any:
    kind, validate = component["type"], _validate(component)
    if kind == LIST_TYPE:
        item = _examples([c for c in _inputs(component) if _validate(c).get("required") is True])
        return [item] * max(1, _count_option(component, "minItems", 0))
    if kind in STRING_TYPES:
        fmt = _format(component, validate)
        if fmt is not None:
            return FORMAT_EXAMPLES[fmt]
        label = str(label_of(component) or component["key"])
        return None if validate.get("pattern") else label[:_length_option(validate, "maxLength")]
    if kind == "number":
        minimum = _number_option(validate, "min")
        least = 1 if minimum is None else minimum
        return math.ceil(least) if _decimal_places(component) == 0 else least
    if kind in CHOICE_TYPES and has_data_choices(component):
        return None  # the options come with the data: nothing to guess
    if kind in CHOICE_TYPES:
        first = _choices(component)[0]
        return [first] if kind == "checklist" else first
    if kind == "checkbox":
        return True
    return DATETIME_EXAMPLES[component.get("subtype", "date")]
