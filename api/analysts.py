"""Analysts: deploy and list service definitions; replay a candidate rule set or DMN table
against a matter's recorded applications before deploying it."""
from __future__ import annotations

from dataclasses import replace

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from api.context import services
from api.auth import roles
from api.schemas import (DefinitionSchema, DefinitionUploadSchema, DeployedDefinitionSchema, ReplayReportSchema,
                         ReplayRequestSchema, ValidationReportSchema)
from engine.definitions.versions import DefinitionUpload, deploy, definition_summary, upload_warnings, validate_upload
from engine.people.assignment import Staffing
from engine.errors import DeploymentRefused, NotFound, as_dicts
from engine.store.models import Matter, ServiceDefinition
from engine.definitions.replay import replay, report_dict

blp = Blueprint("analysts", __name__, url_prefix="/api/definitions", description="Service definitions (analysts)")



@blp.route("")
class Definitions(MethodView):
    @blp.response(200, DefinitionSchema(many=True))
    @roles("analyst", "admin", "supervisor")
    def get(self):
        """Every deployed version, newest first."""
        with services().sessions() as session:
            rows = session.scalars(select(ServiceDefinition).order_by(
                ServiceDefinition.matter_code, ServiceDefinition.version.desc()))
            return [definition_summary(d) for d in rows]

    @blp.arguments(DefinitionUploadSchema)
    @blp.response(201, DeployedDefinitionSchema)
    @blp.alt_response(200, schema=DeployedDefinitionSchema, description="same files as the current version")
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @roles("analyst", "admin")
    def post(self, upload: dict):
        """Deploy a new version; refused with 400 and every problem (file, element, reason)."""
        wired = services()
        files = _upload(upload)
        with wired.sessions() as session:
            definition, created = deploy(session, files, g.user.username, set(wired.sources))
            session.commit()
            return ({**definition_summary(definition), "created": created, "warnings": as_dicts(upload_warnings(files))},
                    201 if created else 200)


@blp.route("/validate")
class Validate(MethodView):
    @blp.arguments(DefinitionUploadSchema)
    @blp.response(200, ValidationReportSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @roles("analyst", "admin")
    def post(self, upload: dict):
        """Dry run of a deploy: every problem (the list a deploy would refuse with) and the
        warnings; nothing is stored."""
        wired = services()
        try:
            files = _upload(upload)
        except DeploymentRefused as refused:  # the files make no definition: that is the report
            return {"deployable": False, "problems": as_dicts(refused.problems), "warnings": []}
        with wired.sessions() as session:
            matter = session.get(Matter, files.matter_code)
            if matter is None:
                raise NotFound(f"no matter with code {files.matter_code!r} in the catalogue")
            files = replace(files, policy=dict(matter.elements))  # what a deploy would version with it
            problems = validate_upload(files, set(wired.sources), Staffing.of(session), matter.department)
        return {"deployable": not problems, "problems": as_dicts(problems),
                "warnings": as_dicts(upload_warnings(files)) if not problems else []}


def _upload(body: dict) -> DefinitionUpload:
    """The request's files: named (``files``) or the four fields with default names."""
    if "files" in body:
        return DefinitionUpload.from_files(body["matter"], body["files"])
    return DefinitionUpload(matter_code=body["matter"], bpmn=body["bpmn"], ruleset=body.get("ruleset", ""),
                            form=body["form"], dmn=body["dmn"])


@blp.route("/<code>/replay")
class Replay(MethodView):
    @blp.arguments(ReplayRequestSchema)
    @blp.response(200, ReplayReportSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @roles("analyst", "admin")
    def post(self, candidate: dict, code: str):
        """Which recorded decisions of the matter a candidate rule set or DMN table would
        change (old and new outcome and reasons); changes nothing. 400: the candidate would
        be refused at deploy, with every problem."""
        kind = "ruleset" if "ruleset" in candidate else "dmn"
        return report_dict(replay(services().sessions, code, kind, candidate[kind]))
