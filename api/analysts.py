"""Analysts: deploy and list service definitions."""
from __future__ import annotations

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from api.auth import roles
from api.schemas import DefinitionSchema, DefinitionUploadSchema
from engine.definitions import DefinitionUpload, deploy, definition_summary
from engine.models import ServiceDefinition

blp = Blueprint("analysts", __name__, url_prefix="/api/definitions", description="Service definitions (analysts)")


def _engine():
    return current_app.extensions["onewindow"]


@blp.route("")
class Definitions(MethodView):
    @blp.response(200, DefinitionSchema(many=True))
    @roles("analyst", "admin", "supervisor")
    def get(self):
        """Every deployed version, newest first."""
        with _engine().sessions() as session:
            rows = session.scalars(select(ServiceDefinition).order_by(
                ServiceDefinition.matter_code, ServiceDefinition.version.desc()))
            return [definition_summary(d) for d in rows]

    @blp.arguments(DefinitionUploadSchema)
    @blp.response(201, DefinitionSchema)
    @blp.alt_response(200, schema=DefinitionSchema, description="same files as the current version")
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @roles("analyst", "admin")
    def post(self, upload: dict):
        """Deploy a new version; refused with 400 and every problem (file, element, reason)."""
        engine = _engine()
        files = DefinitionUpload(matter_code=upload["matter"], bpmn=upload["bpmn"], ruleset=upload["ruleset"],
                                 form=upload["form"], dmn=upload["dmn"])
        with engine.sessions() as session:
            definition, created = deploy(session, files, g.user.username, set(engine.sources))
            session.commit()
            return {**definition_summary(definition), "created": created}, 201 if created else 200
