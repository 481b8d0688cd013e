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
import json
from dataclasses import dataclass, field, replace
from enum import Enum

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from engine.definitions.bpmn import (OUTCOME_VARIABLE, ParsedProcess, ProcessProblem, ProcessReading, assigned_literals,
                                     assigns, dmn_file_name, main_document, read_process)
from engine.bundles.policy import BundlePolicy, check_bundle, is_bundle
from engine.definitions.policy import check_policy
from engine.definitions.task_forms import check_task_forms
from engine.errors import DeploymentRefused, NotFound, Problem, as_dicts, rule_problems
from engine.events import EventKind, record
from engine.operations import check_service_tasks
from engine.operations.decide import check_decisions
from engine.people.assignment import Staffing, check_assignments
from engine.running.workflow import spec_to_json
from engine.sandbox import SandboxViolation, check_policy_reads, check_script, check_specs
from engine.store.models import PROCESS_OUTCOMES, Matter, ServiceDefinition
from forms import FormDefinitionError, load_form
from rules import RuleSet, RuleSetError, load_ruleset
from rules.ruleset import lint_warnings

FORM_SOURCE = "form"
MAX_TEXT_BYTES = 200_000  # a rule set or form; BPMN/DMN have their own limit in engine/definitions/bpmn.py


@dataclass(frozen=True)
class DefinitionUpload:
    """The files of one deployment, as text, with the names the analyst gave them (every
    problem names its file). ``called``: further BPMN documents (file name -> text) holding
    the processes the main one's call activities call."""

    matter_code: str
    bpmn: str
    ruleset: str  # empty only for a bundle, whose members' rule sets decide
    form: str
    dmn: list[str] = field(default_factory=list)
    bpmn_name: str = "process.bpmn"
    ruleset_name: str = "ruleset.yaml"
    form_name: str = "form.json"
    dmn_names: list[str] = field(default_factory=list)
    called: dict[str, str] = field(default_factory=dict)
    # The matter's policy (catalogue keys: credit, grant, materials, numbers…) this version
    # runs with; deploy takes the matter's when none is given.
    policy: dict | None = None

    def checksum(self) -> str:
        parts = [self.matter_code, self.bpmn, self.ruleset, self.form, *self.dmn]
        parts += [f"{name}\x00{text}" for name, text in sorted(self.called.items())]
        if self.policy is not None:
            parts.append(json.dumps(self.policy, sort_keys=True, ensure_ascii=False))
        return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()

    @property
    def bpmn_documents(self) -> dict[str, str]:
        return {self.bpmn_name: self.bpmn, **self.called}

    @property
    def dmn_documents(self) -> dict[str, str]:
        names = self.dmn_names or [dmn_file_name(i) for i in range(len(self.dmn))]
        return dict(zip(names, self.dmn))

    @property
    def file_names(self) -> dict:
        return {"bpmn": self.bpmn_name, "ruleset": self.ruleset_name, "form": self.form_name,
                "dmn": list(self.dmn_documents), "called": sorted(self.called)}

    @classmethod
    def from_files(cls, matter_code: str, files: dict[str, str]) -> DefinitionUpload:
        """An upload given as named files, each known by its ending: ``.bpmn`` (the one that
        holds the process ``matter_code``, or the only one no other calls), ``.dmn``, one
        rule set (``.yaml``/``.yml``) and one form (``.json``). DeploymentRefused naming the
        files when they do not make one definition."""
        kinds: dict[FileKind, dict[str, str]] = {kind: {} for kind in FileKind}
        problems = []
        for name, text in files.items():
            kind = FileKind.of(name)
            if kind is None:
                problems.append(Problem(name, reason=(
                    "unknown kind of file: name it *.bpmn, *.dmn, *.yaml (rule set) or *.json (form)")))
            else:
                kinds[kind][name] = text
        if len(kinds[FileKind.FORM]) != 1:
            problems.append(Problem(", ".join(kinds[FileKind.FORM]) or "-", reason=(
                f"an upload has exactly one {FileKind.FORM.value}; found {len(kinds[FileKind.FORM])}")))
        if len(kinds[FileKind.RULESET]) > 1:  # none: a bundle (check_bundle refuses a matter without one)
            problems.append(Problem(", ".join(kinds[FileKind.RULESET]), reason=(
                f"an upload has at most one {FileKind.RULESET.value}; found {len(kinds[FileKind.RULESET])}")))
        main = main_document(kinds[FileKind.BPMN], matter_code)
        if main is None:
            problems.append(Problem(", ".join(kinds[FileKind.BPMN]) or "-", reason=(
                f"no BPMN file holds the process {matter_code!r} (or several could be the main one)")))
        if problems:
            raise DeploymentRefused(f"{len(problems)} problem(s) in the files for {matter_code}", problems)
        ruleset_name, ruleset = next(iter(kinds[FileKind.RULESET].items()), ("-", ""))
        (form_name, form), = kinds[FileKind.FORM].items()
        return cls(matter_code=matter_code, bpmn=kinds[FileKind.BPMN][main], bpmn_name=main,
                   ruleset=ruleset, ruleset_name=ruleset_name, form=form, form_name=form_name,
                   dmn=list(kinds[FileKind.DMN].values()), dmn_names=list(kinds[FileKind.DMN]),
                   called={n: t for n, t in kinds[FileKind.BPMN].items() if n != main})


class FileKind(Enum):
    BPMN = "BPMN process"
    DMN = "DMN decision"
    RULESET = "rule set (.yaml)"
    FORM = "form (.json)"

    @classmethod
    def of(cls, name: str) -> FileKind | None:
        ending = name.lower().rsplit(".", 1)[-1] if "." in name else ""
        return {"bpmn": cls.BPMN, "xml": cls.BPMN, "dmn": cls.DMN, "yaml": cls.RULESET, "yml": cls.RULESET,
                "json": cls.FORM}.get(ending)


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
    if upload.policy is None:  # versioned with the files: a policy change is a new version
        upload = replace(upload, policy=dict(matter.elements))
    parsed = check_upload(upload, source_names, Staffing.of(session), matter.department)
    _check_members_deployed(session, upload)
    latest = current_definition(session, upload.matter_code, required=False)
    checksum = upload.checksum()
    if latest is not None and latest.checksum == checksum:
        return latest, False
    definition = ServiceDefinition(
        matter_code=matter.code, version=(latest.version + 1 if latest else 1), region=matter.region,
        process_id=parsed.process_id, bpmn=upload.bpmn, dmn=list(upload.dmn), ruleset=upload.ruleset,
        form=upload.form, spec=spec_to_json(parsed), checksum=checksum, deployed_by=deployed_by, shipped=shipped,
        file_names=upload.file_names, called_bpmn=dict(upload.called), policy=upload.policy)
    session.add(definition)
    session.flush()
    record(session, EventKind.DEFINITION_DEPLOYED, deployed_by, data={
        "matter": matter.code, "version": definition.version, "checksum": checksum,
        "warnings": as_dicts(upload_warnings(upload))})
    return definition, True


def check_upload(upload: DefinitionUpload, source_names: set[str], staffing: Staffing,
                 department: str) -> ParsedProcess:
    """The parsed process, or DeploymentRefused with every problem of every phase at once
    (XML, structure, sandbox, service operations and task forms, rule set, DMN, form),
    ordered by file and line."""
    reading, problems = _check(upload, source_names, staffing, department)
    if problems:
        raise DeploymentRefused(f"{len(problems)} problem(s) in the upload for {upload.matter_code}", problems)
    return reading.parsed


def validate_upload(upload: DefinitionUpload, source_names: set[str], staffing: Staffing,
                    department: str) -> list[dict[str, str]]:
    """Every problem of the upload (empty: it deploys); ``POST …/validate`` answers with it.
    ``department``: the matter's (a task in the lane ``department`` goes to its queue)."""
    return _check(upload, source_names, staffing, department)[1]


def _check(upload: DefinitionUpload, source_names: set[str], staffing: Staffing,
           department: str) -> tuple[ProcessReading, list[Problem]]:
    reading = read_process(upload.bpmn_documents, upload.dmn_documents, upload.matter_code)
    problems = list(reading.problems)
    specs = [reading.parsed.spec, *reading.parsed.subprocess_specs.values()] if reading.parsed else []
    problems += check_specs(specs, upload.bpmn_name)
    problems += check_service_tasks(specs, upload.bpmn_name, upload.policy)
    problems += check_task_forms(specs, upload.bpmn_name)
    if upload.policy is not None:
        problems += check_policy(upload.policy) + check_policy_reads(specs, upload.bpmn_name, upload.policy)
    problems += check_assignments(staffing, specs, upload.bpmn_name, department)
    if reading.parsed is not None:
        problems += _outcome_contract(upload)
        problems += check_bundle(upload.policy, specs, upload.bpmn_name, _form_fields(upload),
                                 has_ruleset=bool(upload.ruleset.strip()))
    oversized = _oversized(upload)
    problems += oversized
    if not oversized and upload.ruleset.strip():
        ruleset, ruleset_problems = _ruleset_problems(upload, source_names)
        problems += ruleset_problems
        if ruleset is not None and specs:
            problems += check_decisions(specs, ruleset, upload.bpmn_name, upload.ruleset_name)
        problems += _form_problems(upload)
    order = {name: i for i, name in enumerate([*upload.bpmn_documents, *upload.dmn_documents,
                                               upload.ruleset_name, upload.form_name])}
    return reading, sorted(reading.located(problems),
                           key=lambda p: (order.get(p.file, len(order)), p.line or 0))


def _outcome_contract(upload: DefinitionUpload) -> list[Problem]:
    """The outcome contract: what a process leaves in ``outcome`` is one of ``PROCESS_OUTCOMES``
    (approve, reject, revoked) — the engine records an answer only from those; a literal
    anything else (``'approved'``, ``'ok'``) is refused here, not met by an applicant."""
    allowed = [outcome.value for outcome in PROCESS_OUTCOMES]
    return [Problem(name, element, line, f"{OUTCOME_VARIABLE} = {value!r}: the outcome a process sets is one of "
                                         f"{', '.join(allowed)}")
            for name, text in upload.bpmn_documents.items()
            for element, line, value in assigned_literals(text, name, OUTCOME_VARIABLE) if value not in allowed]


def _form_fields(upload: DefinitionUpload) -> list[str] | None:
    try:
        return load_form(upload.form, upload.form_name).fields
    except FormDefinitionError:
        return None  # refused, with its problems, by _form_problems


def _check_members_deployed(session: Session, upload: DefinitionUpload) -> None:
    """A bundle's members are matters with a deployed version of their own, none a bundle."""
    policy = BundlePolicy.of(upload.policy)
    if policy is None:
        return
    problems = []
    for member in policy.matters:
        definition = current_definition(session, member, required=False)
        if definition is None:
            problems.append(Problem("policy", f"bundle.members.{member}", None,
                                    f"{member!r} is not a matter with a deployed version; deploy it first"))
        elif is_bundle(definition):
            problems.append(Problem("policy", f"bundle.members.{member}", None, "a bundle cannot be a member"))
    if problems:
        raise DeploymentRefused(f"{len(problems)} problem(s) in the upload for {upload.matter_code}", problems)


def _oversized(upload: DefinitionUpload) -> list[Problem]:
    return [Problem(name, reason=f"larger than {MAX_TEXT_BYTES} bytes")
            for name, text in ((upload.ruleset_name, upload.ruleset), (upload.form_name, upload.form))
            if len(text.encode("utf-8")) > MAX_TEXT_BYTES]


def upload_warnings(upload: DefinitionUpload) -> list[Problem]:
    """What lint accepts but an analyst should look at, as file / element (rule id) / reason."""
    if is_bundle(upload):
        return []  # answered from its members, not by a script; no rule set of its own
    try:
        ruleset = load_ruleset(upload.ruleset, upload.ruleset_name)
        sets_outcome = any(assigns(text, name, OUTCOME_VARIABLE) for name, text in upload.bpmn_documents.items())
    except (RuleSetError, ProcessProblem):
        return []  # refused, with its problems, by check_upload
    never_decides = [] if sets_outcome else [Problem(upload.bpmn_name, reason=(
        f"no script sets {OUTCOME_VARIABLE!r}: an application would end with no decision (approve / reject)"))]
    return never_decides + rule_problems(upload.ruleset_name, lint_warnings(ruleset))



def _ruleset_problems(upload: DefinitionUpload,
                      source_names: set[str]) -> tuple[RuleSet | None, list[Problem]]:
    try:
        ruleset = load_ruleset(upload.ruleset, upload.ruleset_name)
    except RuleSetError as exc:
        return None, rule_problems(upload.ruleset_name, exc.problems)
    known = source_names | {FORM_SOURCE}
    problems = []
    for name, spec in ruleset.facts.items():
        where = Problem(upload.ruleset_name, f"facts.{name}")
        if spec.source not in known:
            problems.append(replace(where, reason=f"unknown data source {spec.source!r} "
                                                  f"(known: {', '.join(sorted(known))})"))
        if spec.expr:
            try:
                check_script(spec.expr, "eval")
            except SandboxViolation as exc:
                problems.append(replace(where, reason=str(exc)))
    return ruleset, problems


def _form_problems(upload: DefinitionUpload) -> list[Problem]:
    try:
        load_form(upload.form, upload.form_name)
    except FormDefinitionError as exc:
        return [Problem(upload.form_name, reason=p) for p in exc.problems]
    return []


def current_definition(session: Session, matter_code: str, required: bool = True) -> ServiceDefinition | None:
    """The newest version: new applications start on it, running ones keep theirs."""
    definition = session.scalars(
        select(ServiceDefinition).where(ServiceDefinition.matter_code == matter_code)
        .order_by(ServiceDefinition.version.desc()).limit(1)).first()
    if definition is None and required:
        raise NotFound(f"matter {matter_code!r} has no deployed service definition")
    return definition


def current_definitions(session: Session, matter_codes: list[str]) -> dict[str, ServiceDefinition]:
    """The newest version of each of the matters, in one query (a bundle's or a cart's members)."""
    newest = (select(ServiceDefinition.matter_code, func.max(ServiceDefinition.version).label("version"))
              .where(ServiceDefinition.matter_code.in_(set(matter_codes)))
              .group_by(ServiceDefinition.matter_code).subquery())
    return {d.matter_code: d for d in session.scalars(select(ServiceDefinition).join(newest, and_(
        ServiceDefinition.matter_code == newest.c.matter_code, ServiceDefinition.version == newest.c.version)))}


def definition_summary(definition: ServiceDefinition) -> dict:
    return {"matter": definition.matter_code, "version": definition.version,
            "process_id": definition.process_id, "checksum": definition.checksum,
            "deployed_at": definition.deployed_at.isoformat(), "deployed_by": definition.deployed_by,
            "files": {"bpmn": len(definition.bpmn), "ruleset": len(definition.ruleset),
                      "form": len(definition.form), "dmn": len(definition.dmn),
                      "names": definition.file_names or {}}}
