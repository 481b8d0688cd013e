"""Incidents (analysts, admins): failed runs with the element and the error, and their retry
once a fixed version is deployed."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import services
from api.auth import roles
from api.masking import MaskedSchema
from api.schemas import ROW_ID, ApplicationSchema, UtcDateTime

blp = Blueprint("incidents", __name__, url_prefix="/api/incidents", description="Incidents of failed runs")



class IncidentQuerySchema(Schema):
    application = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class IncidentSchema(MaskedSchema):
    id = fields.Integer()
    application_id = fields.Integer()
    matter = fields.String(attribute="matter_code")
    definition_version = fields.Integer()
    element_id = fields.String(metadata={"description": "the BPMN element that failed"})
    kind = fields.String(metadata={"description": "script_error | budget_exceeded | no_end_event"})
    error = fields.String(metadata={"description": "the technical error (never shown to the applicant)"})
    status = fields.String(metadata={"description": "open | resolved"})
    created_at = UtcDateTime()


@blp.route("")
class Incidents(MethodView):
    @blp.arguments(IncidentQuerySchema, location="query")
    @blp.response(200, IncidentSchema(many=True))
    @roles("analyst", "admin")
    def get(self, query: dict):
        """Open incidents, oldest first."""
        return services().incidents.open(g.user, query.get("application"), query["limit"])


@blp.route(f"/<{ROW_ID}:incident_id>/retry")
class Retry(MethodView):
    @blp.response(200, ApplicationSchema)
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(409, "CONFLICT")
    @roles("analyst", "admin")
    def post(self, incident_id: int):
        """Run the failed step again (on the newest version when its state fits it)."""
        return services().incidents.retry(g.user, incident_id)
