"""What a running workflow needs from the engine: compiled definitions and service tasks.

Rule sets and forms are compiled once per definition checksum (durable-rules rulesets
cannot be registered twice, and building marshmallow schemas is not free). Service tasks
dispatch by operation name; ``rules.decide`` gathers facts and evaluates the rule set (a
DMN business-rule task, ``rules.decide_table``, judges the same facts with its table into
the same Decision); ``credit.check`` reads the credit tier and the debtor list under the
matter's credit policy; ``materials.fetch`` attaches what the e-licence library holds (免证办). Some
operations change the application itself — ``clock.pause`` / ``clock.resume`` (补正),
the fast lane of a red tier, the materials record, ``credit.false_commitment`` — so they
are collected as ``effects`` and the engine applies them after the steps run.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Callable, Mapping

from engine import credit, materials, task_forms
from engine.bpmn import DECIDE_TABLE, DecisionTableTask
from engine.deadlines import local_day
from engine.facts import deferred_sources, gather_facts
from engine.models import ServiceDefinition
from engine.sandbox import FUNCTION_NAMES, SandboxScriptEngine, evaluate_expression
from engine.sources import Source
from forms import Form, load_form
from rules import RuleSet, RuleSetError, evaluate, load_ruleset
from rules.dmn import TableRules, evaluate_table, load_table

DECIDE = "rules.decide"
CLOCK_PAUSE = "clock.pause"
CLOCK_RESUME = "clock.resume"
CREDIT_CHECK = "credit.check"
FALSE_COMMITMENT = "credit.false_commitment"
FETCH_MATERIALS = "materials.fetch"
FAST_LANE = "credit.fast_lane"  # an effect only, recorded by credit.check


class WorkDeferred(Exception):
    """A step must wait for a worker (a slow source); the workflow stops before it."""

    defer = True

    def __init__(self, element_id: str, sources: list[str]) -> None:
        super().__init__(f"{element_id} reads {', '.join(sources)}: handed to a worker")
        self.element_id = element_id
        self.sources = sources


@dataclass(frozen=True)
class Compiled:
    ruleset: RuleSet
    form: Form


@lru_cache(maxsize=512)  # never emptied: durable-rules refuses to register a ruleset twice
def _compile(checksum: str, matter_code: str, ruleset_text: str, form_text: str) -> Compiled:
    return Compiled(load_ruleset(ruleset_text, f"{matter_code}.yaml"),
                    load_form(form_text, f"{matter_code}.form.json"))


_COMPILED: dict[str, Compiled] = {}  # by checksum: a deployed version never changes
_SPECS: dict[str, str] = {}


def compiled(definition: ServiceDefinition) -> Compiled:
    """The definition's rule set and form, compiled; its texts are read from the database
    only the first time this process meets the version."""
    found = _COMPILED.get(definition.checksum)
    if found is None:
        found = _COMPILED[definition.checksum] = _compile(definition.checksum, definition.matter_code,
                                                          definition.ruleset, definition.form)
    return found


def forget_compiled() -> None:
    """Empty the per-process caches (a new process starts this way; tests use it to run
    code paths as a fresh process would)."""
    _COMPILED.clear()
    _SPECS.clear()


def spec_of(definition: ServiceDefinition) -> str:
    """The definition's serialized specs, read from the database once per process."""
    found = _SPECS.get(definition.checksum)
    if found is None:
        found = _SPECS[definition.checksum] = definition.spec
    return found


class ServiceTasks:
    """Dispatch of BPMN service-task operations for one definition."""

    def __init__(self, definition: ServiceDefinition, sources: Mapping[str, Source],
                 clock: Callable[[], datetime]) -> None:
        self._compiled = compiled(definition)
        self._sources = sources
        self._clock = clock
        self._elements = definition.policy or {}  # the version's policy (credit, materials…)
        self.effects: list[tuple[str, dict]] = []

    def __call__(self, operation: str, params: dict, data: dict) -> Any:
        if operation == DECIDE:
            ruleset = self._compiled.ruleset
            facts = gather_facts(ruleset, data, self._sources, self._evaluate)
            decision = evaluate(ruleset, facts).to_dict()
            if "credit" in data:  # the tier and its sources are part of the Decision
                decision["credit"] = data["credit"]
            return decision
        if operation == DECIDE_TABLE:
            table = decision_table(params["table"], self._compiled.ruleset)
            facts = gather_facts(table.ruleset, data, self._sources, self._evaluate)
            return evaluate_table(table, facts, self._evaluate).to_dict()
        if operation == CREDIT_CHECK:
            result = credit.check(self._elements["credit"], data, self._sources)
            self.effects.append((CREDIT_CHECK, result))
            if result["allows"]["fast_lane"] and result["path"] == "normal":
                self.effects.append((FAST_LANE, {}))
            return result
        if operation == FETCH_MATERIALS:
            result = materials.fetch(self._elements, data, self._sources, local_day(self._clock()))
            self.effects.append((FETCH_MATERIALS, result))
            return result
        if operation in (CLOCK_PAUSE, CLOCK_RESUME):
            self.effects.append((operation, params))
            return None
        if operation == FALSE_COMMITMENT:
            self.effects.append((operation, {"subject": (data.get("credit") or {}).get("subject", "")}))
            return None
        raise LookupError(f"unknown service operation {operation!r}")

    def _evaluate(self, expression: str, data: Mapping[str, Any]) -> Any:
        return evaluate_expression(expression, data, self._clock)

    def must_defer(self, task, allow_deferred: bool) -> None:
        """Called before each engine step: stop before a step that reads a slow source."""
        if allow_deferred or not _decides(task.task_spec):
            return
        slow = deferred_sources(self._compiled.ruleset, self._sources)
        if slow:
            raise WorkDeferred(task.task_spec.bpmn_id, slow)

    def script_engine(self) -> SandboxScriptEngine:
        return SandboxScriptEngine(services=self, clock=self._clock, policy=self._elements)


OPERATIONS = (DECIDE, CLOCK_PAUSE, CLOCK_RESUME, CREDIT_CHECK, FALSE_COMMITMENT, FETCH_MATERIALS)
# The matter policy (catalogue key) an operation reads: without it the operation failed at
# run time, after the deploy had accepted it.
POLICY_NEEDED = {CREDIT_CHECK: "credit", FETCH_MATERIALS: "certificate_free"}


def check_task_specs(specs: list, filename: str, policy: Mapping[str, Any] | None = None) -> list[dict[str, str]]:
    """Deploy-time check of what only the engine knows: service operations it can run (with
    the matter ``policy`` they need, when given) and the task forms user tasks name —
    refused here rather than when an application meets them."""
    problems = []
    for spec in specs:
        for task_spec in spec.task_specs.values():
            element = getattr(task_spec, "bpmn_id", None) or ""
            operation = getattr(task_spec, "operation_name", None)
            if operation is not None and operation not in OPERATIONS:
                problems.append({"file": filename, "element_id": element,
                                 "reason": f"unknown service operation {operation!r}; known: {', '.join(OPERATIONS)}"})
            needed = POLICY_NEEDED.get(operation)
            if policy is not None and needed and needed not in policy:
                problems.append({"file": filename, "element_id": element, "reason": (
                    f"service operation {operation!r} needs the matter's {needed!r} policy in the catalogue, "
                    "which this matter has not")})
            if getattr(task_spec, "manual", False) and task_forms.form_name(task_spec) not in task_forms.TASK_FORMS:
                problems.append({"file": filename, "element_id": element,
                                 "reason": f"unknown taskForm {task_forms.form_name(task_spec)!r}; "
                                           f"known: {', '.join(task_forms.TASK_FORMS)}"})
    return problems


def _decides(task_spec) -> bool:
    """A step that gathers facts: the rules.decide service or a DMN business-rule task."""
    return isinstance(task_spec, DecisionTableTask) or getattr(task_spec, "operation_name", None) == DECIDE


def decision_table(table, ruleset: RuleSet) -> TableRules:
    """A business-rule task's DMN table, linted against the facts the rule set declares."""
    return load_table(table, ruleset, FUNCTION_NAMES, f"{ruleset.matter} DMN")


def check_decisions(specs: list, ruleset: RuleSet, bpmn_name: str, ruleset_name: str) -> list[dict[str, str]]:
    """Deploy-time check that the process and the rule set agree on what decides: a rule
    set with ``table: X`` is used by business-rule tasks calling X (whose table must read
    only declared facts), one with rules by the rules.decide service."""
    tasks = [t for spec in specs for t in spec.task_specs.values() if _decides(t)]
    problems = []
    for task in tasks:
        where = {"file": bpmn_name, "element_id": task.bpmn_id}
        if not isinstance(task, DecisionTableTask):
            if ruleset.table is not None:
                problems.append({**where, "reason": f"rules.decide needs rules, but {ruleset_name} names DMN "
                                                    f"decision {ruleset.table!r}: use a business-rule task"})
        elif task.decision_id != ruleset.table:
            problems.append({**where, "reason": f"calls DMN decision {task.decision_id!r}, but {ruleset_name} "
                                                f"declares facts for {ruleset.table!r} (its 'table')"})
        else:
            problems += _table_problems(task, ruleset)
    if ruleset.table is not None and not any(getattr(t, "decision_id", None) == ruleset.table for t in tasks):
        problems.append({"file": ruleset_name, "element_id": "table",
                         "reason": f"no business-rule task calls DMN decision {ruleset.table!r}"})
    return problems


def _table_problems(task: DecisionTableTask, ruleset: RuleSet) -> list[dict[str, str]]:
    try:
        decision_table(task.dmnEngine.decision_table, ruleset)
    except RuleSetError as exc:
        return [{"file": f"DMN {task.decision_id}", "element_id": p.rule_id or "", "reason": p.message}
                for p in exc.problems]
    return []
