"""Supervisors (电子监察): overdue and near-due cases, counts, handling times."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import services
from api.auth import roles
from api.schemas import UtcDateTime

blp = Blueprint("supervisors", __name__, url_prefix="/api/supervision",
                description="Electronic supervision 电子监察 (supervisors, admins)")




class CaseQuerySchema(Schema):
    department = fields.String(validate=validate.Length(max=64))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class CaseSchema(Schema):
    application_id = fields.Integer()
    tracking_no = fields.String()
    matter = fields.String()
    department = fields.String()
    colour = fields.String(metadata={"description": "green | yellow (80% of the promised limit used) | red (overdue)"})
    due_at = UtcDateTime(allow_none=True, metadata={"description": "none while the clock is paused"})
    paused = fields.Boolean()


class CountsSchema(Schema):
    departments = fields.Dict(keys=fields.String(), values=fields.Dict())
    clerks = fields.Dict(keys=fields.String(), values=fields.Dict())


class HandlingSchema(Schema):
    matter = fields.String()
    name = fields.String()
    completed = fields.Integer()
    average_working_days = fields.Float()
    promised_days = fields.Integer()
    within_limit = fields.Integer()


@blp.route("/overdue")
class Overdue(MethodView):
    @blp.arguments(CaseQuerySchema, location="query")
    @blp.response(200, CaseSchema(many=True))
    @roles("supervisor", "admin")
    def get(self, query: dict):
        """Open applications past their promised limit (red), soonest due first."""
        return services().supervision.cases(g.user, ("red",), query.get("department"), query["limit"])


@blp.route("/near-due")
class NearDue(MethodView):
    @blp.arguments(CaseQuerySchema, location="query")
    @blp.response(200, CaseSchema(many=True))
    @roles("supervisor", "admin")
    def get(self, query: dict):
        """Open applications that used 80% of their promised limit (yellow)."""
        return services().supervision.cases(g.user, ("yellow",), query.get("department"), query["limit"])


@blp.route("/counts")
class Counts(MethodView):
    @blp.response(200, CountsSchema)
    @roles("supervisor", "admin")
    def get(self):
        """Open applications per department and colour; claimed tasks per clerk and colour."""
        return services().supervision.counts(g.user)


@blp.route("/handling")
class Handling(MethodView):
    @blp.response(200, HandlingSchema(many=True))
    @roles("supervisor", "admin")
    def get(self):
        """Average handling time per matter in working days, against its promised limit."""
        return services().supervision.handling(g.user)
