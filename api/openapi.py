"""The OpenAPI document as integrators read it, made in one place.

Every operation is named (``operationId``: the method and the view's class, e.g.
``postApplications``, ``getMatterGuide``) and summarised on one line (the first paragraph
of the view's docstring); request and response examples come from the schemas' fields
(api/schemas.py, ``metadata={"example": ...}``). Each matter's live form is added when the
document is served: a schema ``MatterForm_<code>`` per matter (the JSON Schema of
``GET /api/matters/{code}/schema``) and a submission example per matter, so Swagger UI's
"Try it out" offers real fields. ``Submission.data`` itself stays an open object in the
contract: the form's own checks (422 naming each field) are the server's, per matter.
"""
from __future__ import annotations

import copy

from api.context import services
from apispec import BasePlugin
from flask import Flask, current_app, json
from sqlalchemy import select

from api.applicants import Applications, form_schema
from api.problems import ProblemApi
from engine.store.models import Matter

SECURITY = {"components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}]}
JSON_SCHEMA_ONLY = ("$schema", "examples")  # keywords an OpenAPI 3.0 schema does not read


AT = "2026-03-02T01:30:00+00:00"
DECISION = {"outcome": "approve", "reasons": [{"rule": "age_60_plus", "outcome": "approve", "message": "年满60周岁"}],
            "values": {}, "facts": {"age": {"value": 67, "source": "form", "status": "ok"}}}
# A field's example by its name, for the fields whose schema gives none: a name means the same
# thing across the API's schemas (a field whose meaning differs says so in its own metadata).
FIELD_EXAMPLES = {
    "id": 42, "application_id": 42, "assignee_id": 7, "task_ids": [101, 102], "claimed": [101], "refused": [102],
    "matter": "senior_card", "code": "senior_card", "name": "老年人优待证", "version": 3, "definition_version": 3,
    "department": "civil_affairs", "departments": {"civil_affairs": {"green": 3, "yellow": 1, "red": 0}},
    "region": "460100", "username": "clerk_civil", "display_name": "民政窗口", "role": "clerk", "disabled": False,
    "password": "correct horse battery", "current_password": "demo-password", "new_password": "correct horse battery",
    "token": "3q2+7w...", "actor": "clerk_civil", "at": AT, "created_at": AT, "completed_at": AT, "due_at": AT,
    "resolved_at": AT, "deployed_at": AT, "kind": "task.completed", "data": {"task_id": 101, "outcome": "approve"},
    "tracking_no": "SC-2026-000123", "status": "open", "outcome": "approve", "colour": "green", "paused": False,
    "decision": DECISION, "reasons": DECISION["reasons"], "values": {"amount": 100},
    "result": {"card_no": "LYZ-2026-000123"}, "result_no": "LYZ-2026-000123", "notice": None,
    "form_data": {"applicant_name": "王秀英", "id_number": "110105195803140214", "phone": "13800138000"},
    "materials": {"fetched": ["居民身份证"], "requested": [], "avoided": 1}, "proactive": False,
    "clock_pauses": [{"reason": "supplement", "from": AT, "to": None}], "status_url": "/api/applications/q3Zk9uH2sV0bX1eN7wA5Pg",
    "element_id": "Task_review", "title": "审核", "candidate_role": "clerk", "error": "NameError: name 'x' is not defined",
    "promised_days": 5, "legal_days": 20, "guide": {"basis": "《老年人权益保障法》", "fee": "不收费"},
    "answers": {"household": "local"}, "conditions": ["本地户籍"], "comment": "办理很快", "answer": "已电话回访并致歉",
    "resolved_by": "clerk_civil", "note": "申请人补交材料", "reference": "补正通知 2026-03-02",
    "level": 5, "average_working_days": 2.5, "completed": 12, "within_limit": 11, "matters": {"senior_card": 1},
    "clerks": {"clerk_civil": {"green": 2}}, "checksum": "4880cc28052d", "process_id": "senior_card",
    "deployed_by": "analyst", "created": True, "files": {"bpmn": 5120, "ruleset": 812, "form": 1430, "dmn": 0},
    "bpmn": "<definitions ...>", "ruleset": "matter: senior_card\nrules: ...", "dmn": ["<definitions ...>"],
    "deployable": True, "problems": [], "warnings": [], "changed": 1, "replayed": 40,
    "form": '{"id": "senior_card", "components": [...]}', "to": "clerk_civil2",
    "candidate": {"kind": "ruleset", "checksum": "9f1c0d2e7a41"}, "send_back_to": [{"element_id": "Task_intake",
                                                                                    "title": "受理"}],
}


def _field_example(self, field, ret: dict) -> dict:
    """apispec attribute function: the field's example when its metadata gives none."""
    if "example" in ret or "$ref" in ret or "allOf" in ret:
        return {}
    if ret.get("enum"):
        return {"example": ret["enum"][0]}
    return {"example": FIELD_EXAMPLES[field.name]} if field.name in FIELD_EXAMPLES else {}


def operation_id(endpoint: str, method: str) -> str:
    """``applicants.Applications`` and ``post`` -> ``postApplications``."""
    return method.lower() + endpoint.rsplit(".", 1)[-1]


class _IntegratorDocs(BasePlugin):
    """apispec calls this for every path flask-smorest documents, with its Flask rule, and
    for every schema (an example of the whole: ``Meta.example``, for a schema of no fields)."""

    def schema_helper(self, name, definition, schema=None, **kwargs) -> dict | None:
        example = getattr(getattr(schema, "Meta", None), "example", None)
        return None if example is None else {"example": example}

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for method, operation in (operations or {}).items():
            operation["operationId"] = operation_id(kwargs["rule"].endpoint, method)
            if "summary" in operation:
                operation["summary"] = " ".join(operation["summary"].split())


class DocumentedApi(ProblemApi):
    """The API with the document above; errors as problems (api/problems.py)."""

    def __init__(self, app: Flask) -> None:
        super().__init__(app, spec_kwargs={"extra_plugins": [_IntegratorDocs()], **SECURITY})
        self.ma_plugin.converter.add_attribute_function(_field_example)

    def _openapi_json(self):
        """flask-smorest's document with the matters' forms as they are live now."""
        document = copy.deepcopy(self.spec.to_dict())
        with services().sessions() as session:
            forms = {matter.code: form_schema(session, matter)
                     for matter in session.scalars(select(Matter).order_by(Matter.code))}
        add_matter_forms(document, {code: form for code, form in forms.items() if form is not None})
        return current_app.response_class(json.dumps(document, ensure_ascii=False, indent=2),
                                          mimetype="application/json")


def add_matter_forms(document: dict, forms: dict[str, dict]) -> None:
    """A schema per matter's form, and a submission example per matter on the submit operation."""
    schemas = document["components"]["schemas"]
    examples = {}
    for code, form in forms.items():
        answers = form["examples"][0]
        schemas[f"MatterForm_{code}"] = {key: value for key, value in form.items() if key not in JSON_SCHEMA_ONLY} \
            | {"example": answers}
        examples[code] = {"summary": form["title"], "value": {"matter": code, "data": answers}}
    if examples:
        _submit_operation(document)["requestBody"]["content"]["application/json"]["examples"] = examples


def _submit_operation(document: dict) -> dict:
    submit = operation_id(f"applicants.{Applications.__name__}", "post")
    return next(operation for item in document["paths"].values() for operation in item.values()
                if isinstance(operation, dict) and operation.get("operationId") == submit)
