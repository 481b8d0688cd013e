"""The deploy-time check of parsed specs: every script, condition, timer and DMN entry of
an upload, and the policy paths its code reads."""
from __future__ import annotations

import ast
from typing import Any, Iterable, Mapping

from engine.sandbox.check import check_script
from engine.errors import Problem
from engine.sandbox.limits import SandboxViolation
from rules.dmn import match_expression

# --- deploy-time check of parsed specs --------------------------------------------------



def check_specs(specs: Iterable[Any], filename: str) -> list[Problem]:
    """Every refused piece of code in the process specs (top level and subprocesses).

    An empty list means the upload may be deployed. ``element_id`` is the BPMN id of the
    task, gateway or event carrying the code.
    """
    problems = []
    for spec in specs:
        for element_id, where, source, mode in _spec_code(spec):
            try:
                check_script(source, mode)
            except SandboxViolation as exc:
                problems.append(Problem(filename, element_id, None, f"{where}: {exc.reason}"))
    return problems


def check_policy_reads(specs: Iterable[Any], filename: str, policy: Mapping[str, Any]) -> list[Problem]:
    """Every ``policy('key', …)`` with literal keys that the version's policy does not hold:
    refused at deploy instead of failing in every application that reaches it."""
    problems = []
    for spec in specs:
        for element_id, where, source, mode in _spec_code(spec):
            for path in _policy_paths(source, mode):
                value: Any = policy
                for key in path:
                    value = value.get(key) if isinstance(value, Mapping) else None
                if value is None:
                    reason = f"{where}: the matter's policy has no {'.'.join(path)}, which policy() reads"
                    problems.append(Problem(filename, element_id, None, reason))
    return problems


def _policy_paths(source: Any, mode: str) -> Iterable[tuple[str, ...]]:
    try:
        tree = ast.parse(str(source), mode=mode)
    except SyntaxError:  # check_specs reports it
        return
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "policy" and node.args
                and all(isinstance(arg, ast.Constant) and isinstance(arg.value, str) for arg in node.args)):
            yield tuple(arg.value for arg in node.args)


Code = tuple[str, str, Any, str]  # element id, what it is, source, mode


def _spec_code(spec: Any) -> Iterable[Code]:
    completion = getattr(spec, "completion_condition", None)
    if completion is not None:
        yield spec.name, "completion condition", completion, "eval"
    for task_spec in spec.task_specs.values():
        yield from _task_code(task_spec)


def _task_code(task_spec: Any) -> Iterable[Code]:
    element_id = getattr(task_spec, "bpmn_id", None) or task_spec.name
    for attribute, mode in (("script", "exec"), ("prescript", "exec"), ("postscript", "exec"),
                            ("cardinality", "eval"), ("condition", "eval")):
        source = getattr(task_spec, attribute, None)
        if isinstance(source, str):
            yield element_id, attribute, source, mode
    for condition, target in getattr(task_spec, "cond_task_specs", None) or []:
        if condition is not None:
            yield element_id, f"condition of the flow to {target}", condition.args[0], "eval"
    for name, param in (getattr(task_spec, "operation_params", None) or {}).items():
        yield element_id, f"service parameter {name!r}", param["value"], "eval"
    event = getattr(task_spec, "event_definition", None)
    if event is not None:
        yield from ((element_id, where, source, "eval") for where, source in _event_code(event))
    dmn = getattr(task_spec, "dmnEngine", None)
    if dmn is not None:
        yield from ((element_id, where, source, "eval") for where, source in _dmn_code(dmn.decision_table))


def _event_code(event: Any) -> Iterable[tuple[str, Any]]:
    if getattr(event, "expression", None) is not None:
        yield f"{type(event).__name__} expression", event.expression
    for prop in [*getattr(event, "correlation_properties", []), *getattr(event, "process_correlations", [])]:
        yield f"correlation property {prop.name!r}", prop.retrieval_expression
    for inner in getattr(event, "event_definitions", []):
        yield from _event_code(inner)


def _dmn_code(table: Any) -> Iterable[tuple[str, Any]]:
    for item in table.inputs:
        if item.expression:
            yield f"decision table {table.id} input {item.id}", item.expression
    for rule in table.rules:
        where = f"decision table {table.id} rule {rule.id}"
        for entry in rule.inputEntries:
            for lhs in entry.lhs:
                if lhs:
                    yield where, match_expression(entry.input.expression or "", lhs)
        for entry in rule.outputEntries:
            if entry.text:
                yield where, entry.text
