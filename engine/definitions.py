"""Deploying service definitions: a matter's BPMN + rule set + form as one immutable version.

Everything an analyst uploads is checked before anything is stored: the XML is parsed
safely, every script and condition must pass the sandbox, the rule set and form must
load, and the rule set may only name sources the engine has. A refusal lists every
problem with its file and element (or rule id); nothing is half-deployed. What is legal
but suspicious (rules with contradicting outcomes that can both hold) is accepted and
returned as warnings with the deploy result, and recorded with the deploy event.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn import OUTCOME_VARIABLE, ParsedProcess, ProcessProblem, assigns, parse_process, spec_to_json
from engine.errors import DeploymentRefused, NotFound
from engine.models import Event, Matter, ServiceDefinition
from engine.runtime import check_decisions, check_task_specs
from engine.sandbox import SandboxViolation, check_script, check_specs
from forms import FormDefinitionError, load_form
from rules import RuleSet, RuleSetError, load_ruleset
from rules.ruleset import lint_warnings

FORM_SOURCE = "form"
MAX_TEXT_BYTES = 200_000  # a rule set or form; BPMN/DMN have their own limit in engine/bpmn.py


@dataclass(frozen=True)
class DefinitionUpload:
    """The files of one deployment, as text."""

    matter_code: str
    bpmn: str
    ruleset: str
    form: str
    dmn: list[str] = field(default_factory=list)
    bpmn_name: str = "process.bpmn"
    ruleset_name: str = "ruleset.yaml"
    form_name: str = "form.json"

    def checksum(self) -> str:
        parts = [self.matter_code, self.bpmn, self.ruleset, self.form, *self.dmn]
        return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def deploy(session: Session, upload: DefinitionUpload, deployed_by: str,
           source_names: set[str], shipped: bool = False) -> tuple[ServiceDefinition, bool]:
    """Check and store a new version; returns (definition, created).

    Deploying the same files again returns the current version instead of a copy, so
    ``onewindow deploy`` can run at every start. ``shipped``: the files come from the
    repository's catalogue, not from an analyst.
    """
    matter = session.get(Matter, upload.matter_code)
    if matter is None:
        raise NotFound(f"no matter with code {upload.matter_code!r} in the catalogue")
    parsed = check_upload(upload, source_names)
    latest = current_definition(session, upload.matter_code, required=False)
    checksum = upload.checksum()
    if latest is not None and latest.checksum == checksum:
        return latest, False
    definition = ServiceDefinition(
        matter_code=matter.code, version=(latest.version + 1 if latest else 1), region=matter.region,
        process_id=parsed.process_id, bpmn=upload.bpmn, dmn=list(upload.dmn), ruleset=upload.ruleset,
        form=upload.form, spec=spec_to_json(parsed), checksum=checksum, deployed_by=deployed_by, shipped=shipped)
    session.add(definition)
    session.flush()
    session.add(Event(kind="definition.deployed", actor=deployed_by,
                      data={"matter": matter.code, "version": definition.version, "checksum": checksum,
                            "warnings": upload_warnings(upload)}))
    return definition, True


def check_upload(upload: DefinitionUpload, source_names: set[str]) -> ParsedProcess:
    """Every problem of the upload at once, or the parsed process."""
    problems: list[dict[str, str]] = []
    parsed, specs = None, []
    try:
        parsed = parse_process(upload.bpmn, upload.bpmn_name, upload.dmn, process_id=upload.matter_code)
        specs = [parsed.spec, *parsed.subprocess_specs.values()]
        problems += [_problem_dict(p) for p in check_specs(specs, upload.bpmn_name)]
        problems += check_task_specs(specs, upload.bpmn_name)
    except ProcessProblem as exc:
        problems += exc.problems
    oversized = _oversized(upload)
    problems += oversized
    if not oversized:
        ruleset, ruleset_problems = _ruleset_problems(upload, source_names)
        problems += ruleset_problems
        if ruleset is not None and specs:
            problems += check_decisions(specs, ruleset, upload.bpmn_name, upload.ruleset_name)
        problems += _form_problems(upload)
    if problems:
        raise DeploymentRefused(f"{len(problems)} problem(s) in the upload for {upload.matter_code}", problems)
    return parsed


def _oversized(upload: DefinitionUpload) -> list[dict[str, str]]:
    return [{"file": name, "element_id": "", "reason": f"larger than {MAX_TEXT_BYTES} bytes"}
            for name, text in ((upload.ruleset_name, upload.ruleset), (upload.form_name, upload.form))
            if len(text.encode("utf-8")) > MAX_TEXT_BYTES]


def _problem_dict(problem) -> dict[str, str]:
    return {"file": problem.file, "element_id": problem.element_id, "reason": problem.reason}


def upload_warnings(upload: DefinitionUpload) -> list[dict[str, str]]:
    """What lint accepts but an analyst should look at, as file / element (rule id) / reason."""
    try:
        ruleset = load_ruleset(upload.ruleset, upload.ruleset_name)
        sets_outcome = assigns(upload.bpmn, upload.bpmn_name, OUTCOME_VARIABLE)
    except (RuleSetError, ProcessProblem):
        return []  # refused, with its problems, by check_upload
    never_decides = [] if sets_outcome else [{
        "file": upload.bpmn_name, "element_id": "",
        "reason": f"no script sets {OUTCOME_VARIABLE!r}: an application would end with no decision "
                  "(approve / reject)"}]
    return never_decides + _problem_dicts(upload.ruleset_name, lint_warnings(ruleset))


def _problem_dicts(filename: str, problems) -> list[dict[str, str]]:
    return [{"file": filename, "element_id": p.rule_id or "", "reason": p.message} for p in problems]


def _ruleset_problems(upload: DefinitionUpload,
                      source_names: set[str]) -> tuple[RuleSet | None, list[dict[str, str]]]:
    try:
        ruleset = load_ruleset(upload.ruleset, upload.ruleset_name)
    except RuleSetError as exc:
        return None, _problem_dicts(upload.ruleset_name, exc.problems)
    known = source_names | {FORM_SOURCE}
    problems = []
    for name, spec in ruleset.facts.items():
        where = {"file": upload.ruleset_name, "element_id": f"facts.{name}"}
        if spec.source not in known:
            problems.append({**where, "reason": f"unknown data source {spec.source!r} (known: {', '.join(sorted(known))})"})
        if spec.expr:
            try:
                check_script(spec.expr, "eval")
            except SandboxViolation as exc:
                problems.append({**where, "reason": str(exc)})
    return ruleset, problems


def _form_problems(upload: DefinitionUpload) -> list[dict[str, str]]:
    try:
        load_form(upload.form, upload.form_name)
    except FormDefinitionError as exc:
        return [{"file": upload.form_name, "element_id": "", "reason": p} for p in exc.problems]
    return []


def current_definition(session: Session, matter_code: str, required: bool = True) -> ServiceDefinition | None:
    """The newest version: new applications start on it, running ones keep theirs."""
    definition = session.scalars(
        select(ServiceDefinition).where(ServiceDefinition.matter_code == matter_code)
        .order_by(ServiceDefinition.version.desc()).limit(1)).first()
    if definition is None and required:
        raise NotFound(f"matter {matter_code!r} has no deployed service definition")
    return definition


def definition_summary(definition: ServiceDefinition) -> dict:
    return {"matter": definition.matter_code, "version": definition.version,
            "process_id": definition.process_id, "checksum": definition.checksum,
            "deployed_at": definition.deployed_at.isoformat(), "deployed_by": definition.deployed_by,
            "files": {"bpmn": len(definition.bpmn), "ruleset": len(definition.ruleset),
                      "form": len(definition.form), "dmn": len(definition.dmn)}}
