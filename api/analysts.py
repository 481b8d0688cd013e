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
from api.schemas import (ROW_ID, DefinitionSchema, DefinitionUploadSchema, DeployedDefinitionSchema, ReplayReportSchema,
                         ReplayRequestSchema, RollbackSchema, ValidationReportSchema, VocabularySchema, VersionDiffQuerySchema,
                         VersionDiffSchema, VersionFilesSchema)
from engine.definitions import history
from engine.definitions.task_forms import TASK_FORMS
from engine.operations import REGISTRY, SERVICE_TASK_OPERATIONS
from engine.people.organisation import read_departments, read_regions
from engine.definitions.versions import (DefinitionUpload, current_definition, deploy, definition_summary,
                                         upload_warnings, validate_upload)
from engine.people.assignment import APPLICANT_LANE, MATTER_DEPARTMENT_LANE, Staffing
from engine.errors import Conflict, DeploymentRefused, InvalidInput, NotFound, as_dicts
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
    @blp.alt_response(409, "CONFLICT")
    @roles("analyst", "admin")
    def post(self, upload: dict):
        """Deploy a new version; refused with 400 and every problem (file, element, reason), with
        409 when ``base_version`` is given and another version has become current since."""
        wired = services()
        with wired.sessions() as session:
            files = _upload(session, upload)
            _check_base(session, upload)
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
        with wired.sessions() as session:
            try:
                files = _upload(session, upload)
            except DeploymentRefused as refused:  # the files make no definition: that is the report
                return {"deployable": False, "problems": as_dicts(refused.problems), "warnings": []}
            matter = session.get(Matter, files.matter_code)
            if matter is None:
                raise NotFound(f"no matter with code {files.matter_code!r} in the catalogue")
            files = replace(files, policy=dict(matter.elements))  # what a deploy would version with it
            problems = validate_upload(files, set(wired.sources), Staffing.of(session), matter.department)
        return {"deployable": not problems, "problems": as_dicts(problems),
                "warnings": as_dicts(upload_warnings(files)) if not problems else []}


def _check_base(session, body: dict) -> None:
    """Refuse files edited from an older version than the current one (another analyst deployed
    meanwhile): deploying them would silently undo that version's changes."""
    if "base_version" not in body:
        return
    current = current_definition(session, body["matter"], required=False)
    if current is not None and current.version != body["base_version"]:
        raise Conflict(f"这些修改基于 v{body['base_version']}，但 {current.deployed_by} 已部署了 v{current.version}："
                       f"请先打开 v{current.version}，把修改合并进去再部署")


def _upload(session, body: dict) -> DefinitionUpload:
    """The request's files: named (``files``) or the four fields with default names, a
    field left out taken from the matter's current version (a rules-only change sends the
    rule set alone)."""
    if "files" in body:
        return DefinitionUpload.from_files(body["matter"], body["files"])
    given = {name: body[name] for name in ("bpmn", "ruleset", "form", "dmn") if name in body}
    if len(given) < 4:
        current = current_definition(session, body["matter"], required=False)
        if current is None:
            missing = [name for name in ("bpmn", "form") if name not in given]
            if missing:
                raise InvalidInput("the matter has no deployed version to take the other files from",
                                   {name: ["Missing data for required field."] for name in missing})
        else:
            kept = history.upload_of(current)
            given = {"bpmn": kept.bpmn, "ruleset": kept.ruleset, "form": kept.form, "dmn": kept.dmn, **given}
            if "bpmn" not in body:  # the processes the kept BPMN calls come with it
                return replace(kept, ruleset=given["ruleset"], form=given["form"], dmn=given["dmn"], policy=None,
                               dmn_names=kept.dmn_names if "dmn" not in body else [])
    return DefinitionUpload(matter_code=body["matter"], bpmn=given["bpmn"], ruleset=given.get("ruleset", ""),
                            form=given["form"], dmn=given.get("dmn", []))


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


@blp.route("/vocabulary")
class Vocabulary(MethodView):
    @blp.response(200, VocabularySchema)
    @roles("analyst", "admin", "supervisor")
    def get(self):
        """What the modeller's properties panel offers: departments (a lane's name), regions,
        the service operations a service task may call, and the task forms a user task may name."""
        return {"departments": read_departments(), "regions": read_regions(),
                "operations": [{"name": name, "summary": REGISTRY[name].summary} for name in SERVICE_TASK_OPERATIONS],
                "task_forms": list(TASK_FORMS),
                "lanes": {APPLICANT_LANE: "申请人", MATTER_DEPARTMENT_LANE: "本事项主管部门"}}


@blp.route(f"/<code>/versions/<{ROW_ID}:version>")
class Version(MethodView):
    @blp.response(200, VersionFilesSchema)
    @blp.alt_response(404, "NOT_FOUND")
    @roles("analyst", "admin", "supervisor")
    def get(self, code: str, version: int):
        """Every file of a deployed version and the policy it runs with (to open in the modeller)."""
        with services().sessions() as session:
            return history.files_of(history.version_of(session, code, version))


@blp.route("/<code>/current")
class CurrentVersion(MethodView):
    @blp.response(200, VersionFilesSchema)
    @blp.alt_response(404, "NOT_FOUND")
    @roles("analyst", "admin", "supervisor")
    def get(self, code: str):
        """The files of the version new applications start on (what the modeller opens)."""
        with services().sessions() as session:
            return history.files_of(current_definition(session, code))


@blp.route("/<code>/diff")
class Diff(MethodView):
    @blp.arguments(VersionDiffQuerySchema, location="query")
    @blp.response(200, VersionDiffSchema)
    @blp.alt_response(404, "NOT_FOUND")
    @roles("analyst", "admin", "supervisor")
    def get(self, query: dict, code: str):
        """What changed between two versions (``from`` → ``to``): BPMN elements, rules, form
        fields and policy keys, each added, removed or changed."""
        with services().sessions() as session:
            return history.diff(history.version_of(session, code, query["old"]),
                                history.version_of(session, code, query["new"]))


@blp.route("/<code>/rollback")
class Rollback(MethodView):
    @blp.arguments(RollbackSchema)
    @blp.response(201, DeployedDefinitionSchema)
    @blp.alt_response(200, schema=DeployedDefinitionSchema, description="that version is the newest already")
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @roles("analyst", "admin")
    def post(self, body: dict, code: str):
        """Roll back (回退): deploy an earlier version's files and policy again as the newest
        version, checked like any deploy; running applications keep theirs."""
        wired = services()
        with wired.sessions() as session:
            definition, created = history.roll_back(session, code, body["version"], g.user.username,
                                                     set(wired.sources))
            session.commit()
            return ({**definition_summary(definition), "created": created, "warnings": []},
                    201 if created else 200)
