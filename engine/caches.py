"""Every process-level cache, and the one ``reset()`` that empties them (a new process starts
this way; tests use it to run code paths as a fresh process would).

Emptied by ``reset``:
- compiled rule sets, forms and serialized specs by definition checksum (engine/running/compiled.py)
- restored BPMN specs by their JSON (engine/running/workflow.py ``restored_specs``)
- compiled sandbox programs by (source, mode) (engine/sandbox/check.py ``compiled_program``)
- the shipped working-day calendars (engine/oversight/calendar.py ``default_calendar``)
- the matter search index (engine/search.py ``matter_search``)

Kept for the life of the process, on purpose: durable-rules refuses to register a ruleset
twice, so the durable-rules host's rulesets (rules/evaluate.py) and the compile behind
``compiled`` (its ``_compile``) are never emptied; they are keyed by checksum, so a kept
entry is never wrong. Constant tables (users' unknown-password hash, division codes) hold
no data that can change.
"""
from __future__ import annotations

from engine.oversight import calendar
from engine import search
from engine.running import compiled, workflow
from engine.sandbox import check


def reset() -> None:
    compiled.forget()
    workflow.restored_specs.cache_clear()
    check.compiled_program.cache_clear()
    calendar.default_calendar.cache_clear()
    search.forget()
