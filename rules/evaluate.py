"""Evaluate a linted rule set against one application's facts with durable-rules.

durable-rules has sharp edges (measured): its C core is not thread-safe, ``post`` fires
only one rule, a ruleset name cannot be registered twice, errors inside actions are only
stored in session state, its Host starts CPU-burning timer threads, and deleting the
session of a fact that matched no rule segfaults within a few hundred evaluations.
Everything here is shaped by those: one process-wide lock, facts asserted under a fresh
session that is always deleted, a sentinel rule that matches every asserted fact, one
compiled ruleset per checksum, actions that only record the rule id.
"""
from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from durable import engine

from .decision import SEVERITY, Decision, Fact, Reason
from .ruleset import AllOf, Atom, Condition, FactSpec, RuleSet, engine_value, value_fits

_LOCK = threading.Lock()
_COMPILED: dict[str, _Compiled] = {}
_host: _QuietHost | None = None

# Every asserted fact carries this field and a sentinel rule matches it, so no assert ends in
# MessageNotHandledException (whose session then crashes delete_state). Fact names cannot
# start with "_", so it cannot clash.
_SENTINEL = "_evaluation"

# YAML operators -> durable-rules JSON operators ("eq" is written as a bare {fact: value}).
_DURABLE_OPS = {"ne": "$neq", "lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}


class RuleEvaluationError(RuntimeError):
    """durable-rules reported an error while evaluating (it only stores it in session state)."""


class _QuietHost(engine.Host):
    """A Host without the background dispatch/timer threads: we evaluate synchronously."""

    def _run(self) -> None:
        return


class _Compiled:
    """One rule set registered with durable-rules; ``fired`` collects rule ids per evaluation."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.fired: list[str] = []


def evaluate(ruleset: RuleSet, facts: Mapping[str, Fact]) -> Decision:
    """Decide one application: reject > manual > approve; missing facts mean manual review."""
    referenced = set().union(*(rule.facts for rule in ruleset.rules))
    available, missing = check_facts(ruleset, referenced, facts)
    values = {name: engine_value(ruleset.facts[name].type, value) for name, value in available.items()}
    evaluable = [rule for rule in ruleset.rules if rule.facts <= available.keys()]
    fired_ids = _fire(ruleset, values) if evaluable else set()
    fired = [rule for rule in evaluable if rule.id in fired_ids]
    return combine(ruleset, ruleset.checksum, fired, missing, facts)


class Verdict(Protocol):
    """What a fired rule contributes: a rule-set rule or a row of a DMN table."""

    id: str
    outcome: str
    message: str
    values: dict


def combine(ruleset: RuleSet, checksum: str, fired: Sequence[Verdict], missing: list[Reason],
            facts: Mapping[str, Fact]) -> Decision:
    """One Decision from the fired rules and the facts that could not be used, whatever
    fired them (durable-rules or a DMN table): the most severe outcome wins, the values
    come from the rules that gave it, and with no reason at all the default applies."""
    reasons = [Reason(rule.id, rule.outcome, rule.message) for rule in fired] + missing
    if not reasons:
        reasons = [Reason("default", ruleset.default,
                          f"没有适用的规则，按默认结果处理 (no rule applied: {ruleset.default})")]
    outcome = max((reason.outcome for reason in reasons), key=SEVERITY.__getitem__)
    values: dict = {}
    for rule in fired:
        if rule.outcome == outcome:
            values.update(rule.values)
    return Decision(outcome=outcome, reasons=tuple(reasons), values=values,
                    matter=ruleset.matter, ruleset_checksum=checksum,
                    facts={name: facts[name] for name in ruleset.facts if name in facts})


# --- facts ------------------------------------------------------------------------------

def check_facts(ruleset: RuleSet, referenced: set[str],
                facts: Mapping[str, Fact]) -> tuple[dict[str, Any], list[Reason]]:
    """Split the referenced facts into usable values (as given) and 'missing' reasons (转人工)."""
    available: dict[str, Any] = {}
    missing: list[Reason] = []
    for name, spec in ruleset.facts.items():
        if name not in referenced:
            continue
        fact = facts.get(name)
        problem = _fact_problem(spec, fact)
        if problem is None:
            available[name] = fact.value
        else:
            source = fact.source if fact is not None else spec.source
            missing.append(Reason(f"missing:{name}", "manual",
                                  f"无法核验{spec.label}（{source}: {problem}）"))
    return available, missing


def _fact_problem(spec: FactSpec, fact: Fact | None) -> str | None:
    """Why a fact cannot be used, or None. Wrong types are caught here, not by durable-rules."""
    if fact is None:
        return "missing"
    if fact.status != "ok":
        return fact.status
    if fact.value is None:
        return "no_value"
    if not value_fits(spec.type, fact.value):
        return "invalid"
    return None


# --- durable-rules ----------------------------------------------------------------------

def _fire(ruleset: RuleSet, values: dict[str, Any]) -> set[str]:
    """Assert the facts in a fresh session and return the ids of every rule that fired."""
    sid = uuid.uuid4().hex
    with _LOCK:
        compiled = _compiled(ruleset)
        host = _get_host()
        compiled.fired.clear()
        try:
            host.assert_fact(compiled.name, dict(values, sid=sid, **{_SENTINEL: 1}))
            error = host.get_state(compiled.name, sid).get("exception")
        finally:
            host.delete_state(compiled.name, sid)
        if error:
            raise RuleEvaluationError(f"rule set {ruleset.matter}: {error}")
        return set(compiled.fired)


def _get_host() -> _QuietHost:
    global _host
    if _host is None:
        _host = _QuietHost()
    return _host


def _compiled(ruleset: RuleSet) -> _Compiled:
    """Register the rule set once per checksum (names cannot be registered twice). Under lock."""
    compiled = _COMPILED.get(ruleset.checksum)
    if compiled is None:
        compiled = _Compiled(f"{ruleset.matter}_{ruleset.checksum}")
        definition = {f"r{index}": {"all": [{"m": _durable_condition(rule.when, ruleset.facts)}],
                                    "run": _recorder(compiled.fired, rule.id)}
                      for index, rule in enumerate(ruleset.rules)}
        definition["sentinel"] = {"all": [{"m": {_SENTINEL: 1}}], "run": _ignore}
        _get_host().set_rulesets({compiled.name: definition})
        _COMPILED[ruleset.checksum] = compiled
    return compiled


def _ignore(closure: Any) -> None:
    """Action of the sentinel rule: it only exists so that every fact is handled."""


def _recorder(fired: list[str], rule_id: str) -> Callable[[Any], None]:
    """A one-argument action (two arguments would make durable-rules treat it as async)."""
    def action(closure: Any) -> None:
        fired.append(rule_id)
    return action


def _durable_condition(cond: Condition, facts: dict[str, FactSpec]) -> dict:
    """Translate a condition into durable-rules JSON; never emits a '$nex' (it loops)."""
    if isinstance(cond, Atom):
        return _durable_atom(cond, facts[cond.fact].type)
    operator = "$and" if isinstance(cond, AllOf) else "$or"
    return {operator: [_durable_condition(item, facts) for item in cond.items]}


def _durable_atom(atom: Atom, fact_type: str) -> dict:
    """One test; literals go through engine_value so dates compare as day numbers."""
    if atom.op == "in":
        return {"$or": [{atom.fact: engine_value(fact_type, v)} for v in atom.value]}
    value = engine_value(fact_type, atom.value)
    if atom.op == "eq":
        return {atom.fact: value}
    return {_DURABLE_OPS[atom.op]: {atom.fact: value}}
