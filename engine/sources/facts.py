"""Gathering the facts a rule set declares, each with its source and the time it was read.

A fact comes from the form (optionally through a sandboxed expression) or from a
data-sharing source looked up by a key from the form. A source with no record, or one
that does not answer, yields a fact with that status — the rules turn it into
``manual``, never ``reject``.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from engine.sources import Reading, ReadStatus, Source, read_all
from rules import Fact, RuleSet

FORM = "form"
Evaluate = Callable[[str, Mapping[str, Any]], Any]


def sources_read(ruleset: RuleSet) -> Iterable[str]:
    """The sources a rule set's facts come from (whether a step must wait for a worker)."""
    return {spec.source for spec in ruleset.facts.values() if spec.source != FORM}


def gather_facts(ruleset: RuleSet, data: Mapping[str, Any], sources: Mapping[str, Source],
                 evaluate: Evaluate) -> dict[str, Fact]:
    """Read every declared fact; one lookup per (source, key) however many facts use it,
    and the lookups run at the same time (each source keeps its own timeout)."""
    records = read_all(sources, [(spec.source, _key(spec, data)) for spec in ruleset.facts.values()
                                 if spec.source != FORM])
    facts = {}
    for name, spec in ruleset.facts.items():
        if spec.source == FORM:
            facts[name] = _form_fact(name, spec, data, evaluate)
        else:
            facts[name] = _source_fact(name, spec, data, records[(spec.source, _key(spec, data))], evaluate)
    return facts


def _key(spec, data: Mapping[str, Any]) -> str:
    return str(data.get(spec.key, "")) if spec.key else ""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _form_fact(name: str, spec, data: Mapping[str, Any], evaluate: Evaluate) -> Fact:
    try:
        value = evaluate(spec.expr, data) if spec.expr else data.get(spec.field or name)
    except (ValueError, TypeError, KeyError) as exc:
        return Fact(name, None, FORM, _now(), status=f"invalid: {exc}")
    return Fact(name, value, FORM, _now())


def _source_fact(name: str, spec, data: Mapping[str, Any], record: Reading, evaluate: Evaluate) -> Fact:
    if record.status != ReadStatus.OK:
        return Fact(name, None, spec.source, record.read_at or _now(), status=str(record.status))
    read_at = record.read_at
    try:
        value = evaluate(spec.expr, {**data, "record": record.data}) if spec.expr else record.data.get(spec.field or name)
    except (ValueError, TypeError, KeyError) as exc:  # a record without the expected field: cannot verify
        return Fact(name, None, spec.source, read_at, status=f"invalid: {exc}")
    return Fact(name, value, spec.source, read_at)
