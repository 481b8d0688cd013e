"""Application forms: bpmn.io form-js schema JSON turned into marshmallow validation.

Forms are authored in the form-js editor, so the JSON it saves is the single source of
truth; this module builds one marshmallow Schema per form so the server checks every
submission the same way whatever the browser did. Only the components and options we can
enforce are accepted: anything else is a FormDefinitionError at deploy time rather than
a rule that silently does nothing for applicants.

The same compiler loads the applicant forms (申请表, forms/*.form.json) and the task forms
clerks fill (办理表单, forms/tasks/*.form.json: engine/definitions/task_forms.py). Besides the
plain input components it takes:

- ``dynamiclist`` (动态列表): a list of objects under its ``path``, each item checked by the
  list's own ``components`` (plain inputs; no list inside a list, no personal data, which
  engine/oversight/privacy.py could not mask there). ``properties.minItems`` (a list with
  one or more is required) and ``properties.maxItems`` (else MAX_ITEMS) bound its length.
  An item's errors are keyed by where they are: ``materials.0.name``.
- ``defaultValue`` on an optional field: the answer when none is given (form-js shows it
  when the data has none); it must itself be a valid answer, or be empty ("" or []).
- ``valuesKey`` options (supplied with the data the form is shown with) only where the
  caller asks for them (``data_choices``) because it checks the answer against those
  options itself; each answer is then a short text.
"""
from __future__ import annotations

import copy
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from functools import partial
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load

from forms.characters import text_problem
from forms.identifiers import credit_code_problem, normalise_resident_id, resident_id_problem
from forms.personal import PersonalKind, personal_kind, personal_problem
from forms.numeric import MAX_MAGNITUDE, SIGNIFICANT_DIGITS, WHOLE_NUMBER, number_problem, parse_number

__all__ = ["Form", "FormDefinitionError", "FormValidationError", "answer_key", "label_of", "load_form",
           "load_form_file"]

REQUIRED = "必填 required"
UNKNOWN_FIELD = "未知字段 unknown field"
PHONE_PATTERN = re.compile(r"^1[3-9][0-9]{9}$")
KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_KEYS = frozenset({"Meta"})  # Schema.from_dict puts its own Meta class under this name

DISPLAY_TYPES = frozenset({"text", "spacer", "separator", "image", "html", "button", "iframe", "table"})
UNSUPPORTED_TYPES = frozenset({"group", "taglist", "filepicker", "expression"})
LIST_TYPE = "dynamiclist"
MAX_ITEMS = 100  # items of a dynamiclist (or a checklist of data choices) without properties.maxItems
MAX_CHOICE_LENGTH = 200  # characters of one data choice (valuesKey)
STRING_TYPES = frozenset({"textfield", "textarea"})
MULTILINE_TYPES = frozenset({"textarea"})  # may hold line breaks and tabs
CHOICE_TYPES = frozenset({"select", "radio", "checklist"})
INPUT_TYPES = STRING_TYPES | CHOICE_TYPES | {"number", "checkbox", "datetime"}
FORMATS = frozenset({"resident_id", "credit_code", "phone"})
DATETIME_SUBTYPES = {
    "date": (fields.Date, "日期格式应为YYYY-MM-DD invalid date"),
    "time": (fields.Time, "时间格式应为HH:MM invalid time"),
    "datetime": (fields.DateTime, "日期时间格式无效 invalid date-time"),
}

Validator = Callable[[Any], None]


class FormDefinitionError(Exception):
    """The form JSON cannot be used; ``problems`` lists every defect found, one per entry."""

    def __init__(self, filename: str, problems: list[str]) -> None:
        self.filename = filename
        self.problems = problems
        super().__init__(f"{filename}: " + "; ".join(problems))


class FormValidationError(Exception):
    """A submission has errors; ``errors`` maps field key -> messages for all fields at once."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("表单有误 the form has errors: " + json.dumps(errors, ensure_ascii=False))


class _ComponentProblem(Exception):
    """One defect in one component; collected by load_form into FormDefinitionError."""


# --- fields and validators -------------------------------------------------------------

class _Text(fields.String):
    """A string with surrounding whitespace removed: applicants paste IDs with spaces."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


class _ResidentId(_Text):
    """A resident ID, normalised (trailing x -> X) so lookups by ID number match."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return normalise_resident_id(super()._deserialize(value, attr, data, **kwargs))


class _CreditCode(_Text):
    """A unified social credit code, upper-cased as registries store it."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).upper()


class _Number(fields.Field):
    """A form-js number, held exactly as given (the rule is forms/numeric.py's): an int when
    the field takes whole numbers (``places`` 0), else a float."""

    def __init__(self, places: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.places = places

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | float:
        try:
            number = parse_number(value)
        except ValueError as exc:
            raise self.make_error("invalid") from exc
        problem = number_problem(number, self.places)
        if problem is not None:
            raise ValidationError(problem)
        return int(number) if self.places == 0 else float(number)


def _check(problem: Callable[[Any], str | None]) -> Validator:
    """Wrap a ``*_problem`` function as a validator; marshmallow 4 needs a raise, not False."""
    def validator(value: Any) -> None:
        message = problem(value)
        if message is not None:
            raise ValidationError(message)
    return validator


def _phone_problem(value: str) -> str | None:
    if PHONE_PATTERN.match(value):
        return None
    return "手机号码应为11位大陆手机号 must be an 11-digit mainland mobile number"


def _pattern(regex: re.Pattern[str]) -> Validator:
    """Validate like form-js: RegExp.test is a search, and JS \\d is ASCII (hence re.ASCII)."""
    return _check(lambda value: None if regex.search(value) else "格式不正确 does not match the required pattern")


def _length(minimum: int | None, maximum: int | None) -> Validator:
    def problem(value: str) -> str | None:
        if minimum is not None and len(value) < minimum:
            return f"至少{minimum}个字符 must have at least {minimum} characters"
        if maximum is not None and len(value) > maximum:
            return f"最多{maximum}个字符 must have at most {maximum} characters"
        return None
    return _check(problem)


def _range(minimum: float | None, maximum: float | None) -> Validator:
    def problem(value: float) -> str | None:
        if minimum is not None and value < minimum:
            return f"不能小于{minimum} must be at least {minimum}"
        if maximum is not None and value > maximum:
            return f"不能大于{maximum} must be at most {maximum}"
        return None
    return _check(problem)


def _item_count(minimum: int, maximum: int) -> Validator:
    def problem(items: list) -> str | None:
        if len(items) < minimum:
            return f"至少{minimum}项 must have at least {minimum} items"
        if len(items) > maximum:
            return f"最多{maximum}项 must have at most {maximum} items"
        return None
    return _check(problem)


def _one_of(choices: list[Any]) -> Validator:
    message = "必须是以下之一：" + "、".join(str(choice) for choice in choices) + " must be one of the listed values"
    return _check(lambda value: None if value in choices else message)


def _must_be_checked(value: bool) -> None:
    """form-js treats an unchecked required checkbox as missing (e.g. 承诺书 consent)."""
    if value is not True:
        raise ValidationError(REQUIRED)


# --- component -> marshmallow field ----------------------------------------------------

def _messages(invalid: str) -> dict[str, str]:
    return {"required": REQUIRED, "null": REQUIRED, "invalid": invalid}


def _number_option(validate: Mapping[str, Any], name: str) -> float | None:
    value = validate.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _ComponentProblem(f"validate.{name} must be a number, got {value!r}")
    if abs(value) > MAX_MAGNITUDE:
        raise _ComponentProblem(f"validate.{name} {value!r} lies beyond ±10^15, "
                                "more than a number field can hold exactly")
    return value


def _length_option(validate: Mapping[str, Any], name: str) -> int | None:
    value = validate.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _ComponentProblem(f"validate.{name} must be a non-negative integer, got {value!r}")
    return value


_FORMAT_RULES: dict[str, tuple[type[_Text], Callable[[Any], str | None]]] = {
    "resident_id": (_ResidentId, resident_id_problem),
    "credit_code": (_CreditCode, credit_code_problem),
    "phone": (_Text, _phone_problem),
}


def _properties(component: Mapping[str, Any]) -> Mapping[str, Any]:
    properties = component.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise _ComponentProblem("'properties' must be an object")
    return properties


def _format(component: Mapping[str, Any], validate: Mapping[str, Any]) -> str | None:
    """properties.format, or form-js's own validate.validationType 'phone' (mainland mobile here)."""
    fmt = _properties(component).get("format")
    validation_type = validate.get("validationType")
    if validation_type not in (None, "", "phone"):
        raise _ComponentProblem(f"unsupported validate.validationType {validation_type!r}")
    if fmt is None and validation_type == "phone":
        fmt = "phone"
    if fmt is not None and fmt not in FORMATS:
        raise _ComponentProblem(f"unknown format {fmt!r}; expected one of {sorted(FORMATS)}")
    if fmt is not None and component.get("type") != "textfield":
        raise _ComponentProblem(f"format {fmt!r} is only allowed on a textfield")
    return fmt


def _pattern_option(validate: Mapping[str, Any]) -> re.Pattern[str] | None:
    pattern = validate.get("pattern")
    if pattern in (None, ""):
        return None
    try:
        return re.compile(str(pattern), re.ASCII)
    except re.error as exc:
        raise _ComponentProblem(f"invalid regex pattern {pattern!r}: {exc}") from exc


def _string_field(validate: Mapping[str, Any], fmt: str | None, required: bool,
                  multiline: bool) -> fields.Field:
    validators: list[Validator] = [_check(lambda value: text_problem(value, multiline))]
    minimum, maximum = _length_option(validate, "minLength"), _length_option(validate, "maxLength")
    if minimum is not None or maximum is not None:
        validators.append(_length(minimum, maximum))
    regex = _pattern_option(validate)
    if regex is not None:
        validators.append(_pattern(regex))
    field_class = _Text
    if fmt is not None:
        field_class, problem = _FORMAT_RULES[fmt]
        validators.append(_check(problem))
    return field_class(required=required, validate=validators,
                       error_messages=_messages("必须是文本 must be text"))


def _decimal_places(component: Mapping[str, Any]) -> int | None:
    """form-js ``decimalDigits`` (0 with ``properties.integer``); None where it is not declared."""
    places = component.get("decimalDigits")
    if places is not None and (isinstance(places, bool) or not isinstance(places, int)
                               or not 0 <= places <= SIGNIFICANT_DIGITS):
        raise _ComponentProblem(f"decimalDigits must be an integer from 0 to {SIGNIFICANT_DIGITS}, got {places!r}")
    return 0 if _properties(component).get("integer") else places


def _number_field(component: Mapping[str, Any], validate: Mapping[str, Any], required: bool) -> fields.Field:
    minimum, maximum = _number_option(validate, "min"), _number_option(validate, "max")
    validators = [_range(minimum, maximum)] if minimum is not None or maximum is not None else []
    places = _decimal_places(component)
    invalid = WHOLE_NUMBER if places == 0 else "请输入数字 not a valid number"
    return _Number(places, required=required, validate=validators, error_messages=_messages(invalid))


def _choices(component: Mapping[str, Any]) -> list[Any]:
    values = component.get("values")
    if not isinstance(values, list) or not values:
        raise _ComponentProblem("needs a non-empty static 'values' list "
                                "(valuesKey/valuesExpression are not supported)")
    choices = []
    for position, item in enumerate(values):
        if not isinstance(item, Mapping) or "value" not in item:
            raise _ComponentProblem(f"values[{position}] must be an object with 'label' and 'value'")
        choices.append(item["value"])
    return choices


def _count_option(component: Mapping[str, Any], name: str, default: int) -> int:
    """properties.minItems / maxItems: a whole number, also as the digits the form-js editor
    saves a custom property as."""
    value = _properties(component).get(name, default)
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _ComponentProblem(f"properties.{name} must be a non-negative integer, got {value!r}")
    return value


def has_data_choices(component: Mapping[str, Any]) -> bool:
    """Whether the options come with the data the form is shown with (form-js ``valuesKey``)."""
    return "values" not in component and isinstance(component.get("valuesKey"), str) and bool(component["valuesKey"])


def _data_choice(required: bool = False) -> fields.Field:
    """One answer among options the server does not know (valuesKey): a short line of text;
    the caller that asked for data choices checks it against the options."""
    return _Text(required=required, validate=[_check(text_problem), _length(1, MAX_CHOICE_LENGTH)],
                 error_messages=_messages("必须是文本 must be text"))


def _choice_field(component: Mapping[str, Any], required: bool, data_choices: bool) -> fields.Field:
    checklist = component["type"] == "checklist"
    if data_choices and has_data_choices(component):
        if not checklist:
            return _data_choice(required)
        return fields.List(_data_choice(), required=required,
                           validate=_item_count(0, _count_option(component, "maxItems", MAX_ITEMS)),
                           error_messages=_messages("必须是列表 must be a list"))
    choices = _choices(component)
    if not checklist:
        return fields.Raw(required=required, validate=_one_of(choices),
                          error_messages=_messages("无效 invalid"))
    item = fields.Raw(validate=_one_of(choices))
    return fields.List(item, required=required, error_messages=_messages("必须是列表 must be a list"))


def _datetime_field(component: Mapping[str, Any], required: bool) -> fields.Field:
    subtype = component.get("subtype", "date")
    if subtype not in DATETIME_SUBTYPES:
        raise _ComponentProblem(f"unknown datetime subtype {subtype!r}; "
                                f"expected one of {sorted(DATETIME_SUBTYPES)}")
    field_class, invalid = DATETIME_SUBTYPES[subtype]
    return field_class(required=required, error_messages=_messages(invalid))


def _build_field(component: Mapping[str, Any], data_choices: bool) -> fields.Field:
    """Translate one input component (type already checked) into a marshmallow field."""
    validate = component.get("validate") or {}
    if not isinstance(validate, Mapping):
        raise _ComponentProblem("'validate' must be an object")
    required = validate.get("required") is True
    return _with_default(component, _input_field(component, validate, required, data_choices), required)


def _input_field(component: Mapping[str, Any], validate: Mapping[str, Any], required: bool,
                 data_choices: bool) -> fields.Field:
    if "conditional" in component:
        raise _ComponentProblem("'conditional' (FEEL show/hide) is not supported yet")
    kind = component["type"]
    fmt = _format(component, validate)  # also refuses a format on a non-textfield
    problem = personal_problem(component)
    if problem is not None:
        raise _ComponentProblem(problem)
    if kind in STRING_TYPES:
        return _string_field(validate, fmt, required, multiline=kind in MULTILINE_TYPES)
    if kind == "number":
        return _number_field(component, validate, required)
    if kind in CHOICE_TYPES:
        return _choice_field(component, required, data_choices)
    if kind == "checkbox":
        return fields.Boolean(required=required, validate=_must_be_checked if required else None,
                              error_messages=_messages("必须是真或假 must be true or false"))
    return _datetime_field(component, required)


def _with_default(component: Mapping[str, Any], built: fields.Field, required: bool) -> fields.Field:
    """form-js ``defaultValue`` on an optional field: the answer when none is given, so data
    always holds it (a gateway reads ``review['comment']`` whatever the clerk left blank).
    An empty default ("", []) makes a text "" and a list [] (on any other field it is no
    default); any other must be a valid answer itself. On a required field it only
    pre-fills the page: the answer is still required."""
    default = component.get("defaultValue")
    if default is None or required:
        return built
    if _is_blank(default):
        empty = "" if component["type"] in STRING_TYPES else [] if isinstance(built, fields.List) else None
        if empty is None:
            return built
        default = empty
    else:
        try:
            default = _jsonable(built.deserialize(default))
        except ValidationError as exc:
            raise _ComponentProblem(f"defaultValue {default!r} is not a valid answer: "
                                    + "; ".join(_flatten(exc.messages))) from exc
    built.load_default = partial(copy.deepcopy, default)  # a fresh copy per answer: lists are not shared
    return built


# --- schema ----------------------------------------------------------------------------

class _FormSchema(Schema):
    """Base for generated schemas: unknown keys refused, blank answers treated as not given."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": UNKNOWN_FIELD, "type": "表单数据必须是对象 form data must be an object"}

    @pre_load
    def _drop_blank(self, data: Any, **_kwargs: Any) -> Any:
        """form-js submits '' / null / [] for untouched fields; they mean 'not answered'."""
        if not isinstance(data, Mapping):
            return data
        return {key: value for key, value in data.items() if not _is_blank(value)}


def _is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list) and not value


def _flatten(messages: Any) -> list[str]:
    """Turn marshmallow's nested messages (checklist item errors come keyed by index) into strings."""
    if isinstance(messages, Mapping):
        return [f"第{index + 1}项 item {index + 1}: {text}" if isinstance(index, int) else text
                for index, inner in messages.items() for text in _flatten(inner)]
    if isinstance(messages, list):
        return [text for inner in messages for text in _flatten(inner)]
    return [str(messages)]


class _ItemSchema(_FormSchema):
    """One item of a dynamiclist: checked like a form of its own."""

    error_messages = {"unknown": UNKNOWN_FIELD, "type": "每一项必须是对象 each item must be an object"}


def _jsonable(value: Any) -> Any:
    """Dates/times as ISO strings so cleaned data can be stored as JSON and read by rules;
    a dynamiclist's items likewise."""
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


@dataclass
class Form:
    """A loaded form: its raw form-js components and the marshmallow schema built from them."""

    id: str
    components: list[dict]
    schema: Schema = field(repr=False, compare=False)

    @property
    def fields(self) -> list[str]:
        """Keys of the input components, in form order."""
        return list(self.schema.fields)

    @property
    def personal(self) -> dict[str, PersonalKind]:
        """The keys of the answers that are personal data, with what each holds (forms/personal.py)."""
        return {c["key"]: kind for c in self.components if "key" in c and c.get("type") not in DISPLAY_TYPES
                and (kind := personal_kind(c)) is not None}

    def validate(self, data: Mapping) -> dict:
        """Return cleaned, JSON-serialisable data or raise FormValidationError with every error."""
        if not isinstance(data, Mapping):
            raise FormValidationError({"_schema": ["表单数据必须是对象 form data must be an object"]})
        try:
            loaded = self.schema.load(dict(data))
        except ValidationError as exc:
            raise FormValidationError(_error_dict(exc.messages)) from exc
        return {key: _jsonable(value) for key, value in loaded.items()}


def _error_dict(messages: Any) -> dict[str, list[str]]:
    if not isinstance(messages, Mapping):
        return {"_schema": _flatten(messages)}
    errors: dict[str, list[str]] = {}
    for key, value in messages.items():
        errors.update(_located(str(key), value))
    return errors


def _located(key: str, messages: Any) -> dict[str, list[str]]:
    """A dynamiclist's errors come nested by item index and field: each gets its own key,
    ``materials.0.name`` (an item that is no object: ``materials.0``). Anything else is the
    field's own list of messages (a checklist's item errors name the item in the text)."""
    nested = isinstance(messages, Mapping) and messages and all(isinstance(item, Mapping) for item in messages.values())
    if not nested:
        return {key: _flatten(messages)}
    located: dict[str, list[str]] = {}
    for index, item in messages.items():
        for name, inner in item.items():
            located.update(_located(f"{key}.{index}" if name == "_schema" else f"{key}.{index}.{name}", inner))
    return located


# --- loading ---------------------------------------------------------------------------

def _parse(source: str | Mapping, filename: str) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    try:
        document = json.loads(source)
    except json.JSONDecodeError as exc:
        problem = f"JSON 无效 invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise FormDefinitionError(filename, [problem]) from exc
    except RecursionError as exc:  # hostile input: nesting deeper than the parser's stack
        raise FormDefinitionError(filename, ["JSON nested too deeply 嵌套层级过深"]) from exc
    if not isinstance(document, Mapping):
        raise FormDefinitionError(filename, ["top level must be a JSON object (a form-js schema)"])
    return document


def _where(index: int, component: Any) -> str:
    """Name a component so an author can find it in the editor."""
    if not isinstance(component, Mapping):
        return f"components[{index}]"
    label = component.get("key") or component.get("path") or component.get("id")
    return f"components[{index}] ({label})" if label else f"components[{index}]"


def answer_key(component: Mapping[str, Any]) -> Any:
    """Where a component's answer goes in the data: an input's ``key``, a dynamiclist's ``path``."""
    return component.get("path") if component.get("type") == LIST_TYPE else component.get("key")


def label_of(component: Mapping[str, Any]) -> str | None:
    """The name a person reads on the page: form-js shows a datetime's ``dateLabel`` (or
    ``timeLabel`` for a time), not its ``label``; every other component its ``label``."""
    if component.get("type") == "datetime":
        return component.get("dateLabel") or component.get("timeLabel") or component.get("label")
    return component.get("label")


@dataclass
class _Loading:
    """What one load_form call allows, and the problems it has found so far."""

    data_choices: bool
    problems: list[str] = field(default_factory=list)


def _schema_fields(components: list, where: str, loading: _Loading, in_list: bool = False) -> dict[str, fields.Field]:
    """The fields of a form's components (or of a dynamiclist's items); a broken component
    adds its problem to ``loading`` and no field."""
    built: dict[str, fields.Field] = {}
    seen: set[str] = set()
    for index, component in enumerate(components):
        place = where + _where(index, component)
        try:
            named = _component_field(component, seen, place, loading, in_list)
        except _ComponentProblem as exc:
            loading.problems.append(f"{place}: {exc}")
            continue
        if named is not None:
            built[named[0]] = named[1]
    return built


def _answer_name(component: Mapping[str, Any], kind: str, seen: set[str]) -> str:
    name = "path" if kind == LIST_TYPE else "key"
    key = component.get(name)
    if not isinstance(key, str) or not key:
        raise _ComponentProblem(f"{kind} component has no {name!r}")
    if not KEY_PATTERN.match(key):
        raise _ComponentProblem(f"{name} {key!r} must be a plain identifier (letters, digits, _; no dots)")
    if key in RESERVED_KEYS:
        raise _ComponentProblem(f"{name} {key!r} is reserved (it would replace the schema's Meta options)")
    if key in seen:
        raise _ComponentProblem(f"duplicate key {key!r}")
    seen.add(key)
    return key


def _component_field(component: Any, seen: set[str], where: str, loading: _Loading,
                     in_list: bool) -> tuple[str, fields.Field] | None:
    """Field for one component; None for display-only components; _ComponentProblem if broken."""
    if not isinstance(component, Mapping):
        raise _ComponentProblem("must be an object")
    kind = component.get("type")
    if not isinstance(kind, str):
        raise _ComponentProblem("missing component 'type'")
    if kind in DISPLAY_TYPES:
        return None
    if kind in UNSUPPORTED_TYPES:
        raise _ComponentProblem(f"component type {kind!r} is not supported yet")
    if kind == LIST_TYPE and in_list:
        raise _ComponentProblem("a dynamiclist inside a dynamiclist is not supported yet")
    if kind not in INPUT_TYPES and kind != LIST_TYPE:
        raise _ComponentProblem(f"unknown component type {kind!r}")
    key = _answer_name(component, kind, seen)
    if kind == LIST_TYPE:
        return key, _list_field(component, where, loading)
    built = _build_field(component, loading.data_choices)
    if in_list and personal_kind(component) is not None:
        raise _ComponentProblem("personal data inside a dynamiclist is not supported yet "
                                "(it could not be masked: engine/oversight/privacy.py masks whole answers)")
    return key, built


def _list_field(component: Mapping[str, Any], where: str, loading: _Loading) -> fields.Field:
    """A dynamiclist: a list of objects under its path, each checked by the list's components."""
    if component.get("isRepeating") is not True:
        raise _ComponentProblem("a dynamiclist must repeat ('isRepeating': true); a group is not supported yet")
    for option in ("conditional", "defaultValue"):
        if option in component:
            raise _ComponentProblem(f"{option!r} is not supported on a dynamiclist")
    children = component.get("components")
    if not isinstance(children, list):
        raise _ComponentProblem("a dynamiclist needs its 'components' list")
    minimum = _count_option(component, "minItems", 0)
    maximum = _count_option(component, "maxItems", MAX_ITEMS)
    if minimum > maximum:
        raise _ComponentProblem(f"properties.minItems {minimum} is more than properties.maxItems {maximum}")
    known = len(loading.problems)
    item_fields = _schema_fields(children, f"{where}.", loading, in_list=True)
    if not item_fields and len(loading.problems) == known:
        raise _ComponentProblem("a dynamiclist needs at least one input component")
    item = _ItemSchema.from_dict(item_fields, name=f"Item_{component['path']}")
    return fields.List(fields.Nested(item), required=minimum > 0, validate=_item_count(minimum, maximum),
                       error_messages=_messages("必须是列表 must be a list"))


def load_form(source: str | Mapping, filename: str = "<form>", data_choices: bool = False) -> Form:
    """Load a form-js schema (JSON text or parsed mapping); raise FormDefinitionError listing all problems.

    ``data_choices``: accept choices whose options come with the data (``valuesKey``); only
    for a caller that checks those answers itself (the task forms: engine/definitions/task_forms.py)."""
    document = _parse(source, filename)
    components = document.get("components")
    if not isinstance(components, list):
        raise FormDefinitionError(filename, ["missing 'components' list"])
    loading = _Loading(data_choices)
    form_id = document.get("id")
    if not isinstance(form_id, str) or not form_id:
        loading.problems.append("missing form 'id'")
    schema_fields = _schema_fields(components, "", loading)
    if not schema_fields and not loading.problems:
        loading.problems.append("form has no input components")
    if loading.problems:
        raise FormDefinitionError(filename, loading.problems)
    schema_class = _FormSchema.from_dict(schema_fields, name=f"Form_{form_id}")
    return Form(id=form_id, components=[dict(c) for c in components], schema=schema_class())


def load_form_file(path: str | os.PathLike[str], data_choices: bool = False) -> Form:
    """Load a ``*.form.json`` file; the file name is used in problem messages."""
    with open(path, encoding="utf-8") as handle:
        return load_form(handle.read(), os.fspath(path), data_choices)
