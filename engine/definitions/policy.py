"""The matter policy's schema: what a catalogue entry may say besides its files, checked at
deploy (the policy is versioned with the definition and part of its checksum,
engine/definitions/versions.py), so a misspelt key or a wrong type is refused with its path
instead of being ignored or failing at the first application.

The policy pieces with rules of their own check those too (``SubjectPolicy``,
``HoldingPolicy``, ``NumberPolicy``, ``RegionPolicy``); this schema checks shapes and types.
"""
from __future__ import annotations

from typing import Any, Mapping

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from engine.errors import Problem
from engine.policy.holdings import Repeat

POLICY_FILE = "policy"  # what a policy problem names as its file (the catalogue entry's keys)
_text = fields.String
_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=3650))


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class MaterialSchema(_Strict):
    name = _text(required=True)
    required = fields.Boolean(load_default=True)
    form = _text()
    source = _text()
    licence_type = _text()
    note = _text()
    when = fields.Raw()  # a scenario condition (engine/definitions/guides.py)
    copies = fields.Integer(strict=True)


class CreditSchema(_Strict):
    subject_field = _text(required=True)
    blocks = fields.Boolean(load_default=False)
    legal_basis = _text()
    tiers = fields.Dict(keys=fields.String(validate=validate.OneOf(("red", "orange", "blue", "black"))),
                        values=fields.Dict(keys=fields.String(validate=validate.OneOf(
                            ("tolerate_missing", "commitment", "fast_lane"))), values=fields.Boolean()))


class CertificateFreeSchema(_Strict):
    holder_field = _text(required=True)


class CommitmentSchema(_Strict):
    verify_within_working_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=365))
    methods = fields.List(fields.String(validate=validate.OneOf(("document", "online", "site_visit"))))


class GrantSchema(_Strict):
    amount_range = fields.List(fields.Decimal(), validate=validate.Length(equal=2))
    second_approver_above = fields.Decimal()


class ProactiveSchema(_Strict):
    turning_age = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=150))
    form = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class ResultNumberSchema(_Strict):
    field = _text(required=True)
    format = _text(required=True)


class BaselineSchema(_Strict):
    """四减: the pre-reform figures the catalogue records for a matter (改革前), which the
    four-reductions report sets beside today's (engine/oversight/four_reductions.py)."""

    days = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=3650))  # working days
    steps = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100))  # 环节
    materials = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=200))  # 材料
    trips = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=50))  # 跑动次数
    source = _text()  # where the figures come from


class MatterPolicySchema(_Strict):
    """Every key a catalogue entry may carry (the files — bpmn, rules, form, dmn — excepted)."""

    code = _text(required=True)
    national_code = _text()  # 基本编码
    implementation_code = _text()  # 实施编码
    name = _text(required=True)
    aliases = fields.List(_text(validate=validate.Length(min=1, max=50)), validate=validate.Length(max=50))  # 俗称: 老人补贴
    keywords = fields.List(_text(validate=validate.Length(min=1, max=50)), validate=validate.Length(max=100))  # 搜索词
    type = _text()
    legal_basis = _text()
    department = _text(required=True)
    department_name = _text()
    conditions = fields.List(fields.String())
    materials = fields.List(fields.Nested(MaterialSchema))
    legal_days = _days
    promised_days = _days
    fee = fields.Raw()  # 0, or a text such as "按标准收取"
    handling_depth = _text()
    handling_form = _text()  # 办理形式: 网上办理, 窗口办理…
    trips = fields.Integer(strict=True, validate=validate.Range(min=0, max=50))  # 到办事现场次数
    template = _text()  # the authoring template the files were made from (engine/authoring/templates.py)
    result_name = _text()
    subject = fields.Raw()  # whose application it is: engine/people/subjects.py checks it
    region = _text()
    regions = fields.List(fields.String())
    nearby = fields.Boolean()
    scenarios = fields.List(fields.Dict())
    recipient_id_field = _text()
    repeat = _text(validate=validate.OneOf([r.value for r in Repeat]))
    result_number = fields.Nested(ResultNumberSchema)
    credit = fields.Nested(CreditSchema)
    certificate_free = fields.Nested(CertificateFreeSchema)
    commitment = fields.Nested(CommitmentSchema)
    grant = fields.Nested(GrantSchema)
    proactive = fields.Nested(ProactiveSchema)
    baseline = fields.Nested(BaselineSchema)
    excludes = fields.List(fields.String())  # matters that cannot be ordered with this one (政务超市)
    bundle = fields.Raw()  # 一件事: members, field map, on_refusal — engine/bundles/policy.py checks it


def check_policy(policy: Mapping[str, Any]) -> list[Problem]:
    """Every problem of the policy, each naming its key path (``credit.subject_field``)."""
    try:
        MatterPolicySchema().load(dict(policy))
    except ValidationError as exc:
        return [Problem(POLICY_FILE, path, None, message) for path, message in _flatten(exc.messages)]
    return []


def _flatten(messages: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(messages, Mapping):
        return [item for key, value in messages.items()
                for item in _flatten(value, f"{path}.{key}" if path else str(key))]
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [(path, "; ".join(messages))]
    return [(path, str(messages))]
