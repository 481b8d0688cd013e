"""Privacy by need: personal data in full with a stated reason (staff who see it masked),
and who looked at mine (applicants). engine/oversight/privacy.py."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import services
from api.applicants import application_id
from api.auth import roles
from api.schemas import APPLICATION_REF, UtcDateTime
from engine.oversight.privacy import MASKED_ROLES, MIN_REASON, data_access, personal_data

blp = Blueprint("privacy", __name__, url_prefix="/api", description="Personal data: full views and who looked")



class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=MIN_REASON, max=500), metadata={
        "description": f"why the full data is needed, at least {MIN_REASON} characters; the applicant reads it",
        "example": "核查补贴发放账户，工单 2026-0312 申请人来电投诉未到账"})


class PersonalDataSchema(Schema):
    reference = fields.String(metadata={"example": "q3Zk9uH2sV0bX1eN7wA5Pg"})
    tracking_no = fields.String()
    matter = fields.String()
    personal_data = fields.Dict(metadata={"description": "the personal answers in full (the form declares which)",
                                          "example": {"id_number": "110105195803140214", "phone": "13800138000"}})


class DataAccessSchema(Schema):
    reference = fields.String(metadata={"description": "my application's reference", "example": "q3Zk9uH2sV0bX1eN7wA5Pg"})
    tracking_no = fields.String()
    matter = fields.String()
    viewer = fields.String(metadata={"description": "who looked", "example": "supervisor"})
    viewer_role = fields.String(metadata={"example": "supervisor"})
    at = UtcDateTime()
    reason = fields.String(metadata={"example": "核查补贴发放账户，工单 2026-0312 申请人来电投诉未到账"})
    fields_seen = fields.List(fields.String(), attribute="fields", data_key="fields",
                              metadata={"description": "which answers", "example": ["id_number", "phone"]})


@blp.route(f"/applications/<{APPLICATION_REF}:reference>/personal-data")
class PersonalData(MethodView):
    @blp.arguments(ReasonSchema)
    @blp.response(200, PersonalDataSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(429, "TOO_MANY_REQUESTS")
    @roles(*sorted(MASKED_ROLES))  # those who see it masked
    def post(self, body: dict, reference: str):
        """An application's personal answers in full, for a stated reason; recorded, and
        shown to the applicant (GET /api/me/data-access)."""
        wired = services()
        with wired.sessions() as session:
            answer = personal_data(session, g.user, application_id(reference), body["reason"], wired.clock())
            session.commit()
        return answer


@blp.route("/me/data-access")
class DataAccess(MethodView):
    @blp.response(200, DataAccessSchema(many=True))
    @roles("applicant")
    def get(self):
        """谁查看了我的信息: who saw my applications' personal data in full, when and why."""
        with services().sessions() as session:
            return data_access(session, g.user)
