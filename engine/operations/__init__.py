"""Service operations as plug-ins: the registry a BPMN service task's operation name is
looked up in (engine/operations/base.py says what an operation is).

Adding an operation is one new module declaring an ``Operation`` (and its effects) plus
one line in ``REGISTRY``. Deploy refuses a service task naming an operation not here, or
one whose matter policy lacks what the operation needs (``check_service_tasks``).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from engine.errors import Problem
from engine.operations import clock, credit, decide, materials
from engine.operations.base import Operation

REGISTRY: dict[str, Operation] = {operation.name: operation for operation in (
    decide.RULES,
    decide.TABLE,
    credit.CHECK,
    credit.FALSE_COMMITMENT,
    materials.FETCH,
    clock.PAUSE,
    clock.RESUME,
)}
SERVICE_TASK_OPERATIONS = tuple(name for name, operation in REGISTRY.items() if operation.service_task)


def check_service_tasks(specs: list, filename: str, policy: Mapping[str, Any] | None) -> list[Problem]:
    """Deploy-time: every service task names an operation a service task may call, and the
    version's policy holds what that operation needs — refused here rather than when an
    application meets it."""
    problems = []
    for spec in specs:
        for task_spec in spec.task_specs.values():
            name = getattr(task_spec, "operation_name", None)
            if name is None:
                continue
            where = Problem(filename, getattr(task_spec, "bpmn_id", None) or "")
            if name not in SERVICE_TASK_OPERATIONS:
                problems.append(replace(where, reason=f"unknown service operation {name!r}; "
                                                      f"known: {', '.join(SERVICE_TASK_OPERATIONS)}"))
                continue
            needed = REGISTRY[name].policy
            if policy is not None and needed and needed not in policy:
                problems.append(replace(where, reason=f"service operation {name!r} needs the matter's {needed!r} "
                                                      "policy in the catalogue, which this matter has not"))
    return problems
