"""Gathering the facts a rule set declares, each with its source and the time it was read.

A fact comes from the form (optionally through a sandboxed expression) or from a
data-sharing source looked up by a key from the form. A source with no record, or one
that does not answer, yields a fact with that status — the rules turn it into
``manual``, never ``reject``.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from engine.errors import SourceUnavailable
from engine.sources import Source, SourceRecord
from rules import Fact, RuleSet

FORM = "form"
_LOOKUPS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="facts")
Evaluate = Callable[[str, Mapping[str, Any]], Any]


def deferred_sources(ruleset: RuleSet, sources: Mapping[str, Source]) -> list[str]:
    """The sources this rule set reads that only a worker may call."""
    names = {spec.source for spec in ruleset.facts.values()}
    return sorted(name for name in names if name in sources and sources[name].deferred)


def gather_facts(ruleset: RuleSet, data: Mapping[str, Any], sources: Mapping[str, Source],
                 evaluate: Evaluate) -> dict[str, Fact]:
    """Read every declared fact; one lookup per (source, key) however many facts use it,
    and the lookups run at the same time (each source keeps its own timeout)."""
    records = _look_up(ruleset, data, sources)
    facts = {}
    for name, spec in ruleset.facts.items():
        if spec.source == FORM:
            facts[name] = _form_fact(name, spec, data, evaluate)
        else:
            facts[name] = _source_fact(name, spec, data, records[(spec.source, _key(spec, data))], evaluate)
    return facts


def _key(spec, data: Mapping[str, Any]) -> str:
    return str(data.get(spec.key, "")) if spec.key else ""


def _look_up(ruleset: RuleSet, data: Mapping[str, Any],
             sources: Mapping[str, Source]) -> dict[tuple[str, str], SourceRecord | SourceUnavailable]:
    wanted = {(spec.source, _key(spec, data)) for spec in ruleset.facts.values() if spec.source != FORM}
    pending = {pair: _LOOKUPS.submit(sources[pair[0]].lookup, pair[1]) for pair in wanted}
    records: dict[tuple[str, str], SourceRecord | SourceUnavailable] = {}
    for pair, future in pending.items():
        try:
            records[pair] = future.result()  # bounded: every source lookup has its own timeout
        except SourceUnavailable as exc:
            records[pair] = exc
    return records


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _form_fact(name: str, spec, data: Mapping[str, Any], evaluate: Evaluate) -> Fact:
    try:
        value = evaluate(spec.expr, data) if spec.expr else data.get(spec.field or name)
    except (ValueError, TypeError, KeyError) as exc:
        return Fact(name, None, FORM, _now(), status=f"invalid: {exc}")
    return Fact(name, value, FORM, _now())


def _source_fact(name: str, spec, data: Mapping[str, Any], record: SourceRecord | SourceUnavailable,
                 evaluate: Evaluate) -> Fact:
    if isinstance(record, SourceUnavailable):
        return Fact(name, None, spec.source, _now(), status="unavailable")
    read_at = record.read_at.isoformat()
    if record.data is None:
        return Fact(name, None, spec.source, read_at, status="no_record")
    try:
        value = evaluate(spec.expr, {**data, "record": record.data}) if spec.expr else record.data.get(spec.field or name)
    except (ValueError, TypeError, KeyError) as exc:  # a record without the expected field: cannot verify
        return Fact(name, None, spec.source, read_at, status=f"invalid: {exc}")
    return Fact(name, value, spec.source, read_at)
