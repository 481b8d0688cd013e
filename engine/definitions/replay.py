"""Replay (试运行): judge a matter's recorded applications with a candidate rule set or DMN
table and report which decisions would change — before anything is deployed.

Each stored Decision records the facts it used, with their sources and read times, and
replay judges those same facts: a decision that changes, changes because of the candidate,
not because a registry has moved on since. A recorded fact is reused only where the
candidate reads it the same way it was read (same source, key, field, expression). Any
other fact the candidate needs is re-derived from the application's form when it comes
from the form (as of the moment the application was submitted), and counts as
unavailable when it comes from a data-sharing source — the candidate then sends the
application to manual review, as the live engine does when a source does not answer.

Nothing is written: replay reads plain rows (never an application object that could be
changed and flushed), a page per short transaction that is closed, never committed.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from SpiffWorkflow.dmn.specs.model import DecisionTable

from engine.definitions.bpmn import ProcessProblem, dmn_file_name, parse_decision
from engine.definitions.versions import MAX_TEXT_BYTES, current_definition
from engine.errors import DeploymentRefused, Problem, SourceUnavailable, as_dicts, rule_problems
from engine.sources.facts import gather_facts
from engine.store.models import Application, ServiceDefinition, as_utc
from engine.running.compiled import compiled, decision_table
from engine.sandbox import check_specs, evaluate_expression
from rules import Decision, FactSpec, RuleEvaluationError, RuleProblem, RuleSet, RuleSetError, load_ruleset
from rules.dmn import TableRules, decide
from rules.ruleset import lint_warnings

KINDS = ("ruleset", "dmn")


class CandidateRefused(DeploymentRefused):
    """The candidate would be refused at deploy time, so it is not replayed (400, every problem)."""

    title = "Candidate refused"


@dataclass(frozen=True)
class Candidate:
    """What is replayed: a rule set, or a DMN table judging the facts a rule set declares."""

    kind: str
    ruleset: RuleSet
    table: TableRules | None

    @property
    def checksum(self) -> str:
        return self.table.checksum if self.table else self.ruleset.checksum


@dataclass(frozen=True)
class Change:
    """One recorded application whose decision the candidate would change."""

    application_id: int
    tracking_no: str
    definition_version: int
    old: dict
    new: dict


@dataclass(frozen=True)
class ReplayReport:
    matter: str
    kind: str
    checksum: str
    replayed: int
    changes: list[Change]
    warnings: list[dict[str, str]]


def load_candidate(definition: ServiceDefinition, kind: str, text: str) -> Candidate:
    """Lint the candidate as a deploy would; CandidateRefused lists every problem.

    A DMN candidate judges the facts the matter's current rule set declares; a rule-set
    candidate that names a ``table`` is judged by that table of the current definition.
    """
    matter = definition.matter_code
    filename = candidate_filename(matter, kind)
    if compiled(definition).ruleset is None:
        raise CandidateRefused(f"{matter} is a bundle: its members' rule sets decide, each replayed on its own",
                               [Problem(filename, reason="a bundle (一件事) has no rule set to replay")])
    if kind == "ruleset" and len(text.encode("utf-8")) > MAX_TEXT_BYTES:  # DMN: engine/definitions/bpmn.py's limit
        raise CandidateRefused(f"the candidate for {matter} is too large",
                               [Problem(filename, reason=f"larger than {MAX_TEXT_BYTES} bytes")])
    try:
        if kind == "ruleset":
            ruleset = load_ruleset(text, filename)
            table = _current_table(definition, ruleset) if ruleset.table else None
        else:
            ruleset = compiled(definition).ruleset
            decision_id, parsed = parse_decision(text, filename)
            _refuse_unsafe(decision_id, parsed, filename)
            table = decision_table(parsed, ruleset)
    except RuleSetError as exc:
        raise CandidateRefused(f"the candidate for {matter} has {len(exc.problems)} problem(s)",
                               rule_problems(filename, exc.problems)) from exc
    except ProcessProblem as exc:
        raise CandidateRefused(f"the candidate for {matter} is not a usable DMN document", exc.problems) from exc
    return Candidate(kind=kind, ruleset=ruleset, table=table)


def _refuse_unsafe(decision_id: str, table: DecisionTable, filename: str) -> None:
    """The sandbox check a deploy runs on every entry of a business-rule task's table."""
    task = SimpleNamespace(bpmn_id=decision_id, name=decision_id, dmnEngine=SimpleNamespace(decision_table=table))
    problems = check_specs([SimpleNamespace(task_specs={decision_id: task})], filename)
    if problems:
        raise CandidateRefused(f"the candidate {filename} runs code outside the sandbox", problems)


def candidate_filename(matter: str, kind: str) -> str:
    return f"candidate {matter}.{'yaml' if kind == 'ruleset' else 'dmn'}"


def _current_table(definition: ServiceDefinition, ruleset: RuleSet) -> TableRules:
    """The current definition's DMN table that a facts-only candidate rule set names."""
    for index, text in enumerate(definition.dmn):
        decision_id, parsed = parse_decision(text, dmn_file_name(index))
        if decision_id == ruleset.table:
            return decision_table(parsed, ruleset)
    raise RuleSetError([RuleProblem(None, f"'table': matter {definition.matter_code} v{definition.version} "
                                          f"has no DMN decision {ruleset.table!r}")])


def replay(sessions: sessionmaker[Session], matter: str, kind: str, text: str,
           on_each: Callable[[], None] | None = None) -> ReplayReport:
    """Judge every recorded application of ``matter`` with the candidate; read-only.

    ``on_each`` is called after each application (the command line's progress bar).
    """
    with sessions() as session:
        candidate = load_candidate(current_definition(session, matter), kind, text)
    changes, replayed = [], 0
    for row, definition in _recorded(sessions, matter):
        change = _change(candidate, row, definition)
        if change is not None:
            changes.append(change)
        replayed += 1
        if on_each is not None:
            on_each()
    warnings = as_dicts(rule_problems(candidate_filename(matter, kind), lint_warnings(candidate.ruleset)))
    return ReplayReport(matter=matter, kind=kind, checksum=candidate.checksum, replayed=replayed,
                        changes=changes, warnings=warnings)


def _change(candidate: Candidate, row: Any, definition: ServiceDefinition) -> Change | None:
    """The application's Change under the candidate, or None if its decision would stand."""
    try:
        new = rejudge(candidate, compiled(definition).ruleset, row.decision, row.form_data, row.created_at)
    except RuleEvaluationError as exc:
        raise CandidateRefused(f"the candidate cannot judge application {row.tracking_no}", [
            Problem(candidate_filename(definition.matter_code, candidate.kind), reason=str(exc))]) from exc
    old, now = _summary(row.decision), _summary(new.to_dict())
    return None if _same(old, now) else Change(row.id, row.tracking_no, definition.version, old, now)


def count_recorded(sessions: sessionmaker[Session], matter: str) -> int:
    """How many applications of the matter have a recorded decision (what a replay judges)."""
    with sessions() as session:
        current_definition(session, matter)  # NotFound for a matter that was never deployed
        return session.scalar(select(func.count()).select_from(Application).where(*_recorded_of(matter)))


PAGE = 500
_RECORDED = (Application.id, Application.tracking_no, Application.definition_id, Application.form_data,
             Application.decision, Application.created_at)


def _recorded_of(matter: str) -> tuple:
    return Application.matter_code == matter, Application.decision.is_not(None)


def _recorded(sessions: sessionmaker[Session], matter: str) -> Iterator[tuple[Any, ServiceDefinition]]:
    """Recorded applications in id order with the definition that decided each, read a
    page per short transaction (judging happens outside it: on SQLite every transaction
    holds the write lock, and submissions must not wait for a replay)."""
    definitions: dict[int, ServiceDefinition] = {}
    last_id = 0
    while True:
        with sessions() as session:
            rows = session.execute(select(*_RECORDED).where(*_recorded_of(matter), Application.id > last_id)
                                   .order_by(Application.id).limit(PAGE)).all()
            for definition_id in {row.definition_id for row in rows} - definitions.keys():
                definitions[definition_id] = session.get(ServiceDefinition, definition_id)
                compiled(definitions[definition_id])  # its rule set text is read here, while the session is open
        if not rows:
            return
        yield from ((row, definitions[row.definition_id]) for row in rows)
        last_id = rows[-1].id


def rejudge(candidate: Candidate, recorded_by: RuleSet, decision: Mapping[str, Any],
            form_data: Mapping[str, Any], submitted_at: datetime) -> Decision:
    """The candidate's Decision on one application's recorded facts (see the module doc)."""
    def evaluate(expression: str, data: Mapping[str, Any]) -> Any:
        return evaluate_expression(expression, data, lambda: as_utc(submitted_at))

    recorded = Decision.from_dict(dict(decision)).facts
    facts = {name: recorded[name] for name, spec in candidate.ruleset.facts.items()
             if name in recorded and _reads_alike(spec, recorded_by.facts.get(name))}
    needed = {name: spec for name, spec in candidate.ruleset.facts.items() if name not in facts}
    if needed:
        unrecorded = dataclasses.replace(candidate.ruleset, facts=needed)
        sources = {spec.source: _NotRecorded(spec.source) for spec in needed.values()}
        facts.update(gather_facts(unrecorded, form_data, sources, evaluate))
    return decide(candidate.ruleset, candidate.table, facts, evaluate)


def _reads_alike(candidate: FactSpec, recorded: FactSpec | None) -> bool:
    return recorded is not None and (candidate.source, candidate.key, candidate.field, candidate.expr) == (
        recorded.source, recorded.key, recorded.field, recorded.expr)


class _NotRecorded:
    """Stands in for a data-sharing source during a replay: what was not read when the
    application was decided cannot be read for it now, so the fact is unavailable."""

    deferred = False

    def __init__(self, name: str) -> None:
        self.name = name

    def lookup(self, key: str):
        raise SourceUnavailable(f"{self.name}: not recorded with this application")


def _summary(decision: Mapping[str, Any]) -> dict:
    return {"outcome": decision["outcome"], "reasons": list(decision["reasons"]),
            "values": dict(decision.get("values") or {})}


def _same(old: dict, new: dict) -> bool:
    """A decision stands when its outcome, the rules behind it and its values do; a reworded
    message alone is not a changed decision (else every fixed typo changes them all)."""
    return (old["outcome"], [r["rule"] for r in old["reasons"]], old["values"]) == (
        new["outcome"], [r["rule"] for r in new["reasons"]], new["values"])


def report_dict(report: ReplayReport) -> dict:
    """The report as the API and the command line show it."""
    return {"matter": report.matter, "candidate": {"kind": report.kind, "checksum": report.checksum},
            "replayed": report.replayed, "changed": len(report.changes), "warnings": report.warnings,
            "changes": [dataclasses.asdict(change) for change in report.changes]}
