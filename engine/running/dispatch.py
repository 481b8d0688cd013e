"""Service tasks answered for one run of one definition version: the operation is looked up
in the registry (engine/operations/), run with the version's policy, and its effects kept
for the run to apply to the application after the steps (engine/running/run.py).

Before every step ``must_defer`` stops the run at a step whose operation reads a source
only a worker may call (``deferred``); the worker's run (``allow_deferred``) goes on.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping

from engine.definitions.bpmn import DECIDE_TABLE, DecisionTableTask
from engine.store.models import ServiceDefinition
from engine.operations import REGISTRY
from engine.operations.base import Effect, OperationContext
from engine.running.compiled import compiled
from engine.sandbox import SandboxScriptEngine, evaluate_expression
from engine.sources import Source, deferred_among


class WorkDeferred(Exception):
    """A step must wait for a worker (a slow source); the workflow stops before it."""

    defer = True

    def __init__(self, element_id: str, sources: list[str]) -> None:
        super().__init__(f"{element_id} reads {', '.join(sources)}: handed to a worker")
        self.element_id = element_id
        self.sources = sources


class ServiceTasks:
    """The ``services`` of a run's script engine: ``(operation, params, data) -> result``."""

    def __init__(self, definition: ServiceDefinition, sources: Mapping[str, Source],
                 clock: Callable[[], datetime]) -> None:
        self.policy = definition.policy or {}  # the version's policy, never the live catalogue row
        self.context = OperationContext(compiled(definition), self.policy, sources, clock, self._evaluate)
        self._clock = clock
        self.effects: list[Effect] = []

    def __call__(self, operation: str, params: dict, data: dict) -> Any:
        try:
            found = REGISTRY[operation]
        except KeyError:
            raise LookupError(f"unknown service operation {operation!r}") from None
        outcome = found.run(self.context, params, data)
        self.effects.extend(outcome.effects)
        return outcome.result

    def _evaluate(self, expression: str, data: Mapping[str, Any]) -> Any:
        return evaluate_expression(expression, data, self._clock)

    def must_defer(self, task, allow_deferred: bool) -> None:
        """Called before each engine step: stop before a step that reads a slow source."""
        if allow_deferred:
            return
        name = DECIDE_TABLE if isinstance(task.task_spec, DecisionTableTask) else getattr(
            task.task_spec, "operation_name", None)
        operation = REGISTRY.get(name) if name else None
        if operation is None:
            return
        slow = deferred_among(self.context.sources, operation.reads(self.context))
        if slow:
            raise WorkDeferred(task.task_spec.bpmn_id, slow)

    def script_engine(self) -> SandboxScriptEngine:
        return SandboxScriptEngine(services=self, clock=self._clock, policy=self.policy)
