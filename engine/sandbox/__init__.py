"""The only Python that uploaded BPMN may run: a whitelisted subset, checked as a syntax tree.

SpiffWorkflow evaluates conditions and runs scripts with ``eval``/``exec``. Analysts upload
BPMN, so an upload must never run arbitrary code on the server. Blacklists and "restricted"
globals are not a sandbox (``().__class__.__base__.__subclasses__()`` reaches every class
in the process), so every piece of code is parsed and each node of its syntax tree must be
on a whitelist before it is compiled. The same check runs at deploy time
(:func:`check_specs`, naming file, element and reason) and again at run time
(:class:`SandboxScriptEngine`), so a definition stored before a rule was tightened cannot
slip through.

What is allowed
    Expressions over task data: literals (no sets, they break the serializer), arithmetic,
    comparisons (``in``, ``is None``...), ``and``/``or``/``not``, ``x if c else y``,
    subscripts and slices, list/dict comprehensions and generator expressions, f-strings.
    Scripts may also assign to names and subscripts, use ``+=`` etc., ``if``, ``for``
    (bounded by the step budget), ``pass``, ``break``, ``continue`` and ``del`` of a name
    or subscript (the key leaves the task data).
    Calls only of the functions in :data:`FUNCTION_NAMES` and of the data methods in
    :data:`SAFE_ATTRIBUTES`, which are also the only attributes that may be read.

What is refused
    Everything else: imports, ``lambda``, ``def``/``class``, ``while``, ``with``, ``try``,
    ``raise``, ``del`` of an attribute, ``global``, ``:=``, ``*``-unpacking, ``yield``/``await``, any name or
    attribute starting with ``_``, and any Python builtin not in the whitelist (``eval``,
    ``open``, ``getattr``, ``type``...), whether called or merely named.

Limits (budgets)
    Source at most :data:`MAX_SOURCE_CHARS` characters. Two budgets bound what code does
    at run time; exceeding either raises :class:`BudgetExceeded` out of the code, never
    caught inside the sandbox (SpiffWorkflow wraps it in a ``WorkflowTaskException``
    whose ``__cause__`` it is).

    *Size budget*: every value code builds is sized before it is built: text and lists
    at most :data:`MAX_SEQUENCE_LENGTH` characters or items (``*``, ``+``, ``%``-
    formatting with its widths and precisions, ``str.replace`` from ``count(old)``,
    ``str()`` and f-string values measured through nested lists, ``sum`` of lists),
    integers at most :data:`MAX_INT_BITS` bits (``int('...')`` reads at most
    :data:`MAX_INT_TEXT` characters, ``round`` at most :data:`MAX_INT_DIGITS` digits),
    ``range`` at most :data:`MAX_RANGE` items, f-string widths at most 3 digits. A
    constant expression that breaks it (``'a' * 10**10``, ``'%999999999s' % 'a'``) is
    refused at deploy time, folded with the same guards so nothing huge is built.

    *Step budget*: :data:`STEP_BUDGET` steps per run (the engine enters
    :func:`run_budget` around one ``do_engine_steps``; outside it, per evaluation). A
    step is about one evaluated syntax node: an evaluation costs its code's node count,
    each loop or comprehension iteration the node count of its body, and C-level work
    over data costs its size (one step per item for ``sorted``/``max``/``list``/``in``/
    ``==``/slices, per :data:`CHARACTERS_PER_STEP` characters of text, per replacement,
    per working day counted). It is counted by rewriting the syntax tree (loops iterate
    through a counting iterator), not by tracing; that adds ~0.15 µs per iteration.

    Measured (2-core AMD EPYC, Python 3.11, CPU time; reproduce with
    ``python -m tests.unit.test_sandbox_budgets``): exceeding 1,000,000 steps took
    0.06 s for ``for i in range(10000): for j in range(10000): x = 1`` (6.5 s of CPU
    to the end before budgets), 0.02 s for the nested comprehension, 0.17-0.20 s for a
    2,400-statement loop body, 0.15 s for ``str(list)`` and ``'%s' % (list,)`` in a loop,
    0.16-0.23 s for ``round(1, -300)`` in a loop, 0.23-0.26 s for 500-bit products in a
    loop, at most 0.03 s for ``in``/``==``/slices/``sorted`` over 100,000-item lists;
    the worst seen was 0.26 s. A whole run of any shipped
    process uses a few hundred steps (all the code in the largest, publication_retail_
    check.bpmn, weighs 174); a flow loop through ``count = count + 1`` and the condition
    ``count < n`` costs 8 steps per turn, so 10,000 turns use 8% of the budget.
    Still outside the budgets: memory held by many references to one value
    (``[text] * 1000`` is 1,000 items, not 1,000 texts) until it is turned into text,
    and anything SpiffWorkflow or the engine does with task data afterwards
    (serialising it), so workers keep a memory limit and a timeout as the last line.

Dates travel in task data as ISO strings (``'YYYY-MM-DD'``), which are JSON-serializable;
the date helpers accept ISO strings or ``date`` objects and return ISO strings or ints.
"""
from __future__ import annotations

from engine.sandbox.budget import StepBudget, run_budget
from engine.sandbox.check import check_script
from engine.sandbox.functions import (
    FUNCTION_NAMES,
    add_days,
    age_on,
    days_between,
    month_of,
    parse_date,
    sandbox_functions,
    year_of,
)
from engine.sandbox.limits import (
    CHARACTERS_PER_STEP,
    MAX_INT_BITS,
    MAX_INT_DIGITS,
    MAX_INT_TEXT,
    MAX_RANGE,
    MAX_SEQUENCE_LENGTH,
    MAX_SOURCE_CHARS,
    SAFE_ATTRIBUTES,
    STEP_BUDGET,
    BudgetExceeded,
    SandboxViolation,
)
from engine.sandbox.script_engine import (
    SandboxEnvironment,
    SandboxScriptEngine,
    evaluate_expression,
)
from engine.sandbox.specs import check_policy_reads, check_specs

__all__ = [
    "BudgetExceeded",
    "CHARACTERS_PER_STEP",
    "FUNCTION_NAMES",
    "MAX_INT_BITS",
    "MAX_INT_DIGITS",
    "MAX_INT_TEXT",
    "MAX_RANGE",
    "MAX_SEQUENCE_LENGTH",
    "MAX_SOURCE_CHARS",
    "SAFE_ATTRIBUTES",
    "STEP_BUDGET",
    "SandboxEnvironment",
    "SandboxScriptEngine",
    "SandboxViolation",
    "StepBudget",
    "add_days",
    "age_on",
    "check_policy_reads",
    "check_script",
    "check_specs",
    "days_between",
    "evaluate_expression",
    "month_of",
    "parse_date",
    "run_budget",
    "sandbox_functions",
    "year_of",
]
