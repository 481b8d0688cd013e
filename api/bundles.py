"""Bundles (一件事一次办), the cart (政务超市) and the four-reductions report (四减)."""
from __future__ import annotations

from flask import Response, current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from api.applicants import application_id
from api.auth import roles
from api.context import services
from api.schemas import APPLICATION_REF, IdempotencyHeaderSchema, MaterialsListSchema, UtcDateTime
from engine.access import SUBMITTERS
from engine.bundles.cart import MAX_ORDER
from engine.bundles.members import MemberProgress
from engine.bundles.policy import BundlePolicy
from engine.definitions.versions import current_definition
from engine.oversight.four_reductions import Scope, as_csv, four_reductions
from engine.people.regions import sees_every_region
from engine.store.models import ApplicationStatus, Matter

blp = Blueprint("bundles", __name__, url_prefix="/api",
                description="Bundles 一件事一次办, the cart 政务超市, four reductions 四减")

MATTER_CODES = fields.List(
    fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$", error="事项编码为1至64位字母、数字、下划线或连字符")),
    required=True, validate=validate.Length(min=1, max=MAX_ORDER, error=f"一次可办理1至{MAX_ORDER}个事项"),
    metadata={"example": ["senior_card", "resident_pension"]})


STATUS_EXAMPLE = {
    "reference": "q3Zk9uH2sV0bX1eN7wA5Pg", "tracking_no": "20260302A1B2C3D4E5", "bundle": "business_startup",
    "name": "企业开办一件事", "status": "waiting", "outcome": None, "due_at": "2026-03-03T16:00:00+00:00",
    "counts": {"done": 3, "in_progress": 2}, "delivery": None,
    "members": [{"matter": "company_registration", "name": "企业设立登记", "department": "market_regulation",
                 "department_name": "市场监督管理局", "state": "done", "tracking_no": "20260302F6A7B8C9D0",
                 "status": "completed", "outcome": "approve", "reasons": [], "due_at": "2026-03-03T16:00:00+00:00",
                 "colour": "green", "result": {"licence_no": "琼市监登字〔2026〕第000001号"},
                 "result_no": "琼市监登字〔2026〕第000001号"},
                {"matter": "invoice_application", "name": "发票申领（首次）", "department": "tax",
                 "department_name": "税务局", "state": "in_progress", "tracking_no": "20260302E1F2A3B4C5",
                 "status": "waiting", "outcome": None, "reasons": [], "due_at": "2026-03-04T16:00:00+00:00",
                 "colour": "green", "result": None, "result_no": None}]}


class BundleSubmissionSchema(Schema):
    data = fields.Dict(required=True, metadata={
        "description": "the answers to the bundle's one form (GET /api/bundles): each field once",
        "example": {"id_number": "110105195803140214", "phone": "13800138000", "company_name": "海口椰风科技有限公司",
                    "has_employees": "no"}})


class OrderSchema(Schema):
    matters = MATTER_CODES
    data = fields.Dict(required=True, metadata={"description": "the answers to the merged form (POST /api/cart/form)",
                                                "example": {"id_number": "110105195803140214",
                                                            "phone": "13800138000"}})


class CartSchema(Schema):
    matters = MATTER_CODES


class BundleMemberSchema(Schema):
    matter = fields.String()
    name = fields.String()
    department = fields.String(allow_none=True)
    department_name = fields.String(allow_none=True)
    state = fields.String(metadata={"description": " | ".join(MemberProgress)})
    tracking_no = fields.String()
    status = fields.String()
    outcome = fields.String(allow_none=True)
    reasons = fields.List(fields.String(), metadata={"description": "why it was answered so (refusals)"})
    due_at = fields.String(allow_none=True)
    colour = fields.String()
    result = fields.Dict(allow_none=True)
    result_no = fields.String(allow_none=True)


class BundleStatusSchema(Schema):
    class Meta:
        example = STATUS_EXAMPLE

    reference = fields.String(metadata={"description": "the bundle application's reference (查询号)"})
    tracking_no = fields.String()
    bundle = fields.String()
    name = fields.String()
    status = fields.String(metadata={"description": "running | waiting | completed | failed"})
    outcome = fields.String(allow_none=True, metadata={
        "description": "once every member is answered: approve (all) | reject (none) | partial"})
    due_at = fields.String(allow_none=True, metadata={"description": "the combined deadline: the longest member's"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    members = fields.List(fields.Nested(BundleMemberSchema))
    delivery = fields.Dict(allow_none=True, metadata={"description": "一窗出件: pickup or mail, once handed out"})


class BundleSchema(Schema):
    class Meta:
        example = {"code": "business_startup", "name": "企业开办一件事", "promised_days": 1,
                   "members": [{"matter": "company_registration", "name": "企业设立登记", "when": {}},
                               {"matter": "social_insurance_registration", "name": "单位参保登记",
                                "when": {"has_employees": "yes"}}],
                   "form": {"id": "business_startup", "components": ["…"]}}

    code = fields.String()
    name = fields.String()
    promised_days = fields.Integer()
    members = fields.List(fields.Dict(), metadata={"description": "matter, name, when (selected by the form)"})
    form = fields.Dict(metadata={"description": "the one form (form-js)"})


class ReportQuerySchema(Schema):
    matter = fields.String(validate=validate.Length(min=1, max=64))
    since = UtcDateTime(metadata={"description": "measure applications submitted from then"})
    until = UtcDateTime(metadata={"description": "… and before then"})

    @validates_schema
    def _a_period(self, data: dict, **_kwargs) -> None:
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise ValidationError("until 须晚于 since (until must be after since)", "until")


class FourReductionsSchema(Schema):
    """One row of the four-reductions report (engine/oversight/four_reductions.py ``FourReductions``)."""

    class Meta:
        example = {
            "matter": "rental_filing", "name": "房屋租赁备案", "kind": "matter", "finished": 120, "baseline_days": 7,
            "legal_days": 3, "promised_days": 1, "average_days": 0.2, "p90_days": 1, "baseline_steps": 3, "steps": 1,
            "average_steps": 0.1, "baseline_materials": 5, "materials": 3, "average_materials": 1.0,
            "baseline_trips": 2, "trips": 0, "average_trips": 0.0}

    matter = fields.String()
    name = fields.String()
    kind = fields.String(metadata={"description": "matter | bundle"})
    finished = fields.Integer(metadata={"description": "finished applications measured"})
    baseline_days = fields.Integer(allow_none=True, metadata={"description": "改革前 working days"})
    legal_days = fields.Integer()
    promised_days = fields.Integer()
    average_days = fields.Float(allow_none=True, metadata={"description": "measured, submission to answer"})
    p90_days = fields.Integer(allow_none=True)
    baseline_steps = fields.Integer(allow_none=True)
    steps = fields.Integer(metadata={"description": "staff steps of the BPMN (a bundle: with its members')"})
    average_steps = fields.Float(allow_none=True, metadata={"description": "staff tasks completed, measured"})
    baseline_materials = fields.Integer(allow_none=True)
    materials = fields.Integer(metadata={"description": "materials required in every case"})
    average_materials = fields.Float(allow_none=True, metadata={"description": "handed in by the applicant, measured"})
    baseline_trips = fields.Integer(allow_none=True)
    trips = fields.Integer(metadata={"description": "visits the handling depth requires"})
    average_trips = fields.Float(allow_none=True, metadata={"description": "window pickups, measured"})


@blp.route("/bundles")
class Bundles(MethodView):
    @blp.response(200, BundleSchema(many=True))
    @blp.alt_response(503, "SERVICE_UNAVAILABLE")
    @blp.doc(security=[])
    def get(self) -> list[dict]:
        """The bundles (一件事) with their members and one form. Public."""
        with services().sessions() as session:
            views = []
            for matter in session.scalars(select(Matter).order_by(Matter.code)):
                definition = current_definition(session, matter.code, required=False)
                policy = BundlePolicy.of(definition.policy) if definition else None
                if policy is None or policy.cart:
                    continue
                views.append({"code": matter.code, "name": matter.name, "promised_days": matter.promised_days,
                              "members": [{"matter": m.matter, "name": session.get(Matter, m.matter).name,
                                           "when": dict(m.when)} for m in policy.members],
                              "form": current_app.json.loads(definition.form)})
            return views


def _answer(bundle, created: bool):
    status = services().bundles.status(g.user, bundle.id)
    if not created:
        return status, 200, {"Idempotent-Replayed": "true"}
    code = 201 if bundle.status == ApplicationStatus.COMPLETED else 202
    return status, code, {"Location": f"/api/applications/{bundle.public_ref}/bundle"}


@blp.route("/bundles/<code>/applications")
class BundleApplications(MethodView):
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.arguments(BundleSubmissionSchema)
    @blp.response(202, BundleStatusSchema, description="started: members run in their departments")
    @blp.alt_response(201, schema=BundleStatusSchema, description="every member answered within the request")
    @blp.alt_response(200, schema=BundleStatusSchema, description="replay of an earlier Idempotency-Key")
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(429, "TOO_MANY_REQUESTS")
    @roles(*SUBMITTERS)
    def post(self, headers: dict, submission: dict, code: str):
        """一件事一次办: one form for every member matter. An error names the bundle field and each
        member that needs it (422); whom it is for is checked for every member (403)."""
        bundle, created = services().bundles.submit(g.user, code, submission["data"], headers.get("idempotency_key"))
        return _answer(bundle, created)


@blp.route(f"/applications/<{APPLICATION_REF}:reference>/bundle")
class BundleStatus(MethodView):
    @blp.response(200, BundleStatusSchema)
    @blp.alt_response(404, "NOT_FOUND")
    @roles()
    def get(self, reference: str):
        """A bundle's combined status: each member's state, answer and why, deadline and result."""
        return services().bundles.status(g.user, application_id(reference))


class CartSituationSchema(Schema):
    matters = MATTER_CODES
    answers = fields.Dict(keys=fields.String(validate=validate.Length(max=64)), values=fields.Dict(),
                          load_default=dict, metadata={
                              "description": "matter -> question id -> chosen option (each matter's guide scenarios)",
                              "example": {"hygiene_licence": {"central_ac": "yes", "new_venue": "no",
                                                              "commitment": "yes"}}})


class CartMaterialsSchema(MaterialsListSchema):
    class Meta:
        example = {"matter": "senior_card", "name": "老年人优待证", "answers": {}, "conditions": ["年满60周岁"],
                   "materials": [{"name": "居民身份证", "required": True, "form": "electronic",
                                  "source": "licence_library"}]}

    matter = fields.String()
    name = fields.String()


class MergedFormSchema(Schema):
    class Meta:
        example = {"type": "default", "id": "cart", "schemaVersion": 16, "components": [
            {"type": "textfield", "key": "id_number", "label": "身份证号码",
             "properties": {"format": "resident_id", "needed_by": ["老年人优待证", "用水过户"]}}]}

    type = fields.String()
    id = fields.String()
    schemaVersion = fields.Integer()
    components = fields.List(fields.Dict(), metadata={
        "description": "each field once; properties.needed_by names the matters that need it"})


@blp.route("/cart/form")
class CartForm(MethodView):
    @blp.arguments(CartSchema)
    @blp.response(200, MergedFormSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @roles(*SUBMITTERS)
    def post(self, cart: dict):
        """政务超市: the one form for the matters in the cart, each shared field once; a cart that
        cannot be ordered is refused naming each matter and why (422)."""
        return services().bundles.merged_form(cart["matters"], g.user)


@blp.route("/cart/materials")
class CartMaterials(MethodView):
    @blp.arguments(CartSituationSchema)
    @blp.response(200, CartMaterialsSchema(many=True))
    @blp.alt_response(400, "BAD_REQUEST")
    @roles(*SUBMITTERS)
    def post(self, situation: dict):
        """场景式服务 for the cart: each matter's materials for the answers to its own situation
        questions; an unanswered or unknown question is a 422 naming matter and question."""
        return services().bundles.materials(g.user, situation["matters"], situation["answers"])


@blp.route("/cart/orders")
class CartOrders(MethodView):
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.arguments(OrderSchema)
    @blp.response(202, BundleStatusSchema, description="ordered: each matter runs as its own application")
    @blp.alt_response(201, schema=BundleStatusSchema, description="every matter answered within the request")
    @blp.alt_response(200, schema=BundleStatusSchema, description="replay of an earlier Idempotency-Key")
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(429, "TOO_MANY_REQUESTS")
    @roles(*SUBMITTERS)
    def post(self, headers: dict, order: dict):
        """政务超市: one order of the cart's matters with the merged form's answers (多项业务、一次下单、
        批量办理); for yourself or for a principal who authorised you for each matter (授权代办)."""
        bundle, created = services().bundles.order(g.user, order["matters"], order["data"],
                                                   headers.get("idempotency_key"))
        return _answer(bundle, created)


@blp.route("/reports/four-reductions")
class FourReductionsReport(MethodView):
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, FourReductionsSchema(many=True))
    @blp.alt_response(404, "NOT_FOUND")
    @roles("supervisor", "analyst", "admin")
    def get(self, query: dict):
        """四减: per matter and bundle, the pre-reform baseline beside today's limits and the
        measured time, steps, materials and trips (a supervisor's: their region's cases)."""
        return _report(query)


@blp.route("/reports/four-reductions.csv")
class FourReductionsCsv(MethodView):
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, content_type="text/csv", description="the same figures as CSV, one row per matter")
    @blp.alt_response(404, "NOT_FOUND")
    @roles("supervisor", "analyst", "admin")
    def get(self, query: dict):
        """四减 as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese names)."""
        return Response(as_csv(_report(query)), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=four-reductions.csv"})


def _report(query: dict) -> list[dict]:
    scope = Scope(None if sees_every_region(g.user) else g.user.region, query.get("since"), query.get("until"))
    with services().sessions() as session:
        return [f.as_row() for f in four_reductions(session, services().calendar, query.get("matter"), scope)]
