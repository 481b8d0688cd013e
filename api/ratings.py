"""好差评: applicants rate finished applications; bad reviews open rectifications."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import services
from api.auth import roles
from api.masking import MaskedSchema
from api.applicants import application_id
from api.schemas import APPLICATION_REF, ROW_ID, UtcDateTime
from engine.store.models import RectificationStatus
from engine.oversight.ratings import LEVELS

blp = Blueprint("ratings", __name__, url_prefix="/api", description="Service ratings 好差评 and rectification")




class RateSchema(Schema):
    level = fields.Integer(required=True, validate=validate.OneOf(list(LEVELS)),
                           metadata={"description": ", ".join(f"{k} {v}" for k, v in LEVELS.items())})
    comment = fields.String(load_default="", validate=validate.Length(max=1000))


class RatingSchema(MaskedSchema):
    id = fields.Integer()
    application_id = fields.Integer()
    matter = fields.String(attribute="matter_code")
    matter_name = fields.String(metadata={"example": "高龄老人长寿补贴"})
    department = fields.String()
    department_name = fields.String(metadata={"example": "民政局"})
    level = fields.Integer()
    comment = fields.String()
    created_at = UtcDateTime()


class RectificationSchema(Schema):
    id = fields.Integer()
    rating = fields.Nested(RatingSchema)
    department = fields.String()
    department_name = fields.String(metadata={"example": "民政局"})
    status = fields.String()
    due_at = UtcDateTime()
    created_at = UtcDateTime()
    resolved_at = UtcDateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    answer = fields.String(allow_none=True)


class RectificationQuerySchema(Schema):
    status = fields.String(load_default=RectificationStatus.OPEN, validate=validate.OneOf(list(RectificationStatus)))


class RatingStatisticsSchema(Schema):
    matters = fields.Dict(metadata={"description": "matter code -> count, levels, bad, satisfaction"})
    departments = fields.Dict(metadata={"description": "department code -> count, levels, bad, satisfaction"})
    matter_names = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "code -> 名称 of the matters rated", "example": {"elderly_subsidy": "高龄老人长寿补贴"}})
    department_names = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "code -> 名称 of the departments rated", "example": {"civil_affairs": "民政局"}})


class ResolveSchema(Schema):
    answer = fields.String(required=True, validate=validate.Length(min=1, max=2000))


@blp.route(f"/applications/<{APPLICATION_REF}:reference>/rating")
class Rate(MethodView):
    @blp.arguments(RateSchema)
    @blp.response(201, RatingSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(409, "CONFLICT")
    @roles("applicant")
    def post(self, rating: dict, reference: str):
        """Rate my finished application once; 非常不满意 or 不满意 opens a rectification."""
        return services().ratings.rate(g.user, application_id(reference), rating["level"], rating["comment"])


@blp.route("/rectifications")
class Rectifications(MethodView):
    @blp.arguments(RectificationQuerySchema, location="query")
    @blp.response(200, RectificationSchema(many=True))
    @roles("clerk", "supervisor", "admin")
    def get(self, query: dict):
        """Rectifications of bad reviews: a clerk's department's, or all for supervisors."""
        return services().ratings.rectifications(g.user, query["status"])


@blp.route(f"/rectifications/<{ROW_ID}:rectification_id>/resolve")
class Resolve(MethodView):
    @blp.arguments(ResolveSchema)
    @blp.response(200, RectificationSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(409, "CONFLICT")
    @roles("clerk")
    def post(self, resolution: dict, rectification_id: int):
        """The department's answer closes the rectification."""
        return services().ratings.resolve(g.user, rectification_id, resolution["answer"])


@blp.route("/ratings/statistics")
class Statistics(MethodView):
    @blp.response(200, RatingStatisticsSchema)
    @roles("supervisor", "admin")
    def get(self):
        """Ratings per matter and per department: counts per level, bad reviews, satisfaction."""
        return services().ratings.statistics(g.user)
