"""marshmallow schemas of the API; the OpenAPI document is generated from them."""
from __future__ import annotations

from datetime import timezone

from flask import g
from marshmallow.utils import get_value
from marshmallow import INCLUDE, Schema, ValidationError, fields, post_dump, validate, validates_schema

from api.masking import MaskedSchema
from engine.access import SUBMITTERS
from engine import words
from engine.events import label_of
from engine.explanation import for_applicant
from engine.people.organisation import department_name
from engine.people import subjects
from engine.oversight.deadlines import PAUSE_REASONS
from engine.oversight.incidents import APPLICANT_NOTICE
from engine.store.models import ApplicationStatus, TaskStatus, as_utc

ROW_ID = "int(min=1, max=2147483647)"  # URL ids fit PostgreSQL's integer keys (else 404)
APPLICATION_REF = "string(maxlength=64)"  # a public reference, or (staff) an id: engine/store/references.py


class UtcDateTime(fields.DateTime):
    """Every stored time is UTC, but SQLite hands them back naive and marshmallow would send
    them without an offset: not an RFC 3339 date-time, and read as local time by clients."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(as_utc(value), attr, obj, **kwargs)


def worded(table: dict, attribute: str, example: str) -> fields.Function:
    """The words a person reads for a coded field (engine/words.py), answered beside the code."""
    return fields.Function(lambda obj: words.words(table, get_value(obj, attribute)), allow_none=True, dump_only=True,
                           metadata={"description": f"``{attribute}`` as a person reads it", "example": example})


class ProblemSchema(Schema):
    """RFC 9457 problem details: the body of every error response (application/problem+json)."""
    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String(metadata={"description": "for developers and logs (English)"})
    message = fields.String(metadata={"description": "what a person reads: plain Chinese", "example": "未找到，或您无权查看"})
    instance = fields.String(metadata={"description": "the request path"})
    request_id = fields.String(metadata={"description": "the answer's X-Request-Id: quote it when reporting a problem"})
    errors = fields.Dict(keys=fields.String(), metadata={"description": "422: field -> messages, every field at once"})
    problems = fields.List(fields.Dict(), metadata={"description": "refused deployment: file, element, reason"})
    rule = fields.String(metadata={"description": "403 of 授权代办: which rule failed (no_authorisation, "
                                                  "not_yet_valid, expired, revoked, other_matter)",
                                   "example": "expired"})


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()
    department = fields.String(allow_none=True)
    region = fields.String()
    display_name = fields.String()


class TokenSchema(Schema):
    UserSchema = UserSchema
    token = fields.String()
    user = fields.Nested(UserSchema)


class MatterSchema(Schema):
    code = fields.String()
    name = fields.String()
    department = fields.String()
    region = fields.String()
    promised_days = fields.Integer()
    legal_days = fields.Integer()
    version = fields.Integer(allow_none=True, metadata={"description": "current service definition version"})
    guide = fields.Dict(metadata={"description": "办事指南: the catalogue's standard elements"})
    form = fields.Dict(allow_none=True, metadata={"description": "form-js schema of the application form", "example": {
        "id": "senior_card", "components": [{"type": "textfield", "key": "applicant_name", "label": "老人姓名",
                                             "validate": {"required": True, "maxLength": 50}}]}})


class SituationSchema(Schema):
    answers = fields.Dict(keys=fields.String(validate=validate.Length(max=64)), load_default=dict,
                          metadata={"description": "question id -> chosen option (see the guide's scenarios)"})


class MaterialsListSchema(Schema):
    answers = fields.Dict()
    materials = fields.List(fields.Dict(), metadata={"description": "name, required, form, source"})
    conditions = fields.List(fields.String())


class FormJsonSchema(Schema):
    """A matter's form as JSON Schema (draft 2020-12): forms/json_schema.py."""
    dialect = fields.String(attribute="$schema", data_key="$schema", metadata={"example": "https://json-schema.org/draft/2020-12/schema"})
    title = fields.String(metadata={"description": "the matter's name", "example": "老年人优待证"})
    type = fields.String(metadata={"example": "object"})
    properties = fields.Dict(metadata={"description": "each field: type, title (its label), checks", "example": {
        "applicant_name": {"title": "老人姓名", "type": "string", "maxLength": 50}}})
    required = fields.List(fields.String(), metadata={"example": ["applicant_name"]})
    closed = fields.Boolean(attribute="additionalProperties", data_key="additionalProperties",
                            metadata={"example": False, "description": "false: no field but the form's"})
    examples = fields.List(fields.Dict(), metadata={"description": "answers the form accepts",
                                                    "example": [{"applicant_name": "老人姓名"}]})


class SubmissionSchema(Schema):
    matter = fields.String(required=True, validate=validate.Length(min=1, max=64),
                           metadata={"example": "senior_card"})
    data = fields.Dict(required=True, metadata={
        "description": "the answers to the matter's form: its JSON Schema is GET /api/matters/{code}/schema "
                       "(here: components MatterForm_<code>, and an example per matter)",
        "example": {"id_number": "110105195803140214", "phone": "13800138000"}})
    region = fields.String(load_default=None, validate=validate.Length(min=1, max=12), metadata={
        "description": "就近办: where to apply, for a matter that lets the applicant choose (its guide lists "
                       "the regions); otherwise the region of the subject's household or registration",
        "example": "460200"})
    uploads = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                          validate=validate.Length(max=50), metadata={
        "description": "material files uploaded before (POST /api/uploads): their ids, or upload:<id>; they become "
                       "part of the application (422 naming uploads.<n> if one is not yours, infected or used)",
        "example": ["upload:Yk3pQ0sV9xT2bN7wA5Pg1h"]})


class IdempotencyHeaderSchema(Schema):
    idempotency_key = fields.String(data_key="Idempotency-Key", validate=validate.Length(min=1, max=128))


class EventSchema(MaskedSchema):
    kind = fields.String()
    actor_label = worded(words.SYSTEM_ACTOR, "actor", "系统")
    label = fields.Function(lambda event: label_of(event.kind), allow_none=True, metadata={
        "description": "what a person reads for the kind (engine/events.py LABELS)", "example": "提交申请"})
    actor = fields.String()
    at = UtcDateTime()
    data = fields.Dict()


class TaskSchema(MaskedSchema):
    id = fields.Integer()
    application_id = fields.Integer()
    element_id = fields.String()
    title = fields.String()
    department = fields.String()
    candidate_role = fields.String()
    status = fields.String()
    assignee_id = fields.Integer(allow_none=True)
    due_at = UtcDateTime()
    created_at = UtcDateTime()
    completed_at = UtcDateTime(allow_none=True)
    result = fields.Dict(allow_none=True)
    matter_name = fields.String(metadata={"description": "the matter's name", "example": "临时占用城市道路许可"})
    applicant_name = fields.String(metadata={
        "description": "whom the application is for: the registry's name for its person or company, else the "
                       "applying account's name (masked for those who see personal data masked)", "example": "王建国"})
    department_name = fields.String(metadata={"description": "the task's department", "example": "综合受理窗口"})
    status_label = worded(words.TASK_STATUS, "status", "待认领")
    colour = fields.String(metadata={"description": "电子监察 of its application now: green | yellow (80% of the "
                                                    "promised limit used) | red (overdue); frozen while paused"})
    colour_label = worded(words.COLOUR, "colour", "正常")
    form_name = fields.String(metadata={"description": "the form that completes it (review, intake, delivery, "
                                                       "supplement, verification): forms/tasks/<name>.form.json",
                                        "example": "intake"})


class ExplanationSchema(Schema):
    """One reason of an answer (engine/explanation.py); its technical detail only for staff."""

    text = fields.String(metadata={"description": "plain Chinese, for the applicant", "example": "80-89周岁，每月补贴100元"})
    by = fields.String(metadata={"description": "who decided: rules | clerk | credit | holding | system"})
    by_label = worded(words.DECIDED_BY, "by", "规则自动判断")
    basis = fields.String(allow_none=True, metadata={"description": "the legal basis (设定依据)",
                                                    "example": "《海南省高龄老人长寿补贴发放管理办法》"})
    detail = fields.Dict(metadata={"description": "staff only: rule id and message, task and clerk, credit tier"})

    @post_dump
    def _for_caller(self, data: dict, **_kwargs) -> dict:
        return data if caller_is_staff() else for_applicant([data])[0]


def caller_is_staff() -> bool:
    """Staff see the technical side of a decision (rule ids, fact sources); applicants and
    their agents read the plain explanation (engine/explanation.py)."""
    user = g.get("user")
    return user is not None and user.role not in SUBMITTERS


class ApplicationSchema(MaskedSchema):
    """An application; personal answers masked for those without the need (engine/oversight/privacy.py)."""
    application_attribute = "id"
    id = fields.Integer(metadata={"description": "internal id: staff paths take it; applicants use reference"})
    reference = fields.String(attribute="public_ref", metadata={
        "description": "the application's reference (查询号): what applicants' paths take", "example": "q3Zk9uH2sV0bX1eN7wA5Pg"})
    tracking_no = fields.String()
    matter = fields.String(attribute="matter_code")
    matter_name = fields.String(attribute="definition.matter.name", metadata={"example": "高龄老人长寿补贴"})
    department_name = fields.Function(lambda a: department_name(a.definition.matter.department),
                                      allow_none=True, metadata={"example": "民政局"})
    region = fields.String(metadata={"description": "the region handling it (engine/people/regions.py): the subject's "
                                                    "household or registration, or the one chosen (就近办)",
                                     "example": "460100"})
    definition_version = fields.Integer(attribute="definition.version")
    status = fields.String(metadata={"description": "running | waiting | completed | failed (转人工处理: see notice)"})
    status_label = worded(words.APPLICATION_STATUS, "status", "办理中")
    notice = fields.Function(lambda a: APPLICANT_NOTICE if a.status == ApplicationStatus.FAILED else None,
                             allow_none=True, metadata={"description": "what the applicant is told of a failed run"})
    outcome = fields.String(allow_none=True, metadata={"description": "approve | reject once decided (告知承诺: at once); revoked after a failed verification"})
    outcome_label = worded(words.OUTCOME, "outcome", "准予")
    reasons = fields.List(fields.Nested(ExplanationSchema), metadata={
        "description": "why it was answered so, whoever decided (engine/explanation.py): one list for every outcome, "
                       "empty until answered"})

    facts = fields.Function(lambda a: words.facts_of(a) if caller_is_staff() else [], metadata={
        "type": "array", "items": {"type": "object"},
        "description": "staff only (applicants: empty): the facts the rule set judged — name, label, value, source "
                       "and source_label, status and status_label (已核验, 无记录, 暂时无法查询), read_at",
        "example": [{"name": "household_local", "label": "本地户籍", "value": True, "source": "population_registry",
                     "source_label": "人口库", "status": "ok", "status_label": "已核验",
                     "read_at": "2026-11-30T09:00:00+00:00"}]})
    decision = fields.Function(lambda a: a.decision if caller_is_staff() else None, allow_none=True, metadata={
        "type": "object", "description": "staff only; null for applicants and agents, who read ``reasons``: the rule "
                                         "set's technical record — outcome, reasons with rule ids, facts with sources"})
    result = fields.Dict(allow_none=True)
    result_no = fields.String(allow_none=True, metadata={"description": "证照/文书编号, issued at approval"})
    form_data = fields.Dict()
    due_at = UtcDateTime(allow_none=True, metadata={"description": "promised limit; none while the clock is paused"})
    colour = fields.String(metadata={"description": "电子监察: green | yellow (80% used) | red (overdue)"})
    colour_label = worded(words.COLOUR, "colour", "正常")
    clock_pauses = fields.List(fields.Dict(), metadata={"description": "supplement / special-procedure pauses"})
    materials = fields.Dict(allow_none=True, metadata={
        "description": "免证办: materials fetched from the e-licence library, still requested, avoided"})
    proactive = fields.Boolean(metadata={"description": "免申即享: started by the system on the person's behalf"})
    applied_as = fields.Function(subjects.basis_of, allow_none=True, metadata={
        "description": "whom for (engine/people/subjects.py): self | company_role | authorisation (授权代办, see "
                       "authorisation_id) | proactive; none for applications made before subject binding",
        "example": "authorisation"})
    authorisation_id = fields.Integer(allow_none=True, metadata={
        "description": "授权代办: the authorisation the agent applied under (GET /api/authorisations)", "example": 7})
    created_at = UtcDateTime()
    completed_at = UtcDateTime(allow_none=True)
    status_url = fields.Function(lambda a: f"/api/applications/{a.public_ref}")


class StepSchema(MaskedSchema):
    title = fields.String()
    element_id = fields.String()
    candidate_role = fields.String(metadata={"description": "clerk | applicant"})
    department = fields.String()
    status = fields.String(metadata={"description": "open | claimed | completed | cancelled"})
    status_label = worded(words.STEP_STATUS, "status", "办理中")
    created_at = UtcDateTime()
    completed_at = UtcDateTime(allow_none=True)
    result = fields.Dict(allow_none=True)


class ApplicationDetailSchema(ApplicationSchema):
    steps = fields.List(fields.Nested(StepSchema), metadata={"description": "the human steps so far, in order"})
    history = fields.List(fields.Nested(EventSchema))


class QueueQuerySchema(Schema):
    status = fields.String(load_default="active", validate=validate.OneOf(
        [TaskStatus.OPEN, TaskStatus.CLAIMED, "active", TaskStatus.COMPLETED]))
    matter = fields.String(validate=validate.Length(max=64))
    applicant = fields.String(validate=validate.Length(max=64), metadata={"description": "the applying account's username, or the name of whom it is for (as the rows show it)"})
    due_before = fields.AwareDateTime(default_timezone=timezone.utc)
    mine = fields.Boolean(load_default=False, metadata={"description": "only tasks I hold"})
    sort = fields.String(load_default="due_at", validate=validate.OneOf(["due_at", "-due_at", "created_at", "-created_at"]))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000),
                            metadata={"description": "rows to skip: the next page starts at offset + limit"})


class BulkClaimSchema(Schema):
    task_ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)), required=True,
                           validate=validate.Length(min=1, max=100))


class BulkClaimResultSchema(Schema):
    claimed = fields.List(fields.Integer())
    refused = fields.List(fields.Integer(), metadata={"description": "taken by someone else, closed, or not yours to see"})


class DelegateSchema(Schema):
    to = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={"description": "a colleague's username"})


class TaskAnswerSchema(Schema):
    """The answer to the task's own form (forms/tasks/<name>.form.json), checked by the engine
    (422 with every field error): review {outcome approve|reject, comment (required to reject),
    amount}; intake {outcome accept|refuse|supplement, comment, missing_materials}; delivery
    {method pickup|mail, courier, tracking_no, address, collected_by}; verification {method,
    passed, findings}. GET /api/tasks/{id} gives the form."""

    class Meta:
        unknown = INCLUDE
        example = {"outcome": "approve", "comment": "材料齐全，符合条件"}  # api/openapi.py reads it


class TaskDetailSchema(TaskSchema):
    form = fields.Dict(allow_none=True, metadata={
        "description": "the form that completes the task: a form-js schema (its id is the form's name) to render with "
                       "the form-js viewer; the intake form's missing materials take their options from the data "
                       "under matter_materials (the matter's materials, as its guide lists them)",
        "example": {"type": "default", "id": "review", "components": [
            {"type": "radio", "key": "outcome", "label": "审核结果", "validate": {"required": True},
             "values": [{"label": "批准", "value": "approve"}, {"label": "不予批准", "value": "reject"}]},
            {"type": "textarea", "key": "comment", "label": "审核意见", "defaultValue": "",
             "validate": {"maxLength": 2000}}]}})
    send_back_to = fields.List(fields.Dict(), metadata={"description": "earlier steps a send-back (退回) may return to"})
    prefill = fields.Dict(metadata={
        "description": "the data the form opens with: intake — matter_materials (the options of missing "
                       "materials); delivery (出件) — the applicant's address and their choice of pickup or mail",
        "example": {"address": "海口市龙华区滨海大道100号", "method": "mail"}})


class SendBackSchema(Schema):
    to = fields.String(required=True, validate=validate.Length(min=1, max=100),
                       metadata={"description": "element id of an earlier step (see send_back_to)",
                                 "example": "Task_intake"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000),
                           metadata={"example": "身份证复印件不清晰，请重新受理"})


class PauseSchema(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(list(PAUSE_REASONS)),
                           metadata={"description": ", ".join(f"{k} {v}" for k, v in PAUSE_REASONS.items())})
    note = fields.String(load_default="", validate=validate.Length(max=500))


class DefinitionUploadSchema(Schema):
    """Sizes are checked by the deployment itself (400 naming the file); the whole
    request is capped by MAX_CONTENT_LENGTH (413)."""

    matter = fields.String(required=True, validate=validate.Length(min=1, max=64))
    files = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=200)), values=fields.String(),
                        validate=validate.Length(min=1, max=30), metadata={"description": (
                            "the upload as named files (name -> text): *.bpmn (the main process and the "
                            "processes it calls), *.dmn, one rule set *.yaml (none for a bundle) and one form "
                            "*.json; instead of bpmn/ruleset/form/dmn")})
    bpmn = fields.String(metadata={"description": "the BPMN; omitted: the current version's (a rules-only change)"})
    ruleset = fields.String(metadata={"description": "the rule set; a bundle (一件事) has none; omitted: the current "
                                                     "version's"})
    form = fields.String(metadata={"description": "the form; omitted: the current version's"})
    dmn = fields.List(fields.String(), validate=validate.Length(max=20),
                      metadata={"description": "the DMN tables; omitted: the current version's"})
    base_version = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1), metadata={
        "example": 3, "description": "the version these files were edited from: a deploy when another version has become "
                       "current since is refused (409), so two analysts never overwrite each other unseen"})

    @validates_schema
    def _files_or_fields(self, data: dict, **kwargs) -> None:
        single = [name for name in ("bpmn", "ruleset", "form") if name in data]
        if "files" in data and (single or data.get("dmn")):
            raise ValidationError("send either files or bpmn/ruleset/form/dmn, not both", "files")


class VersionFilesSchema(Schema):
    class Meta:
        example = {"matter": "senior_card", "version": 3, "checksum": "4880cc28052d", "deployed_at": "2026-03-02T01:00:00+00:00",
                   "deployed_by": "analyst", "bpmn": "<bpmn:definitions …>", "ruleset": "matter: senior_card\nrules: …",
                   "form": '{"id": "senior_card", "components": […]}', "dmn": {}, "called": {},
                   "names": {"bpmn": "senior_card.bpmn", "ruleset": "senior_card.yaml", "form": "senior_card.form.json",
                             "dmn": [], "called": []},
                   "policy": {"name": "老年人优待证", "department": "civil_affairs", "legal_days": 20, "promised_days": 5}}

    matter = fields.String()
    version = fields.Integer()
    checksum = fields.String()
    deployed_at = fields.String()
    deployed_by = fields.String()
    bpmn = fields.String()
    ruleset = fields.String()
    form = fields.String()
    dmn = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "file name -> text"})
    called = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "the BPMN documents the main one's call activities call: file name -> text"})
    names = fields.Dict(metadata={"description": "the names the files were deployed with"})
    policy = fields.Dict(metadata={"description": "the matter's guide and policy this version runs with"})


class VersionDiffQuerySchema(Schema):
    old = fields.Integer(required=True, data_key="from", validate=validate.Range(min=1, max=2**31 - 1))
    new = fields.Integer(required=True, data_key="to", validate=validate.Range(min=1, max=2**31 - 1))


class ChangesSchema(Schema):
    added = fields.List(fields.Dict(), metadata={"description": "id and label"})
    removed = fields.List(fields.Dict(), metadata={"description": "id and label"})
    changed = fields.List(fields.Dict(), metadata={"description": "id, label, old and new"})


class VersionDiffSchema(Schema):
    class Meta:
        example = {"matter": "elderly_subsidy", "from": 1, "to": 2,
                   "bpmn": {"added": [], "removed": [], "changed": [
                       {"id": "Task_review", "label": "userTask 人工审核（民政局）", "old": "id=Task_review; name=人工审核（民政）",
                        "new": "id=Task_review; name=人工审核（民政局）"}]},
                   "rules": {"added": [], "removed": [], "changed": [
                       {"id": "rule:under_80", "label": "申请人未满85周岁", "old": '{"when": {"age": {"lt": 80}}}',
                        "new": '{"when": {"age": {"lt": 85}}}'}]},
                   "form": {"added": [], "removed": [], "changed": []},
                   "policy": {"added": [], "removed": [], "changed": []}}

    matter = fields.String()
    old = fields.Integer(data_key="from")
    new = fields.Integer(data_key="to")
    bpmn = fields.Nested(ChangesSchema, metadata={"description": "BPMN elements by id (the layout is no change)"})
    rules = fields.Nested(ChangesSchema, metadata={"description": "rules (rule:<id>), facts (fact:<name>), settings"})
    form = fields.Nested(ChangesSchema, metadata={"description": "form fields by key"})
    policy = fields.Nested(ChangesSchema, metadata={"description": "guide and policy keys"})


class VocabularySchema(Schema):
    class Meta:
        example = {"departments": {"civil_affairs": "民政局"}, "regions": {"460100": "海口市"},
                   "operations": [{"name": "rules.decide", "summary": "judge the application by the matter's rule set"}],
                   "task_forms": ["delivery", "intake", "review", "supplement", "verification"],
                   "lanes": {"applicant": "申请人", "department": "本事项主管部门"}}

    departments = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "code -> 名称"})
    regions = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "code -> 名称"})
    operations = fields.List(fields.Dict(), metadata={"description": "name and summary of each service operation"})
    task_forms = fields.List(fields.String(), metadata={"description": "the forms a user task may name (taskForm)"})
    lanes = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "lane names other than a department: who else does a lane's work"})


class RollbackSchema(Schema):
    version = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1),
                             metadata={"description": "the earlier version to deploy again as the newest"})


class DefinitionSchema(Schema):
    matter = fields.String()
    version = fields.Integer()
    process_id = fields.String()
    checksum = fields.String()
    deployed_at = fields.String()
    deployed_by = fields.String()
    files = fields.Dict()
    created = fields.Boolean()


class DeployedDefinitionSchema(DefinitionSchema):
    warnings = fields.List(fields.Dict(), metadata={
        "description": "accepted but suspicious (e.g. rules with contradicting outcomes that can both "
                       "hold): file, element_id (the rule id), reason"})


class ValidationReportSchema(Schema):
    deployable = fields.Boolean()
    problems = fields.List(fields.Dict(), metadata={
        "description": "what a deploy would refuse: file, element_id, line, reason; ordered by file and line"})
    warnings = fields.List(fields.Dict())


class ReplayRequestSchema(Schema):
    """A candidate for the matter, exactly one of the two: a rule set (YAML) or a DMN
    decision (judging the facts the matter's rule set declares). Sizes are checked as a
    deployment checks them (400 naming the file); the request is capped by
    MAX_CONTENT_LENGTH (413)."""

    ruleset = fields.String(validate=validate.Length(min=1))
    dmn = fields.String(validate=validate.Length(min=1))

    @validates_schema
    def _exactly_one(self, data: dict, **_kwargs) -> None:
        if ("ruleset" in data) == ("dmn" in data):
            raise ValidationError("give exactly one of 'ruleset' or 'dmn'", "_schema")


class ReplayedDecisionSchema(Schema):
    outcome = fields.String(metadata={"description": "approve | reject | manual"})
    reasons = fields.List(fields.Dict(), metadata={"description": "rule ids, outcomes and messages"})
    values = fields.Dict()


class ReplayChangeSchema(MaskedSchema):
    application_id = fields.Integer()
    tracking_no = fields.String()
    definition_version = fields.Integer(metadata={"description": "the version that recorded the decision"})
    old = fields.Nested(ReplayedDecisionSchema, metadata={"description": "the recorded decision"})
    new = fields.Nested(ReplayedDecisionSchema, metadata={"description": "the candidate's decision"})


class ReplayReportSchema(Schema):
    matter = fields.String()
    candidate = fields.Dict(metadata={"description": "kind (ruleset | dmn) and checksum"})
    replayed = fields.Integer(metadata={"description": "recorded applications judged"})
    changed = fields.Integer(metadata={"description": "how many decisions would change"})
    warnings = fields.List(fields.Dict(), metadata={"description": "the candidate's lint warnings"})
    changes = fields.List(fields.Nested(ReplayChangeSchema), metadata={"description": "each changed decision, old and new"})
