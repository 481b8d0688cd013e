"""The audit trail (审计日志), read-only: no endpoint edits or deletes an event."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import or_, select

from api.context import services
from api.auth import roles
from api.schemas import EventSchema
from engine.people import regions
from engine.store.models import Application, Event, User

blp = Blueprint("audit", __name__, url_prefix="/api/events", description="Audit trail (supervisors, admins)")


class EventQuerySchema(Schema):
    application_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    kind = fields.String(validate=validate.Length(max=40))
    actor = fields.String(validate=validate.Length(max=64))
    before_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1), metadata={"description": "page: events older than this id"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AuditEventSchema(EventSchema):
    id = fields.Integer()
    application_id = fields.Integer(allow_none=True)


@blp.route("")
class Events(MethodView):
    @blp.arguments(EventQuerySchema, location="query")
    @blp.response(200, AuditEventSchema(many=True))
    @roles("supervisor", "admin")
    def get(self, query: dict):
        """Who did what and when: decisions, claims, completions, deployments, logins. A
        supervisor sees their region's (engine/people/regions.py): its applications' events, and of
        the others those of its people and of the system (deployments, scheduled jobs)."""
        statement = select(Event).order_by(Event.id.desc()).limit(query["limit"])
        if not regions.sees_every_region(g.user):
            region = g.user.region
            statement = (statement.outerjoin(Application, Application.id == Event.application_id)
                         .outerjoin(User, User.username == Event.actor)
                         .where(or_(Application.region == region, Event.application_id.is_(None)
                                    & (User.id.is_(None) | (User.region == region)))))
        for name in ("application_id", "kind", "actor"):
            if name in query:
                statement = statement.where(getattr(Event, name) == query[name])
        if "before_id" in query:
            statement = statement.where(Event.id < query["before_id"])
        with services().sessions() as session:
            return list(session.scalars(statement))
