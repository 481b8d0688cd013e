"""Rule sets as data: one YAML file per matter (事项), linted when loaded.

A rule set is written by policy staff, not programmers, so loading refuses it with every
problem at once (naming the rule) instead of failing on the first one or, worse, loading a
rule that silently never fires.
"""
from __future__ import annotations

import datetime
import hashlib
import math
import re
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import yaml

from .decision import OUTCOMES, SEVERITY

FACT_TYPES = ("integer", "number", "boolean", "string", "date")
OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in")
ORDERING_OPERATORS = ("lt", "lte", "gt", "gte")
ORDERED_TYPES = ("integer", "number", "date")
# "all"/"any" are condition keywords; durable-rules uses "sid" and "id" itself; names
# starting with "_" are left to the evaluator.
RESERVED_FACT_NAMES = frozenset({"all", "any", "sid", "id"})
FACT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

TOP_KEYS = {"matter", "default", "facts", "rules", "table"}
FACT_KEYS = {"type", "label", "source", "key", "field", "expr"}
RULE_KEYS = {"id", "when", "outcome", "message", "set"}
# The "can never fire" check searches the alternatives of a condition, the overlap check
# every pair of rules; past this many steps each gives up and says so (a warning) rather
# than hang a deploy.
MAX_SEARCH_STEPS = 20_000
MAX_OVERLAP_STEPS = 200_000


@dataclass(frozen=True)
class RuleProblem:
    """One thing wrong with a rule set; ``rule_id`` is None for problems outside a rule."""

    rule_id: str | None
    message: str

    def __str__(self) -> str:
        return f"rule {self.rule_id}: {self.message}" if self.rule_id else self.message


class RuleSetError(ValueError):
    """A rule set was refused; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[RuleProblem], filename: str = "<ruleset>") -> None:
        self.problems = list(problems)
        self.filename = filename
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [f"invalid rule set {self.filename}:"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


@dataclass(frozen=True)
class FactSpec:
    """A fact a rule set needs. source/key/field/expr are for the engine that gathers it."""

    name: str
    type: str
    source: str
    label: str
    key: str | None = None
    field: str | None = None
    expr: str | None = None


@dataclass(frozen=True)
class Atom:
    """``fact OP value``; for ``in`` the value is a tuple of literals."""

    fact: str
    op: str
    value: Any


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


Condition = Union[Atom, AllOf, AnyOf]


@dataclass(frozen=True)
class Rule:
    """One rule; ``values`` is its ``set:`` mapping, ``facts`` the fact names it reads."""

    id: str
    when: Condition
    outcome: str
    message: str
    values: dict
    facts: frozenset[str]


@dataclass(frozen=True)
class RuleSet:
    """A linted rule set. ``checksum`` (sha256 of the text) ties each decision to its rules."""

    matter: str
    checksum: str
    facts: dict[str, FactSpec]
    rules: tuple[Rule, ...]
    default: str = "manual"
    filename: str = "<ruleset>"
    # The DMN decision that decides this matter (then ``rules`` is empty and this file only
    # declares the facts the table reads); None when the rules below decide.
    table: str | None = None
    # Accepted but suspicious: rules too complex to check whether they can fire. With the
    # overlaps (lint_warnings), shown with the deploy result; never a refusal.
    warnings: tuple[RuleProblem, ...] = ()


# --- values -----------------------------------------------------------------------------

def value_fits(fact_type: str, value: Any) -> bool:
    """Check a value against a fact type ourselves: durable-rules coerces silently."""
    if fact_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if fact_type == "number":
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value))
    if fact_type == "boolean":
        return isinstance(value, bool)
    if fact_type == "string":
        return isinstance(value, str)
    if fact_type == "date":
        return isinstance(value, str) and _parse_date(value) is not None
    return False


def engine_value(fact_type: str, value: Any) -> Any:
    """Turn a checked value into what the rules compare: dates become day numbers."""
    if fact_type == "date":
        return _parse_date(value).toordinal()
    return value


def _parse_date(text: str) -> datetime.date | None:
    if not ISO_DATE.match(text):
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def is_json_scalar(value: Any) -> bool:
    """A value a Decision can carry as is: decisions are stored and audited as JSON."""
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (str, int, bool))


def condition_facts(cond: Condition) -> frozenset[str]:
    """The fact names a condition reads (a rule with any of them missing is not evaluated)."""
    if isinstance(cond, Atom):
        return frozenset({cond.fact})
    return frozenset().union(*(condition_facts(item) for item in cond.items))


# --- loading ----------------------------------------------------------------------------

def load_ruleset(text: str, filename: str = "<ruleset>") -> RuleSet:
    """Parse and lint a rule set; raise RuleSetError listing every problem found."""
    data = _parse_yaml(text, filename)
    linter = _Linter(filename)
    ruleset = linter.ruleset(data, hashlib.sha256(text.encode("utf-8")).hexdigest())
    if linter.problems:
        raise RuleSetError(linter.problems, filename)
    return ruleset


def load_ruleset_file(path: str | Path) -> RuleSet:
    """Load a rule set file (UTF-8), naming the file in any error."""
    return load_ruleset(Path(path).read_text(encoding="utf-8"), filename=str(path))


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader refusing duplicate keys: PyYAML keeps the last, silently dropping a condition."""


def _construct_strict_mapping(loader: _StrictLoader, node: yaml.MappingNode,
                              deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, Hashable) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        if isinstance(key, Hashable):
            seen.add(key)
    return loader.construct_mapping(node, deep=deep)


def _construct_lenient_timestamp(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    """Keep an impossible date like 2024-13-01 as text, so lint can name the rule using it."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                              _construct_strict_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_lenient_timestamp)


def _parse_yaml(text: str, filename: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise RuleSetError([RuleProblem(None, _yaml_message(error, filename))], filename) from error
    except RecursionError as error:  # hostile input: nesting deeper than the parser's stack
        raise RuleSetError([RuleProblem(None, f"{filename}: YAML nested too deeply")], filename) from error


def _yaml_message(error: yaml.YAMLError, filename: str) -> str:
    mark = getattr(error, "problem_mark", None)
    where = f"{filename}:{mark.line + 1}" if mark else filename
    problem = getattr(error, "problem", None) or str(error)
    return f"{where}: YAML syntax error: {problem}"


class _Linter:
    """Builds a RuleSet from parsed YAML, collecting problems instead of stopping at the first."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[RuleProblem] = []
        self.warnings: list[RuleProblem] = []
        self.facts: dict[str, FactSpec] = {}
        self.invalid_facts: set[str] = set()  # declared but refused; not re-reported per rule

    def problem(self, rule_id: str | None, message: str) -> None:
        self.problems.append(RuleProblem(rule_id, message))

    def ruleset(self, data: Any, checksum: str) -> RuleSet | None:
        """The RuleSet, meaningful only if no problems were recorded."""
        if not isinstance(data, dict):
            self.problem(None, f"{self.filename}: a rule set must be a mapping")
            return None
        self._unknown_keys(None, data, TOP_KEYS, "rule set")
        matter = data.get("matter")
        if not isinstance(matter, str) or not matter.strip():
            self.problem(None, "missing 'matter' (a non-empty string)")
        default = data.get("default", "manual")
        if default not in OUTCOMES:
            self.problem(None, f"default {default!r} is not one of {', '.join(OUTCOMES)}")
        self.facts = self._fact_specs(data.get("facts", {}))
        table = self._table(data)
        rules = () if table is not None else self._rules(data.get("rules"))
        return RuleSet(matter=matter, checksum=checksum, facts=self.facts, rules=rules,
                       default=default, filename=self.filename, table=table, warnings=tuple(self.warnings))

    def _table(self, data: dict) -> str | None:
        """``table: DECISION_ID``: a DMN table decides, so the file has facts and no rules."""
        if "table" not in data:
            return None
        table = data["table"]
        if not isinstance(table, str) or not table.strip():
            self.problem(None, "'table' must name a DMN decision (its id)")
        if "rules" in data:
            self.problem(None, "'rules' and 'table' exclude each other: a matter is decided by "
                               "its rules or by a DMN table, not both")
        return table if isinstance(table, str) else ""

    def _unknown_keys(self, rule_id: str | None, data: dict, allowed: set, what: str) -> None:
        for key in data:
            if key not in allowed:
                self.problem(rule_id, f"unknown key {key!r} in {what}")

    # facts

    def _fact_specs(self, raw: Any) -> dict[str, FactSpec]:
        if not isinstance(raw, dict):
            self.problem(None, "'facts' must be a mapping of fact name to spec")
            return {}
        specs = {}
        for name, spec in raw.items():
            parsed = self._fact_spec(name, spec)
            if parsed is not None:
                specs[name] = parsed
            elif isinstance(name, str):
                self.invalid_facts.add(name)
        return specs

    def _fact_spec(self, name: Any, raw: Any) -> FactSpec | None:
        if not isinstance(name, str) or not FACT_NAME.match(name) or name in RESERVED_FACT_NAMES:
            self.problem(None, f"invalid fact name {name!r}")
            return None
        if not isinstance(raw, dict):
            self.problem(None, f"fact '{name}': spec must be a mapping")
            return None
        self._unknown_keys(None, raw, FACT_KEYS, f"fact '{name}'")
        ok = True
        if raw.get("type") not in FACT_TYPES:
            self.problem(None, f"fact '{name}': unknown type {raw.get('type')!r} "
                               f"(expected one of {', '.join(FACT_TYPES)})")
            ok = False
        if not isinstance(raw.get("source"), str) or not raw.get("source"):
            self.problem(None, f"fact '{name}': missing 'source'")
            ok = False
        for key in ("label", "key", "field", "expr"):
            if key in raw and not isinstance(raw[key], str):
                self.problem(None, f"fact '{name}': '{key}' must be a string")
                ok = False
        if not ok:
            return None
        return FactSpec(name=name, type=raw["type"], source=raw["source"],
                        label=raw.get("label", name), key=raw.get("key"),
                        field=raw.get("field"), expr=raw.get("expr"))

    # rules

    def _rules(self, raw: Any) -> tuple[Rule, ...]:
        if not isinstance(raw, list) or not raw:
            self.problem(None, "missing 'rules' (a non-empty list)")
            return ()
        rules, seen = [], set()
        for index, item in enumerate(raw, start=1):
            rule = self._rule(index, item, seen)
            if rule is not None:
                rules.append(rule)
        return tuple(rules)

    def _rule(self, index: int, raw: Any, seen: set) -> Rule | None:
        if not isinstance(raw, dict):
            self.problem(None, f"rule #{index} must be a mapping")
            return None
        before = len(self.problems)
        rule_id = self._rule_id(index, raw.get("id"), seen)
        self._unknown_keys(rule_id, raw, RULE_KEYS, "rule")
        outcome, message = raw.get("outcome"), raw.get("message")
        if outcome not in OUTCOMES:
            self.problem(rule_id, f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
        if not isinstance(message, str) or not message.strip():
            self.problem(rule_id, "missing 'message'")
        values = self._set_values(rule_id, raw.get("set", {}))
        when = self._when(rule_id, raw)
        if len(self.problems) > before or when is None:
            return None
        can_fire = _satisfiable((when,), self.facts)
        if can_fire is None:
            self.warnings.append(RuleProblem(rule_id, "too many alternatives to check whether it "
                                                      "can ever fire"))
        elif not can_fire:
            self.problem(rule_id, "can never fire: its conditions contradict each other")
            return None
        return Rule(id=rule_id, when=when, outcome=outcome, message=message,
                    values=values, facts=condition_facts(when))

    def _rule_id(self, index: int, rule_id: Any, seen: set) -> str:
        if not isinstance(rule_id, str) or not rule_id.strip():
            self.problem(None, f"rule #{index} has no 'id'")
            return f"#{index}"
        if rule_id in seen:
            self.problem(rule_id, "duplicate rule id")
        seen.add(rule_id)
        return rule_id

    def _set_values(self, rule_id: str, raw: Any) -> dict:
        if not isinstance(raw, dict):
            self.problem(rule_id, "'set' must be a mapping")
            return {}
        for key, value in raw.items():
            if not isinstance(key, str) or not is_json_scalar(value):
                self.problem(rule_id, f"'set' entry {key!r}: {value!r} is not a JSON scalar "
                                      "under a string key")
        return dict(raw)

    def _when(self, rule_id: str, raw: dict) -> Condition | None:
        if "when" not in raw:
            self.problem(rule_id, "missing 'when'")
            return None
        return self._condition(rule_id, raw["when"])

    # conditions

    def _condition(self, rule_id: str, raw: Any) -> Condition | None:
        if not isinstance(raw, dict) or not raw:
            self.problem(rule_id, f"condition {raw!r} must be a non-empty mapping")
            return None
        parts: list[Condition | None] = []
        for key, value in raw.items():
            if key in ("all", "any"):
                parts.append(self._group(rule_id, key, value))
            else:
                parts.extend(self._fact_tests(rule_id, key, value))
        if any(part is None for part in parts):
            return None
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def _group(self, rule_id: str, keyword: str, raw: Any) -> Condition | None:
        if not isinstance(raw, list) or not raw:
            self.problem(rule_id, f"'{keyword}' must be a non-empty list of conditions")
            return None
        items = [self._condition(rule_id, item) for item in raw]
        if any(item is None for item in items):
            return None
        return AllOf(tuple(items)) if keyword == "all" else AnyOf(tuple(items))

    def _fact_tests(self, rule_id: str, name: Any, raw: Any) -> list[Atom | None]:
        spec = self.facts.get(name)
        if spec is None:
            if name not in self.invalid_facts:
                self.problem(rule_id, f"unknown fact {name!r}")
            return [None]
        if not isinstance(raw, dict) or not raw:
            self.problem(rule_id, f"test of fact '{name}' must be a mapping of operator to "
                                  f"literal, e.g. {{eq: ...}}")
            return [None]
        return [self._atom(rule_id, spec, op, literal) for op, literal in raw.items()]

    def _atom(self, rule_id: str, spec: FactSpec, op: Any, literal: Any) -> Atom | None:
        if op not in OPERATORS:
            self.problem(rule_id, f"unknown operator {op!r} on fact '{spec.name}' "
                                  f"(expected one of {', '.join(OPERATORS)})")
            return None
        if op in ORDERING_OPERATORS and spec.type not in ORDERED_TYPES:
            self.problem(rule_id, f"operator '{op}' does not apply to {spec.type} "
                                  f"fact '{spec.name}'")
            return None
        if op == "in":
            return self._in_atom(rule_id, spec, literal)
        literal = self._literal(rule_id, spec, literal)
        return None if literal is None else Atom(spec.name, op, literal)

    def _in_atom(self, rule_id: str, spec: FactSpec, raw: Any) -> Atom | None:
        if not isinstance(raw, list) or not raw:
            self.problem(rule_id, f"'in' on fact '{spec.name}' needs a non-empty list")
            return None
        literals = [self._literal(rule_id, spec, item) for item in raw]
        if any(literal is None for literal in literals):
            return None
        return Atom(spec.name, "in", tuple(literals))

    def _literal(self, rule_id: str, spec: FactSpec, literal: Any) -> Any:
        if isinstance(literal, datetime.date) and not isinstance(literal, datetime.datetime):
            literal = literal.isoformat()  # YAML reads an unquoted 2024-01-01 as a date
        if not value_fits(spec.type, literal):
            self.problem(rule_id, f"literal {literal!r} does not fit {spec.type} "
                                  f"fact '{spec.name}'")
            return None
        return literal


# --- "can never fire" and overlaps -------------------------------------------------------

class _SearchBudget:
    """Steps left for a search; running out means "cannot tell"."""

    def __init__(self, steps: int = MAX_SEARCH_STEPS) -> None:
        self.left = steps

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _TooComplex


class _TooComplex(Exception):
    """The search ran out of steps (or of stack): whether the condition can hold is unknown."""


def _satisfiable(conditions: tuple[Condition, ...], facts: dict[str, FactSpec],
                 budget: _SearchBudget | None = None) -> bool | None:
    """Can all the conditions hold at once (where detectable)? None: too complex to tell.

    A depth-first search over the ``any`` alternatives that drops a branch as soon as the
    tests on one fact contradict each other, so it neither expands every alternative up
    front nor gives up on a large but easily satisfied condition.
    """
    try:
        return _search(list(conditions), {}, facts, budget or _SearchBudget())
    except (_TooComplex, RecursionError):
        return None


def _search(pending: list[Condition], tests: dict[str, tuple[Atom, ...]],
            facts: dict[str, FactSpec], budget: _SearchBudget) -> bool:
    pending, tests = list(pending), dict(tests)
    while pending:
        budget.spend()
        head = pending.pop()
        if isinstance(head, Atom):
            tests[head.fact] = tests.get(head.fact, ()) + (head,)
            if not _fact_satisfiable(facts[head.fact].type, list(tests[head.fact])):
                return False
        elif isinstance(head, AllOf):
            pending.extend(head.items)
        else:
            return any(_search([*pending, item], tests, facts, budget) for item in head.items)
    return True


def lint_warnings(ruleset: RuleSet) -> list[RuleProblem]:
    """Everything lint accepts but an analyst should look at: rules too complex to check,
    and overlapping rules with contradicting outcomes. Computed on demand (deploy, replay),
    not at every load: comparing every pair of rules is the slow part of lint."""
    return [*ruleset.warnings, *_overlap_warnings(ruleset.rules, ruleset.facts)]


def _overlap_warnings(rules: tuple[Rule, ...], facts: dict[str, FactSpec]) -> list[RuleProblem]:
    """Rules with different outcomes that test a common fact and can both hold.

    A warning, not a refusal: the outcome is still well defined (the most severe wins, see
    rules/evaluate.py) and a carve-out such as "approve from 80, but reject from 80 when
    already receiving" overlaps on purpose. Rules on different facts (a reject on household
    registration over an approve on age) are the intended layering and are not reported;
    an overlap on the same fact is usually a threshold typed twice differently.
    """
    warnings, budget = [], _SearchBudget(MAX_OVERLAP_STEPS)
    try:
        for index, first in enumerate(rules):
            for second in rules[index + 1:]:
                budget.spend()
                shared = first.facts & second.facts
                if first.outcome == second.outcome or not shared:
                    continue
                if _satisfiable((first.when, second.when), facts, budget):
                    winner = max(first.outcome, second.outcome, key=SEVERITY.__getitem__)
                    warnings.append(RuleProblem(second.id, (
                        f"overlaps rule {first.id} on {', '.join(sorted(shared))}: both can hold "
                        f"({first.outcome} vs {second.outcome}); {winner} wins")))
    except _TooComplex:
        warnings.append(RuleProblem(None, f"overlap check stopped after {MAX_OVERLAP_STEPS} steps: "
                                          "not every pair of rules was compared"))
    return warnings


def _fact_satisfiable(fact_type: str, atoms: list[Atom]) -> bool:
    """Is there a value of this type passing every test on one fact?"""
    tests = [(a.op, _comparable(fact_type, a)) for a in atoms]
    candidates = {True, False} if fact_type == "boolean" else None
    for op, value in tests:
        if op in ("eq", "in"):
            allowed = set(value) if op == "in" else {value}
            candidates = allowed if candidates is None else candidates & allowed
    others = [(op, value) for op, value in tests if op not in ("eq", "in")]
    if candidates is not None:
        return any(all(_holds(c, op, v) for op, v in others) for c in candidates)
    return _interval_nonempty(fact_type in ("integer", "date"), others)


def _comparable(fact_type: str, atom: Atom) -> Any:
    if atom.op == "in":
        return tuple(engine_value(fact_type, v) for v in atom.value)
    return engine_value(fact_type, atom.value)


def _holds(candidate: Any, op: str, value: Any) -> bool:
    return {
        "ne": lambda: candidate != value,
        "lt": lambda: candidate < value,
        "lte": lambda: candidate <= value,
        "gt": lambda: candidate > value,
        "gte": lambda: candidate >= value,
    }[op]()


def _interval_nonempty(discrete: bool, tests: list[tuple[str, Any]]) -> bool:
    """Bounds and exclusions on an ordered fact; integers and dates are discrete."""
    lows = [(v, op == "gt") for op, v in tests if op in ("gt", "gte")]
    highs = [(v, op == "lt") for op, v in tests if op in ("lt", "lte")]
    excluded = {v for op, v in tests if op == "ne"}
    if not lows or not highs:
        return True
    if discrete:
        low = max(v + 1 if strict else v for v, strict in lows)
        high = min(v - 1 if strict else v for v, strict in highs)
        return high - low + 1 > len({x for x in excluded if low <= x <= high})
    low = max(lows)    # on a tie, (v, True) > (v, False): the strict bound is tighter
    high = min(highs, key=lambda bound: (bound[0], not bound[1]))
    if low[0] != high[0]:
        return low[0] < high[0]
    return not low[1] and not high[1] and low[0] not in excluded
