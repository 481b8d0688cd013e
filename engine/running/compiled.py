"""Definitions compiled once per process: the rule set, the form and the serialized specs
of a deployed version, by checksum (a deployed version never changes).

durable-rules refuses to register a ruleset twice, and building marshmallow schemas is not
free, so ``compiled`` keeps what it built for the life of the process. ``forget`` empties
what may be rebuilt (tests use it to run code paths as a fresh process would); it is one
of the caches ``engine.caches.reset`` empties.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from engine.store.models import ServiceDefinition
from engine.sandbox import FUNCTION_NAMES
from forms import Form, load_form
from rules import RuleSet, load_ruleset
from rules.dmn import TableRules, load_table


@dataclass(frozen=True)
class Compiled:
    ruleset: RuleSet | None  # None for a bundle: its members' rule sets decide
    form: Form


@lru_cache(maxsize=512)  # never emptied: durable-rules refuses to register a ruleset twice
def _compile(checksum: str, matter_code: str, ruleset_text: str, form_text: str) -> Compiled:
    return Compiled(load_ruleset(ruleset_text, f"{matter_code}.yaml") if ruleset_text.strip() else None,
                    load_form(form_text, f"{matter_code}.form.json"))


_COMPILED: dict[str, Compiled] = {}  # by checksum
_SPECS: dict[str, str] = {}


def compiled(definition: ServiceDefinition) -> Compiled:
    """The definition's rule set and form, compiled; its texts are read from the database
    only the first time this process meets the version."""
    found = _COMPILED.get(definition.checksum)
    if found is None:
        found = _COMPILED[definition.checksum] = _compile(definition.checksum, definition.matter_code,
                                                          definition.ruleset, definition.form)
    return found


def spec_of(definition: ServiceDefinition) -> str:
    """The definition's serialized specs, read from the database once per process."""
    found = _SPECS.get(definition.checksum)
    if found is None:
        found = _SPECS[definition.checksum] = definition.spec
    return found


def forget() -> None:
    _COMPILED.clear()
    _SPECS.clear()


def decision_table(table, ruleset: RuleSet) -> TableRules:
    """A business-rule task's DMN table, linted against the facts the rule set declares."""
    return load_table(table, ruleset, FUNCTION_NAMES, f"{ruleset.matter} DMN")
