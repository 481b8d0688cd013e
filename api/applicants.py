"""Applicants: the matter catalogue with its guides, submitting and following applications."""
from __future__ import annotations

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from api.context import services
from api.uploads import uploads
from api.auth import roles
from api.schemas import (APPLICATION_REF, ApplicationDetailSchema, ApplicationSchema, FormJsonSchema, IdempotencyHeaderSchema,
                         MaterialsListSchema, MatterSchema, SituationSchema, SubmissionSchema, TaskAnswerSchema)
from engine import search
from engine.access import SUBMITTERS
from engine.definitions.versions import current_definition
from engine.errors import NotFound, Unauthenticated
from engine.definitions.guides import materials_for
from engine.people import users
from engine.people.organisation import read_departments
from engine.people.regions import sees_every_region
from engine.store.models import ApplicationStatus, Matter
from engine.store.references import application_id_for
from engine.whereabouts import Whereabouts, whereabouts
from engine.running.compiled import compiled
from engine.definitions.task_forms import TASK_FORMS
from forms.json_schema import form_json_schema

blp = Blueprint("applicants", __name__, url_prefix="/api", description="Matters and applications (办件)")



def _matter_view(session, matter: Matter, with_form: bool) -> dict:
    definition = current_definition(session, matter.code, required=False)
    view = {"code": matter.code, "name": matter.name, "department": matter.department,
            "region": matter.region, "promised_days": matter.promised_days, "legal_days": matter.legal_days,
            "version": definition.version if definition else None, "guide": matter.elements, "form": None}
    if with_form and definition is not None:
        view["form"] = current_app.json.loads(definition.form)
    return view


def _matter(session, code: str) -> Matter:
    matter = session.get(Matter, code)
    if matter is None:
        raise NotFound(f"no matter {code!r}")
    return matter


@blp.route("/matters")
class Matters(MethodView):
    @blp.response(200, MatterSchema(many=True))
    @blp.alt_response(503, "SERVICE_UNAVAILABLE")
    @blp.doc(security=[])
    def get(self) -> list[dict]:
        """The matter catalogue (事项目录) with each matter's guide. Public."""
        with services().sessions() as session:
            matters = session.scalars(select(Matter).order_by(Matter.code))
            return [_matter_view(session, m, with_form=False) for m in matters]


ASK_FOR_WORDS = "请输入要找的事项，例如“老人补贴”"


def _not_blank(text: str) -> None:
    if not text.strip():
        raise ValidationError(ASK_FOR_WORDS)


class MatterSearchQuerySchema(Schema):
    q = fields.String(required=True, error_messages={"required": ASK_FOR_WORDS}, validate=[
        validate.Length(min=1, max=search.MAX_QUERY, error=f"请输入1至{search.MAX_QUERY}个字"), _not_blank],
        metadata={"description": "everyday words: a name, an alias, a sentence", "example": "老人补贴"})
    limit = fields.Integer(load_default=search.DEFAULT_LIMIT, validate=validate.Range(min=1, max=50))
    region = fields.String(validate=[validate.Length(equal=6, error="应为6位行政区划代码"),
                                     validate.Regexp(r"^[0-9]{6}$", error="应为6位行政区划代码")], metadata={
        "description": "only matters offered there; default: the signed-in caller's region (none: every region)",
        "example": "460100"})


class MatterHitSchema(Schema):
    code = fields.String()
    name = fields.String(metadata={"example": "高龄老人长寿补贴"})
    department = fields.String()
    department_name = fields.String(metadata={"example": "民政局"})
    score = fields.Float(metadata={"description": "higher is better; comparable within one answer only",
                                   "example": 96.19})
    matched = fields.List(fields.String(), metadata={"description": "the query's words that matched",
                                                     "example": ["老人", "补贴"]})


def _caller_region(session) -> str | None:
    """A signed-in caller's region (platform roles: none). The search is public: without a
    token, or with one no longer valid, it searches every region."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    try:
        user, _ = users.user_for_token(session, header.removeprefix("Bearer ").strip())
    except Unauthenticated:
        return None
    return None if sees_every_region(user) else user.region


@blp.route("/matters/search")
class SearchMatters(MethodView):
    @blp.arguments(MatterSearchQuerySchema, location="query")
    @blp.response(200, MatterHitSchema(many=True))
    @blp.alt_response(503, "SERVICE_UNAVAILABLE")
    @blp.doc(security=[])
    def get(self, query: dict) -> list:
        """Find a matter by everyday words (网厅模糊搜索): names, aliases, keywords. Public.

        Chinese-aware and tolerant of word order and extra words ("我家老人80岁了能领什么补贴");
        best first, only matters offered in ``region`` (or the signed-in caller's); an
        empty or blank ``q`` is 422."""
        with services().sessions() as session:
            region = query.get("region") or _caller_region(session)
            index = search.matter_search(session)
        return index.search(query["q"], region=region, limit=query["limit"])


class DepartmentSchema(Schema):
    code = fields.String(metadata={"example": "civil_affairs"})
    name = fields.String(metadata={"example": "民政局"})


@blp.route("/departments")
class Departments(MethodView):
    @blp.response(200, DepartmentSchema(many=True))
    @blp.doc(security=[])
    def get(self) -> list:
        """部门: every department's code and the name a person reads (the catalogue's). Public."""
        return [{"code": code, "name": name} for code, name in read_departments().items()]


@blp.route("/matters/<code>")
class MatterGuide(MethodView):
    @blp.response(200, MatterSchema)
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(503, "SERVICE_UNAVAILABLE")
    @blp.doc(security=[])
    def get(self, code: str) -> dict:
        """One matter's guide (办事指南) and its application form. Public."""
        with services().sessions() as session:
            return _matter_view(session, _matter(session, code), with_form=True)


@blp.route("/matters/<code>/schema")
class MatterFormSchema(MethodView):
    @blp.response(200, FormJsonSchema)
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(503, "SERVICE_UNAVAILABLE")
    @blp.doc(security=[])
    def get(self, code: str) -> dict:
        """The matter's application form as JSON Schema: the data a submission sends. Public."""
        with services().sessions() as session:
            return form_schema(session, _matter(session, code), required=True)


def form_schema(session, matter: Matter, required: bool = False) -> dict | None:
    """The live version's form as JSON Schema (forms/json_schema.py); before a first
    deployment None, or NotFound if ``required``."""
    definition = current_definition(session, matter.code, required=required)
    return None if definition is None else form_json_schema(compiled(definition).form, matter.name)


@blp.route("/matters/<code>/materials")
class ScenarioMaterials(MethodView):
    @blp.arguments(SituationSchema)
    @blp.response(200, MaterialsListSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(503, "SERVICE_UNAVAILABLE")
    @blp.doc(security=[])
    def post(self, situation: dict, code: str) -> dict:
        """场景式服务: given the answers to the guide's situation questions, the materials to prepare. Public."""
        with services().sessions() as session:
            return materials_for(_matter(session, code).elements, situation["answers"])


@blp.route("/applications")
class Applications(MethodView):
    @blp.response(200, ApplicationSchema(many=True))
    @roles(*SUBMITTERS)
    def get(self):
        """My applications, newest first: those I submitted and those made in my name (授权代办)."""
        return services().applications.mine(g.user)

    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.arguments(SubmissionSchema)
    @blp.response(201, ApplicationSchema, description="decided within the request (秒批)")
    @blp.alt_response(202, schema=ApplicationSchema, description="accepted; follow status_url")
    @blp.alt_response(200, schema=ApplicationSchema, description="replay of an earlier Idempotency-Key")
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(429, "TOO_MANY_REQUESTS")
    @blp.alt_response(403, "FORBIDDEN")
    @roles(*SUBMITTERS)
    def post(self, headers: dict, submission: dict):
        """Submit an application for yourself, a company you act for, or a person who authorised
        you (授权代办); otherwise 403 naming the rule. Validation errors of every field come at
        once (422); the names are filled from the registry (秒填) and checked. ``uploads`` (ids from
        POST /api/uploads) become part of it (422 naming ``uploads.<n>`` if one may not)."""
        application, created = services().applications.submit(
            g.user, submission["matter"], submission["data"], headers.get("idempotency_key"),
            region=submission["region"], uploads=submission["uploads"], upload_limit=uploads().limits.max_per_application)
        if not created:
            return application, 200, {"Idempotent-Replayed": "true"}
        status = 201 if application.status == ApplicationStatus.COMPLETED or application.outcome else 202
        return application, status, {"Location": f"/api/applications/{application.public_ref}"}


def application_id(reference: str) -> int:
    """The internal id of the application a path names (its reference; staff: or its id)."""
    with services().sessions() as session:
        return application_id_for(session, g.user, reference)


@blp.route(f"/applications/<{APPLICATION_REF}:reference>")
class ApplicationDetail(MethodView):
    @blp.response(200, ApplicationDetailSchema)
    @blp.alt_response(404, "NOT_FOUND")
    @roles()
    def get(self, reference: str):
        """An application with its decision, the reasons and facts behind it, and its history.
        Applicants name it by its reference, staff also by its id; personal answers are
        masked for analysts, supervisors and admins."""
        application, history, steps = services().applications.get(g.user, application_id(reference))
        application.history, application.steps = history, steps
        return application


class WhereaboutsSchema(Schema):
    reference = fields.String(metadata={"example": "q3Zk9uH2sV0bX1eN7wA5Pg"})
    matter = fields.String(metadata={"example": "road_occupation"})
    definition_version = fields.Integer(metadata={"description": "the version it runs on", "example": 1})
    bpmn = fields.String(metadata={"description": "the BPMN (with its diagram) of that version",
                                   "example": "<bpmn:definitions ...>"})
    current = fields.List(fields.String(), metadata={
        "description": "element ids where it is now: a person's step waiting, work waiting for a source",
        "example": ["Task_review"]})
    done = fields.List(fields.String(), metadata={"description": "element ids it has passed",
                                                  "example": ["StartEvent_submitted", "Task_intake"]})


@blp.route(f"/applications/<{APPLICATION_REF}:reference>/diagram")
class ApplicationDiagram(MethodView):
    @blp.response(200, WhereaboutsSchema)
    @blp.alt_response(404, "NOT_FOUND")
    @roles()
    def get(self, reference: str) -> Whereabouts:
        """Where the application is: its version's BPMN, the current and the passed elements.

        For whoever may read the application (GET /api/applications/{reference}); else 404."""
        with services().sessions() as session:
            return whereabouts(session, g.user, application_id(reference))


def _request_body(published: dict) -> dict:
    """A form's JSON Schema as an OpenAPI 3.0 request body (which reads no $schema and no
    examples: the first example is its example)."""
    schema = {key: value for key, value in published.items() if key not in ("$schema", "examples")}
    example = published["examples"][0]
    return {"required": True, "content": {"application/json": {"schema": schema | {"example": example}}}}


# 补正's body is the answer to the supplement task form (forms/tasks/supplement.form.json): taken as an open
# object (TaskAnswerSchema) and checked by the engine like every task answer; documented as the form's JSON Schema
SUPPLEMENT_BODY = _request_body(form_json_schema(TASK_FORMS["supplement"].form, "补正材料"))


@blp.route(f"/applications/<{APPLICATION_REF}:reference>/supplement")
class Supplement(MethodView):
    @blp.arguments(TaskAnswerSchema)
    @blp.doc(requestBody=SUPPLEMENT_BODY)
    @blp.response(200, ApplicationSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(409, "CONFLICT")
    @roles(*SUBMITTERS)
    def post(self, answer: dict, reference: str):
        """补正: hand in every material the window asked for; the clock resumes. The body is the
        answer to the supplement form (422 naming each field, an item's as ``materials.0.name``);
        a material whose reference is ``upload:<id>`` (POST /api/uploads) attaches that file."""
        return services().applications.supplement(g.user, application_id(reference), answer,
                                                  upload_limit=uploads().limits.max_per_application)
