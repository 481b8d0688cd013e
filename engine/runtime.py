"""What a running workflow needs from the engine: compiled definitions and service tasks.

Rule sets and forms are compiled once per definition checksum (durable-rules rulesets
cannot be registered twice, and building marshmallow schemas is not free). Service tasks
dispatch by operation name; ``rules.decide`` gathers facts and evaluates the rule set;
``clock.pause`` / ``clock.resume`` stop and restart the deadline clock (补正: the window
asks for materials) — the engine applies them to the application after the steps run.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Callable, Mapping

from engine import task_forms
from engine.facts import deferred_sources, gather_facts
from engine.models import ServiceDefinition
from engine.sandbox import SandboxScriptEngine, evaluate_expression
from engine.sources import Source
from forms import Form, load_form
from rules import RuleSet, evaluate, load_ruleset

DECIDE = "rules.decide"
CLOCK_PAUSE = "clock.pause"
CLOCK_RESUME = "clock.resume"


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


@lru_cache(maxsize=512)
def _compile(checksum: str, matter_code: str, ruleset_text: str, form_text: str) -> Compiled:
    return Compiled(load_ruleset(ruleset_text, f"{matter_code}.yaml"),
                    load_form(form_text, f"{matter_code}.form.json"))


def compiled(definition: ServiceDefinition) -> Compiled:
    return _compile(definition.checksum, definition.matter_code, definition.ruleset, definition.form)


class ServiceTasks:
    """Dispatch of BPMN service-task operations for one definition."""

    def __init__(self, definition: ServiceDefinition, sources: Mapping[str, Source],
                 clock: Callable[[], datetime]) -> None:
        self._compiled = compiled(definition)
        self._sources = sources
        self._clock = clock
        self.clock_requests: list[tuple[str, dict]] = []

    def __call__(self, operation: str, params: dict, data: dict) -> Any:
        if operation == DECIDE:
            ruleset = self._compiled.ruleset
            facts = gather_facts(ruleset, data, self._sources, self._evaluate)
            return evaluate(ruleset, facts).to_dict()
        if operation in (CLOCK_PAUSE, CLOCK_RESUME):
            self.clock_requests.append((operation, params))
            return None
        raise LookupError(f"unknown service operation {operation!r}")

    def _evaluate(self, expression: str, data: Mapping[str, Any]) -> Any:
        return evaluate_expression(expression, data, self._clock)

    def must_defer(self, task, allow_deferred: bool) -> None:
        """Called before each engine step: stop before a step that reads a slow source."""
        if allow_deferred or getattr(task.task_spec, "operation_name", None) != DECIDE:
            return
        slow = deferred_sources(self._compiled.ruleset, self._sources)
        if slow:
            raise WorkDeferred(task.task_spec.bpmn_id, slow)

    def script_engine(self) -> SandboxScriptEngine:
        return SandboxScriptEngine(services=self, clock=self._clock)


OPERATIONS = (DECIDE, CLOCK_PAUSE, CLOCK_RESUME)


def check_task_specs(specs: list, filename: str) -> list[dict[str, str]]:
    """Deploy-time check of what only the engine knows: service operations it can run and
    the task forms user tasks name — refused here rather than when an application meets them."""
    problems = []
    for spec in specs:
        for task_spec in spec.task_specs.values():
            element = getattr(task_spec, "bpmn_id", None) or ""
            operation = getattr(task_spec, "operation_name", None)
            if operation is not None and operation not in OPERATIONS:
                problems.append({"file": filename, "element_id": element,
                                 "reason": f"unknown service operation {operation!r}; known: {', '.join(OPERATIONS)}"})
            if getattr(task_spec, "manual", False) and task_forms.form_name(task_spec) not in task_forms.TASK_FORMS:
                problems.append({"file": filename, "element_id": element,
                                 "reason": f"unknown taskForm {task_forms.form_name(task_spec)!r}; "
                                           f"known: {', '.join(task_forms.TASK_FORMS)}"})
    return problems
