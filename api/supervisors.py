"""Supervisors (电子监察): overdue and near-due cases, counts, handling times, incidents
counted. Matters, departments and clerks come with the names a person reads."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import services
from api.auth import roles
from api.schemas import UtcDateTime, worded
from engine import words

blp = Blueprint("supervisors", __name__, url_prefix="/api/supervision",
                description="Electronic supervision 电子监察 (supervisors, admins)")




class CaseQuerySchema(Schema):
    department = fields.String(validate=validate.Length(max=64))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ClerkSchema(Schema):
    username = fields.String()
    name = fields.String(metadata={"description": "the clerk's display name", "example": "民政局窗口"})


class CaseSchema(Schema):
    application_id = fields.Integer()
    tracking_no = fields.String()
    matter = fields.String()
    matter_name = fields.String(metadata={"example": "高龄老人长寿补贴"})
    department = fields.String()
    department_name = fields.String(metadata={"example": "民政局"})
    colour = fields.String(metadata={"description": "green | yellow (80% of the promised limit used) | red (overdue)"})
    colour_label = worded(words.COLOUR, "colour", "已超期")
    due_at = UtcDateTime(allow_none=True, metadata={"description": "none while the clock is paused"})
    paused = fields.Boolean()
    days_overdue = fields.Integer(metadata={"description": "working days past the last allowed day (0: not yet, "
                                                           "or overdue since less than a working day)", "example": 2})
    clerks = fields.List(fields.Nested(ClerkSchema), metadata={
        "description": "who holds its open tasks (claimed); empty: not claimed yet",
        "example": [{"username": "clerk_civil", "name": "民政局窗口"}]})


class CountsSchema(Schema):
    departments = fields.Dict(keys=fields.String(), values=fields.Dict())
    clerks = fields.Dict(keys=fields.String(), values=fields.Dict())
    department_names = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "code -> 名称 of the departments counted", "example": {"civil_affairs": "民政局"}})
    clerk_names = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "username -> display name of the clerks counted", "example": {"clerk_civil": "民政局窗口"}})
    colour_names = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "colour -> its words (engine/words.py)", "example": {"red": "已超期"}})


class HandlingSchema(Schema):
    matter = fields.String()
    name = fields.String()
    department = fields.String()
    department_name = fields.String(metadata={"example": "民政局"})
    completed = fields.Integer()
    average_working_days = fields.Float()
    promised_days = fields.Integer()
    within_limit = fields.Integer()


class IncidentCountSchema(Schema):
    matter = fields.String()
    matter_name = fields.String(metadata={"example": "高龄老人长寿补贴"})
    department = fields.String()
    department_name = fields.String(metadata={"example": "民政局"})
    kind = fields.String(metadata={"description": "script_error | budget_exceeded | no_end_event",
                                   "example": "script_error"})
    open = fields.Integer(metadata={"description": "open incidents of this matter and kind", "example": 2})
    oldest_at = UtcDateTime(metadata={"description": "when the oldest of them failed",
                                      "example": "2026-03-02T01:30:00+00:00"})


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


@blp.route("/incidents")
class IncidentCounts(MethodView):
    @blp.response(200, IncidentCountSchema(many=True))
    @roles("supervisor", "admin")
    def get(self):
        """Open incidents (failed runs sent to manual handling) per matter and kind, counted:
        the errors themselves stay with analysts and admins (GET /api/incidents)."""
        return services().supervision.incidents(g.user)
