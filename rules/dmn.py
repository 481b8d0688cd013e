"""DMN decision tables as a matter's rules, judged into the same Decision as a rule set.

SpiffWorkflow parses the table and its DMNEngine matches the rows (input entries such as
``>= 60`` or ``True``; its UNIQUE and COLLECT hit policies). This module adds what a
Decision needs and SpiffWorkflow does not know: which facts each row reads, so that a row
on a fact that cannot be verified is skipped and the application goes to manual review
exactly as with a rule set, and each row's outcome, message and values, checked when the
table is deployed rather than when an applicant meets it.

The shape of a table: every input expression is the name of a fact the matter's rule set
declares (the rule set says where the fact comes from; the table only judges it); the
output columns are ``outcome`` (approve / reject / manual) and ``message``, and any other
output column is a value, like a rule's ``set:``. Outputs are literals. The row's DMN id
is the reason's rule id. COLLECT lists every matching row, the most severe outcome
winning as in a rule set; UNIQUE takes the first matching row.

Overlapping rows are not linted: input entries are expressions, so the format cannot
tell in general whether two rows can both match.
"""
from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.specs.model import DecisionTable
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .decision import OUTCOMES, Decision, Fact
from .evaluate import RuleEvaluationError, check_facts, combine, evaluate
from .ruleset import RuleProblem, RuleSet, RuleSetError, is_json_scalar

OUTCOME_OUTPUT, MESSAGE_OUTPUT = "outcome", "message"
HIT_POLICIES = ("UNIQUE", "COLLECT")
INPUT_PLACEHOLDER = "dmninputexpr"  # what DMNEngine puts in place of '?' in an input entry
_QUESTION_MARK = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")  # as DMNEngine: outside quotes

Evaluate = Callable[[str, Mapping[str, Any]], Any]


@dataclass(frozen=True)
class TableRow:
    """One row of the table as a rule: what it decides and the facts its entries read."""

    id: str
    outcome: str
    message: str
    values: dict
    facts: frozenset[str]


@dataclass(frozen=True)
class TableRules:
    """A linted table with the rule set that declares its facts (their sources, the default)."""

    ruleset: RuleSet
    table: DecisionTable
    rows: dict[str, TableRow]
    checksum: str


def load_table(table: DecisionTable, ruleset: RuleSet, functions: Collection[str] = (),
               filename: str = "<dmn>") -> TableRules:
    """Lint a parsed table against the rule set's facts; raise RuleSetError naming each row.

    ``functions`` are the names (sandbox functions) an entry may call besides the facts.
    """
    linter = _TableLinter(table, ruleset, frozenset(functions))
    rows = linter.rows()
    if linter.problems:
        raise RuleSetError(linter.problems, filename)
    return TableRules(ruleset=ruleset, table=table, rows=rows, checksum=table_checksum(table, ruleset))


def table_checksum(table: DecisionTable, ruleset: RuleSet) -> str:
    """sha256 of what judges: the table's entries and the rule set declaring its facts.

    Computed from the parsed table, so the same table gives the same checksum whether it
    comes from a stored workflow spec or from a DMN file an analyst replays.
    """
    content = {
        "ruleset": ruleset.checksum, "table": table.id, "hit_policy": table.hit_policy,
        "inputs": [[item.id, item.expression] for item in table.inputs],
        "outputs": [[item.id, _output_key(item)] for item in table.outputs],
        "rows": [[row.id, [entry.lhs for entry in row.inputEntries],
                  [entry.text for entry in row.outputEntries]] for row in table.rules],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()


def evaluate_table(rules: TableRules, facts: Mapping[str, Fact], evaluate_expression: Evaluate) -> Decision:
    """Decide one application with the table: rows reading a fact that cannot be used are
    skipped and the fact becomes a 'missing' (manual) reason, as with a rule set."""
    referenced = set().union(*(row.facts for row in rules.rows.values()))
    available, missing = check_facts(rules.ruleset, referenced, facts)
    matched = _matching_rows(rules, available, evaluate_expression)
    return combine(rules.ruleset, rules.checksum, matched, missing, facts)


def decide(ruleset: RuleSet, table: TableRules | None, facts: Mapping[str, Fact],
           evaluate_expression: Evaluate) -> Decision:
    """The Decision of whatever decides the matter: its DMN table if it has one, else its rules."""
    if table is not None:
        return evaluate_table(table, facts, evaluate_expression)
    return evaluate(ruleset, facts)


# --- matching with SpiffWorkflow's DMNEngine --------------------------------------------

def _matching_rows(rules: TableRules, available: dict[str, Any], evaluate_expression: Evaluate) -> list[TableRow]:
    table = rules.table
    evaluable = DecisionTable(table.id, table.name, table.hit_policy)
    evaluable.inputs, evaluable.outputs = table.inputs, table.outputs
    evaluable.rules = [row for row in table.rules if rules.rows[row.id].facts <= available.keys()]
    try:
        matched = DMNEngine(evaluable).decide(_TaskView(available, evaluate_expression))
    except SpiffWorkflowException as exc:
        raise RuleEvaluationError(f"decision table {table.id}: {exc}") from exc
    return [rules.rows[row.id] for row in matched]


class _TaskView:
    """The little of a SpiffWorkflow task that DMNEngine reads: the data to judge and a
    script engine, here the sandboxed expression evaluator. No workflow is needed, so a
    replay can run a table over recorded facts."""

    task_spec = None

    def __init__(self, data: dict[str, Any], evaluate_expression: Evaluate) -> None:
        self.data = data
        self.workflow = SimpleNamespace(script_engine=_Expressions(evaluate_expression))


class _EntryFailed(SpiffWorkflowException):
    """An entry could not be evaluated on the facts. DMNEngine wraps any other error in an
    exception that needs a real workflow task, so this is what it gets."""


class _Expressions:
    def __init__(self, evaluate_expression: Evaluate) -> None:
        self._evaluate = evaluate_expression

    def evaluate(self, task: _TaskView, expression: str, external_context: Mapping | None = None) -> Any:
        try:
            return self._evaluate(expression, {**(external_context or {}), **task.data})
        except Exception as exc:  # re-raised as the one kind DMNEngine passes through untouched
            raise _EntryFailed(f"{expression!r}: {type(exc).__name__}: {exc}") from exc

    def validate(self, expression: str) -> None:
        ast.parse(expression)  # as PythonScriptEngine.validate: SyntaxError if it is not Python


# --- lint --------------------------------------------------------------------------------

def _output_key(output: Any) -> str:
    return output.name or output.label  # the key DMNEngine gives the output


class _TableLinter:
    """Checks the table's shape and builds its rows, collecting every problem."""

    def __init__(self, table: DecisionTable, ruleset: RuleSet, functions: frozenset[str]) -> None:
        self.table = table
        self.ruleset = ruleset
        self.functions = functions
        self.problems: list[RuleProblem] = []

    def problem(self, row_id: str | None, message: str) -> None:
        self.problems.append(RuleProblem(row_id, message))

    def rows(self) -> dict[str, TableRow]:
        if self.table.hit_policy not in HIT_POLICIES:
            self.problem(None, f"decision table {self.table.id}: hit policy {self.table.hit_policy!r} "
                               f"(expected one of {', '.join(HIT_POLICIES)})")
        inputs_ok = self._check_inputs()
        outputs_ok = self._check_outputs()
        if not (inputs_ok and outputs_ok):
            return {}
        rows: dict[str, TableRow] = {}
        for row in self.table.rules:
            if row.id in rows:
                self.problem(row.id, "duplicate rule id")
            built = self._row(row)
            if built is not None:
                rows[row.id] = built
        if not self.table.rules:
            self.problem(None, f"decision table {self.table.id} has no rules")
        return rows

    def _check_inputs(self) -> bool:
        ok = True
        for item in self.table.inputs:
            name = (item.expression or "").strip()
            if name not in self.ruleset.facts:
                declared = ", ".join(self.ruleset.facts) or "none"
                self.problem(None, f"input {item.label or item.id}: {name!r} is not a fact the rule "
                                   f"set declares (declared: {declared})")
                ok = False
        return ok

    def _check_outputs(self) -> bool:
        keys = [_output_key(item) for item in self.table.outputs]
        missing = [key for key in (OUTCOME_OUTPUT, MESSAGE_OUTPUT) if key not in keys]
        if missing:
            self.problem(None, f"decision table {self.table.id}: missing output column(s) "
                               f"{', '.join(missing)} (outputs: {', '.join(keys) or 'none'})")
        return not missing

    def _row(self, row: Any) -> TableRow | None:
        before = len(self.problems)
        facts = set()
        for entry in row.inputEntries:
            for match in entry.lhs:
                if match is not None:
                    facts |= self._entry_facts(row.id, entry.input.expression.strip(), match)
        outputs = {_output_key(entry.output): self._literal(row.id, entry) for entry in row.outputEntries}
        outcome, message = outputs.pop(OUTCOME_OUTPUT, None), outputs.pop(MESSAGE_OUTPUT, None)
        if outcome not in OUTCOMES:
            self.problem(row.id, f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
        if not isinstance(message, str) or not message.strip():
            self.problem(row.id, "missing 'message'")
        if len(self.problems) > before:
            return None
        values = {key: value for key, value in outputs.items() if value is not None}
        return TableRow(id=row.id, outcome=outcome, message=message, values=values, facts=frozenset(facts))

    def _entry_facts(self, row_id: str, fact: str, match: str) -> set[str]:
        """The facts one input entry reads: its column's fact and any fact it names."""
        try:
            tree = ast.parse(match_expression(fact, match), mode="eval")
        except SyntaxError:
            self.problem(row_id, f"input entry {match!r} on '{fact}' is not a valid expression")
            return set()
        names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        unknown = names - set(self.ruleset.facts) - self.functions - {INPUT_PLACEHOLDER}
        for name in sorted(unknown):
            self.problem(row_id, f"unknown fact {name!r} in input entry {match!r}")
        return {fact} | (names & set(self.ruleset.facts))

    def _literal(self, row_id: str, entry: Any) -> Any:
        """An output entry's value; outputs are literals so a Decision stays plain JSON."""
        text = (entry.text or "").strip()
        if not text:
            return None
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            value = _NOT_A_LITERAL
        if value is None or not is_json_scalar(value):
            self.problem(row_id, f"output {_output_key(entry.output)} {text!r} must be a literal "
                                 "string, number or boolean")
            return None
        return value


_NOT_A_LITERAL = object()


def match_expression(input_expression: str, match: str) -> str:
    """The expression DMNEngine evaluates for one input entry, built the same way (its
    ``evaluate``: '?' replaced outside quotes; '==' added when the entry parses alone, as
    ``script_engine.validate`` parses it, in exec mode). The one copy: the sandbox checks
    exactly this string (engine/sandbox.py)."""
    match = _QUESTION_MARK.sub(INPUT_PLACEHOLDER, match)
    if INPUT_PLACEHOLDER in match:
        return match
    try:
        ast.parse(match)
    except SyntaxError:
        return input_expression + match
    return f"({input_expression}) == ({match})"
