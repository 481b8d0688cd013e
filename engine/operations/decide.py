"""``rules.decide`` and ``rules.decide_table``: gather the facts the rule set declares (each
with its source and read time) and judge them into a Decision — by the rule set's rules, or
by the DMN table a business-rule task calls (engine/definitions/bpmn.py ``DecisionTableTask``).

Deploy-time: ``check_decisions`` makes the process and the rule set agree on what decides.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from engine.definitions.bpmn import DECIDE_TABLE, DecisionTableTask
from engine.errors import Problem, rule_problems
from engine.operations.base import Operation, OperationContext, Result
from engine.running.compiled import decision_table
from engine.sources.facts import gather_facts, sources_read
from rules import RuleSet, RuleSetError, evaluate
from rules.dmn import evaluate_table

DECIDE = "rules.decide"


def _reads(context: OperationContext) -> Iterable[str]:
    return sources_read(context.compiled.ruleset)


def decide(context: OperationContext, params: dict, data: dict) -> Result:
    ruleset = context.compiled.ruleset
    decision = evaluate(ruleset, gather_facts(ruleset, data, context.sources, context.evaluate)).to_dict()
    if "credit" in data:  # the tier and its sources are part of the Decision (credit.check ran first)
        decision["credit"] = data["credit"]
    return Result(decision)


def decide_table(context: OperationContext, params: dict, data: dict) -> Result:
    table = decision_table(params["table"], context.compiled.ruleset)
    facts = gather_facts(table.ruleset, data, context.sources, context.evaluate)
    return Result(evaluate_table(table, facts, context.evaluate).to_dict())


RULES = Operation(DECIDE, decide, "judge the rule set's facts by its rules into a Decision", reads=_reads)
TABLE = Operation(DECIDE_TABLE, decide_table, "judge the rule set's facts by a DMN table into a Decision",
                  reads=_reads, service_task=False)


def decides(task_spec) -> bool:
    """A step that gathers facts: the rules.decide service or a DMN business-rule task."""
    return isinstance(task_spec, DecisionTableTask) or getattr(task_spec, "operation_name", None) == DECIDE


def check_decisions(specs: list, ruleset: RuleSet, bpmn_name: str, ruleset_name: str) -> list[Problem]:
    """Deploy-time check that the process and the rule set agree on what decides: a rule
    set with ``table: X`` is used by business-rule tasks calling X (whose table must read
    only declared facts), one with rules by the rules.decide service."""
    tasks = [t for spec in specs for t in spec.task_specs.values() if decides(t)]
    problems = []
    for task in tasks:
        where = Problem(bpmn_name, task.bpmn_id)
        if not isinstance(task, DecisionTableTask):
            if ruleset.table is not None:
                problems.append(replace(where, reason=f"rules.decide needs rules, but {ruleset_name} names DMN "
                                                      f"decision {ruleset.table!r}: use a business-rule task"))
        elif task.decision_id != ruleset.table:
            problems.append(replace(where, reason=f"calls DMN decision {task.decision_id!r}, but {ruleset_name} "
                                                  f"declares facts for {ruleset.table!r} (its 'table')"))
        else:
            problems += _table_problems(task, ruleset)
    if ruleset.table is not None and not any(getattr(t, "decision_id", None) == ruleset.table for t in tasks):
        problems.append(Problem(ruleset_name, "table", None,
                                f"no business-rule task calls DMN decision {ruleset.table!r}"))
    return problems


def _table_problems(task: DecisionTableTask, ruleset: RuleSet) -> list[Problem]:
    try:
        decision_table(task.dmnEngine.decision_table, ruleset)
    except RuleSetError as exc:
        return rule_problems(f"DMN {task.decision_id}", exc.problems)
    return []
