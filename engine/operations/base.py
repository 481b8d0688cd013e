"""What a service operation is: a name, the matter policy it needs, the sources it reads,
``run`` returning a result and typed effects — and each effect knows how it is applied.

A BPMN service task (``spiffworkflow:serviceTaskOperator``) names an operation; the run
(engine/running/) looks it up in the registry (engine/operations/__init__.py), stops
before it when it reads a deferred source, calls ``run``, stores the result in the task
data, and after the steps applies the effects to the application in the same transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Protocol

from sqlalchemy.orm import Session

from engine.sources import Source

if TYPE_CHECKING:
    from engine.oversight.calendar import WorkingCalendar
    from engine.store.models import Application
    from engine.running.compiled import Compiled


@dataclass(frozen=True)
class OperationContext:
    """What an operation may use: the version's compiled rules and form, its policy (never
    the live catalogue row), the data-sharing sources and the clock."""

    compiled: Compiled
    policy: Mapping[str, Any]
    sources: Mapping[str, Source]
    clock: Callable[[], datetime]
    evaluate: Callable[[str, Mapping[str, Any]], Any]  # a sandboxed expression on data


@dataclass(frozen=True)
class EffectTarget:
    """Where effects land: the application, in the transaction of the run that made them."""

    session: Session
    application: Application
    calendar: WorkingCalendar
    now: datetime
    actor: str


class Effect(Protocol):
    """A change an operation makes to the application itself (not to the workflow data)."""

    def apply(self, target: EffectTarget) -> None: ...


@dataclass(frozen=True)
class Result:
    result: Any  # stored in the task data as the service task's result (JSON)
    effects: tuple[Effect, ...] = ()


def reads_nothing(context: OperationContext) -> Iterable[str]:
    return ()


@dataclass(frozen=True)
class Operation:
    name: str
    run: Callable[[OperationContext, dict, dict], Result]
    summary: str
    policy: str | None = None  # the matter policy key it needs (checked at deploy)
    reads: Callable[[OperationContext], Iterable[str]] = field(default=reads_nothing)  # source names
    service_task: bool = True  # False: called by the engine's own element (a business-rule task)
