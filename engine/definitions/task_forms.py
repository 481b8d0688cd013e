"""Task forms: what a person enters to complete a human task, chosen per BPMN user task.

A user task names its form with the extension property ``taskForm`` (SpiffWorkflow's
``spiffworkflow:properties``); without one it gets ``review``. The validated answer is
put into the workflow's data under the form's name (``review``, ``intake``…), so gateway
conditions read e.g. ``intake['outcome'] == 'supplement'`` — the latest answer of that
form — and under ``answers[<user task id>]``, so every step's answer stays: of two review
steps (or four departments' reviews in parallel, merged at the join) none overwrites
another. Forms are checked at deploy time: a user task naming an unknown form is refused
there, not when a clerk meets it.

Who fills a task is engine/people/assignment.py's matter.
"""
from __future__ import annotations

from typing import Any, Mapping

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from engine.errors import InvalidInput, Problem
from engine.policy.grants import AMOUNT, as_json_number, exact
from engine.store.models import Outcome

DEFAULT_FORM = "review"
ANSWERS = "answers"  # workflow data: user task id -> its answer
REASON_REQUIRED = "请说明理由 a reason is required"


class _TaskForm(Schema):
    class Meta:
        unknown = RAISE


class Amount(fields.Field):
    """A money amount as a JSON number, exactly as given: never rounded or truncated."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | float:
        try:
            return as_json_number(exact(value))
        except InvalidInput as exc:
            raise ValidationError(exc.errors[AMOUNT]) from exc


class ReviewForm(_TaskForm):
    """审核 / 审批: approve or reject; a rejection states its reason."""

    outcome = fields.String(required=True, validate=validate.OneOf([Outcome.APPROVE, Outcome.REJECT]))
    comment = fields.String(load_default="", validate=validate.Length(max=2000))
    amount = Amount(metadata={"description": "核定金额 in yuan, exact (at most two decimals); "
                                            "within what the matter allows (engine/policy/grants.py)"})

    @validates_schema
    def _reason(self, data: dict, **_kwargs: Any) -> None:
        if data.get("outcome") == Outcome.REJECT and not data.get("comment", "").strip():
            raise ValidationError("不予批准须说明理由 a rejection states its reason", "comment")


class IntakeForm(_TaskForm):
    """受理: accept, refuse (不予受理, with the reason), or ask for every missing
    material at once (一次性告知)."""

    outcome = fields.String(required=True, validate=validate.OneOf(["accept", "refuse", "supplement"]))
    comment = fields.String(load_default="", validate=validate.Length(max=2000))
    missing_materials = fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                                    load_default=list, validate=validate.Length(max=50))

    @validates_schema
    def _consistent(self, data: dict, **_kwargs: Any) -> None:
        if data.get("outcome") == "refuse" and not data.get("comment", "").strip():
            raise ValidationError(REASON_REQUIRED, "comment")
        if data.get("outcome") == "supplement" and not data.get("missing_materials"):
            raise ValidationError("一次性告知须列明全部所缺材料 list every missing material", "missing_materials")


class Material(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    reference = fields.String(required=True, validate=validate.Length(min=1, max=500),
                              metadata={"description": "where the document is: an upload id or e-licence number"})


class SupplementForm(_TaskForm):
    """补正: the applicant hands in the materials the window asked for."""

    materials = fields.List(fields.Nested(Material), required=True, validate=validate.Length(min=1, max=50))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class DeliveryForm(_TaskForm):
    """出件: the result handed over at the window or sent by mail with a tracking number."""

    method = fields.String(required=True, validate=validate.OneOf(["pickup", "mail"]))
    courier = fields.String(validate=validate.Length(min=1, max=50))
    tracking_no = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9-]{6,40}$"))
    address = fields.String(validate=validate.Length(min=1, max=300))
    collected_by = fields.String(validate=validate.Length(min=1, max=50))

    @validates_schema
    def _mail_needs_tracking(self, data: dict, **_kwargs: Any) -> None:
        if data.get("method") == "mail":
            missing = {name: ["邮寄须填写 required for mail"]
                       for name in ("courier", "tracking_no", "address") if not data.get(name)}
            if missing:
                raise ValidationError(missing)
        if data.get("method") == "pickup" and not data.get("collected_by"):
            raise ValidationError("现场领取须填写领取人 who collected it", "collected_by")


class VerificationForm(_TaskForm):
    """告知承诺 核查: after an approval on commitment, the department checks the facts
    (document check, online check or site visit); a failed check states what was found."""

    method = fields.String(required=True, validate=validate.OneOf(["document", "online", "site_visit"]))
    passed = fields.Boolean(required=True)
    findings = fields.String(load_default="", validate=validate.Length(max=2000))

    @validates_schema
    def _failure_says_why(self, data: dict, **_kwargs: Any) -> None:
        if data.get("passed") is False and not data.get("findings", "").strip():
            raise ValidationError("核查不通过须写明核查情况 a failed check states its findings", "findings")


TASK_FORMS: dict[str, type[_TaskForm]] = {
    "review": ReviewForm,
    "intake": IntakeForm,
    "supplement": SupplementForm,
    "delivery": DeliveryForm,
    "verification": VerificationForm,
}


def form_name(task_spec) -> str:
    """The form a user task declares (``taskForm`` property, or Camunda Modeler's
    ``formKey``), or the review form."""
    extensions = getattr(task_spec, "extensions", None) or {}
    properties = extensions.get("properties") or {}
    return properties.get("taskForm") or (extensions.get("camunda") or {}).get("formKey") or DEFAULT_FORM


def check_task_forms(specs: list, filename: str) -> list[Problem]:
    """Deploy-time: every user task names a form this engine has."""
    return [Problem(filename, task_spec.bpmn_id or "", None,
                    f"unknown taskForm {form_name(task_spec)!r}; known: {', '.join(TASK_FORMS)}")
            for spec in specs for task_spec in spec.task_specs.values()
            if getattr(task_spec, "manual", False) and form_name(task_spec) not in TASK_FORMS]


def validate_answer(name: str, answer: Mapping) -> dict:
    """The cleaned answer, or InvalidInput with every field error at once (422)."""
    if not isinstance(answer, Mapping):
        raise InvalidInput("the task form has errors", {"_schema": ["must be an object"]})
    try:
        return TASK_FORMS[name]().load(dict(answer))
    except ValidationError as exc:
        raise InvalidInput("the task form has errors", _messages(exc.messages)) from exc


def describe(name: str) -> dict:
    """The form's fields for a client to render: type, required, choices."""
    return {"name": name, "fields": {key: _describe_field(field) for key, field in TASK_FORMS[name]().fields.items()}}


def _describe_field(field: fields.Field) -> dict:
    description: dict[str, Any] = {"type": type(field).__name__.lower(), "required": field.required}
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            description["choices"] = list(validator.choices)
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        description["items"] = {k: _describe_field(f) for k, f in field.inner.schema.fields.items()}
    return description


def _messages(messages: Any) -> dict[str, list]:
    if isinstance(messages, Mapping):
        return {str(key): value if isinstance(value, list) else [value] for key, value in messages.items()}
    return {"_schema": list(messages) if isinstance(messages, list) else [str(messages)]}
