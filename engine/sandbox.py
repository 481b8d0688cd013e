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

import ast
import builtins
import copy
import json
import operator
import re
import traceback
from collections.abc import Iterator, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache, wraps
from types import CodeType
from typing import Any, Callable, Iterable, Mapping, NamedTuple
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.calendar import default_calendar
from forms.identifiers import birth_date_from_id
from rules.dmn import match_expression

BEIJING = ZoneInfo("Asia/Shanghai")  # working days are mainland China's days

__all__ = [
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
    "BudgetExceeded",
    "SandboxEnvironment",
    "SandboxScriptEngine",
    "SandboxViolation",
    "ScriptProblem",
    "StepBudget",
    "add_days",
    "age_on",
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

MAX_SOURCE_CHARS = 10_000
MAX_RANGE = 10_000
MAX_SEQUENCE_LENGTH = 100_000
MAX_INT_BITS = 1_024
MAX_INT_DIGITS = MAX_INT_BITS * 3 // 10 + 1  # decimal digits of the largest integer
MAX_INT_TEXT = 2 * MAX_INT_DIGITS  # int('...') reads at most this many characters
MAX_CONSTANT_EXPONENT = 1_000
SCRIPT_FILENAME = "<sandbox>"

# The step budget of one run (one ``do_engine_steps``) or, outside a run, of one evaluation.
# A step is about one evaluated syntax node (see "Limits" above for what costs how much and
# for the measurements behind the number).
STEP_BUDGET = 1_000_000
# Scanning or copying this many characters of text costs one step (a memory copy is far
# cheaper per character than a Python operation is per node).
CHARACTERS_PER_STEP = 16

# Read-only methods and date fields; none of them reaches an object's class or globals.
# ``replace`` is here because shipped processes build numbers with today().replace('-', '').
SAFE_ATTRIBUTES = frozenset({
    "get", "keys", "values", "items", "lower", "upper", "strip", "startswith", "endswith",
    "replace", "year", "month", "day", "isoformat",
})

_ALLOWED_NODES = (
    # roots and statements
    ast.Expression, ast.Module, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.For,
    ast.Pass, ast.Break, ast.Continue, ast.Delete,
    # expressions
    ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Constant, ast.Name,
    ast.List, ast.Tuple, ast.Dict, ast.Subscript, ast.Slice, ast.ListComp, ast.DictComp,
    ast.GeneratorExp, ast.comprehension, ast.Call, ast.keyword, ast.Attribute,
    ast.JoinedStr, ast.FormattedValue,
    # contexts and operators (no shifts or bit operators: nobody needs them in a condition)
    ast.Load, ast.Store, ast.Del, ast.And, ast.Or, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv,
    ast.Mod, ast.Pow, ast.UAdd, ast.USub, ast.Not, ast.Eq, ast.NotEq, ast.Lt, ast.LtE,
    ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
)
_CONSTANT_TYPES = (str, int, float, bool, type(None))
_FORMAT_NUMBER = re.compile(r"\d{4,}")


class SandboxViolation(Exception):
    """Code that the sandbox refuses; ``str(e)`` is the reason, ``line`` where (if known)."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


class BudgetExceeded(SandboxViolation):
    """A run used more steps, or built a bigger value, than its budget allows.

    Raised out of the code that exceeded it and never caught inside the sandbox, so the
    engine can fail that one application (``isinstance(exc.__cause__, BudgetExceeded)``).
    """


@dataclass(frozen=True)
class ScriptProblem:
    """One refused piece of code in an upload, located for the analyst who must fix it."""

    file: str
    element_id: str
    reason: str


# --- the syntax-tree check -------------------------------------------------------------

def _violation(node: ast.AST, message: str, kind: type[SandboxViolation] = SandboxViolation) -> SandboxViolation:
    line = getattr(node, "lineno", None)
    return kind(f"line {line}: {message}" if line else message, line)


class _Checker(ast.NodeVisitor):
    """Walks every node; anything not explicitly allowed raises SandboxViolation."""

    def generic_visit(self, node: ast.AST) -> None:
        if not isinstance(node, _ALLOWED_NODES):
            raise _violation(node, f"{type(node).__name__} is not allowed")
        super().generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        _check_name(node, node.id)
        if not isinstance(node.ctx, ast.Load) and node.id in FUNCTION_NAMES:
            raise _violation(node, f"'{node.id}' is a sandbox function; choose another variable name")
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        """``del name`` and ``del data[key]`` only change task data, like an assignment."""
        for target in node.targets:
            if not isinstance(target, (ast.Name, ast.Subscript)):
                raise _violation(node, "only names and subscripts can be deleted")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr not in SAFE_ATTRIBUTES:
            raise _violation(node, f"attribute '.{node.attr}' is not allowed")
        if not isinstance(node.ctx, ast.Load):
            raise _violation(node, f"assigning to attribute '.{node.attr}' is not allowed")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id not in FUNCTION_NAMES:
            raise _violation(node, f"calling '{func.id}' is not allowed")
        if not isinstance(func, (ast.Name, ast.Attribute)):
            raise _violation(node, "only whitelisted functions and data methods can be called")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if not isinstance(node.value, _CONSTANT_TYPES):
            raise _violation(node, f"{type(node.value).__name__} literals are not allowed")
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Pow):
            _check_exponent(node)
        self.generic_visit(node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> None:
        if node.format_spec is not None:
            _check_format_spec(node.format_spec)
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        if node.is_async:
            raise _violation(node.target, "async comprehensions are not allowed")
        self.generic_visit(node)


def _check_name(node: ast.AST, name: str) -> None:
    if name.startswith("_"):
        raise _violation(node, f"names starting with '_' are not allowed ('{name}')")
    if name in _FORBIDDEN_NAMES:
        raise _violation(node, f"'{name}' is not allowed")


def _check_exponent(node: ast.BinOp) -> None:
    """Refuse what is visibly huge at deploy time; _guarded_pow catches the rest at run time."""
    right = node.right
    if isinstance(right, ast.BinOp) and isinstance(right.op, ast.Pow):
        raise _violation(node, "power towers (a ** b ** c) are not allowed")
    if isinstance(right, ast.Constant) and isinstance(right.value, (int, float)) \
            and abs(right.value) > MAX_CONSTANT_EXPONENT:
        raise _violation(node, f"exponents above {MAX_CONSTANT_EXPONENT} are not allowed")


def _check_format_spec(spec: ast.JoinedStr) -> None:
    """Only constant format specs with small widths: f'{x:>999999999}' would fill memory."""
    for part in spec.values:
        if not isinstance(part, ast.Constant):
            raise _violation(spec, "computed format specifications are not allowed")
        if _FORMAT_NUMBER.search(str(part.value)):
            raise _violation(spec, "format widths and precisions above 999 are not allowed")


# --- the step budget ---------------------------------------------------------------------

class StepBudget:
    """Steps left to one run; every evaluation inside the run draws on the same budget."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def charge(self, steps: int) -> None:
        self.used += steps
        if self.used > self.limit:
            raise BudgetExceeded(f"step budget of {self.limit} exceeded")


# A context variable, not a global: threads (and asyncio tasks) each see their own run.
_CURRENT_BUDGET: ContextVar[StepBudget | None] = ContextVar("sandbox_step_budget", default=None)


@contextmanager
def run_budget(steps: int = STEP_BUDGET) -> Iterator[StepBudget]:
    """One step budget shared by everything evaluated inside the ``with`` block.

    The engine enters it around one whole run (``do_engine_steps``), so a flow that loops
    through a cheap script ten thousand times is bounded in total, not only per script.
    Outside such a block each evaluation gets a fresh budget of :data:`STEP_BUDGET`.
    """
    budget = StepBudget(steps)
    token = _CURRENT_BUDGET.set(budget)
    try:
        yield budget
    finally:
        _CURRENT_BUDGET.reset(token)


def _current_budget() -> StepBudget:
    """The run's budget; a fresh one for code that somehow runs outside any evaluation."""
    return _CURRENT_BUDGET.get() or StepBudget(STEP_BUDGET)


def _within_budget(weight: int, run: Callable[[], Any]) -> Any:
    """Run one evaluation, charged its own size, on the current run's budget or a fresh one."""
    if _CURRENT_BUDGET.get() is None:
        with run_budget():
            return _within_budget(weight, run)
    _current_budget().charge(weight)
    return run()


def _counted(iterable: Iterable[Any], weight: int) -> Iterator[Any]:
    """Every loop and comprehension iterates through this: each item costs ``weight`` steps."""
    budget = _current_budget()
    for item in iterable:
        budget.charge(weight)
        yield item


def _size_in_steps(value: Any) -> int:
    """What scanning or copying a value costs: one step per item, or per CHARACTERS_PER_STEP."""
    if isinstance(value, str):
        return len(value) // CHARACTERS_PER_STEP
    if isinstance(value, (list, tuple, dict)):
        return len(value)
    return 0


def _operand(value: Any) -> Any:
    """A comparison or slice operand: ``x in big``, ``a == b`` and ``big[:]`` walk it in C."""
    _current_budget().charge(_size_in_steps(value))
    return value


def _weight(*nodes: ast.AST) -> int:
    """Syntax nodes (expressions and statements) under ``nodes``: the steps one pass costs."""
    return sum(isinstance(n, (ast.expr, ast.stmt)) for node in nodes for n in ast.walk(node))


# --- the size budget ---------------------------------------------------------------------

_SEQUENCES = (str, list, tuple)


def _check_size(size: int, value: Any = "") -> None:
    """Refuse a value of ``size`` characters (text) or items (lists) before it is built."""
    if size > MAX_SEQUENCE_LENGTH:
        unit = "characters" if isinstance(value, str) else "items"
        raise BudgetExceeded(f"value of {size} {unit} exceeds the size budget of {MAX_SEQUENCE_LENGTH}")


def _check_int(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise BudgetExceeded(f"integer of {value.bit_length()} bits exceeds the size budget of {MAX_INT_BITS} bits")
    return value


def _check_length(value: Any) -> Any:
    if isinstance(value, _SEQUENCES):
        _check_size(len(value), value)
    return value


def _text_size(value: Any) -> tuple[int, int]:
    """A lower bound of ``len(str(value))`` and the steps writing it costs, counted only
    until the size passes the budget.

    Lists may hold one list many times over (``[row] * 1000``), so their text can be far
    longer than their length; this walks items without building any text.
    """
    size, steps, pending = 0, 0, [value]
    while pending and size <= MAX_SEQUENCE_LENGTH:
        item = pending.pop()
        steps += 3  # measured: writing a small item's text costs about three steps' time
        if isinstance(item, str):
            size += len(item)
            steps += len(item) // CHARACTERS_PER_STEP
        elif isinstance(item, int):
            digits = 1 + item.bit_length() * 3 // 10
            size += digits
            steps += digits // 5  # measured: 309 digits take about 60 steps' time
        elif isinstance(item, (list, tuple)):
            size += 2 + len(item)
            pending.extend(item)
        elif isinstance(item, dict):
            size += 2 + 2 * len(item)
            pending.extend(item.keys())
            pending.extend(item.values())
        else:
            size += 1
    return size, steps


def _as_text(value: Any) -> Any:
    """Refuse (before formatting) a value whose text would break the size budget."""
    size, steps = _text_size(value)
    _check_size(size, "")
    _current_budget().charge(steps)
    return value


def _guarded_str(*args: Any, **kwargs: Any) -> str:
    if args:
        _as_text(args[0])
    return _check_length(str(*args, **kwargs))


def _guarded_pow(base: Any, exponent: Any) -> Any:
    """Refused unbuilt when the result has surely too many bits; built and checked otherwise
    (then it has at most twice the budget's bits)."""
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        if (abs(base).bit_length() - 1) * exponent > MAX_INT_BITS:
            raise BudgetExceeded(f"power larger than the size budget of {MAX_INT_BITS} bits")
    return _check_int(base ** exponent)


def _guarded_mul(left: Any, right: Any) -> Any:
    """Checked before multiplying: 'x' * 10**12 must not be allocated first."""
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, _SEQUENCES) and isinstance(times, int):
            _check_size(len(sequence) * times, sequence)
            _current_budget().charge(_size_in_steps(sequence) * max(times, 0))
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise BudgetExceeded(f"product larger than the size budget of {MAX_INT_BITS} bits")
    return left * right


def _guarded_add(left: Any, right: Any) -> Any:
    if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        _check_size(len(left) + len(right), left)
        _current_budget().charge(_size_in_steps(left) + _size_in_steps(right))
    return _check_int(left + right)


# %-fields: optional (key), flags, width, .precision, length modifier, conversion.
_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?(.?)", re.S)


def _guarded_mod(left: Any, right: Any) -> Any:
    """``text % values`` sized before formatting: '%999999999s' % 'a' asks for a gigabyte."""
    if not isinstance(left, str):
        return left % right
    values = right if isinstance(right, tuple) else (right,)
    size, steps = _text_size(right)
    size += len(left) + _field_widths(left, values)
    _check_size(size, left)
    _current_budget().charge(steps + size // CHARACTERS_PER_STEP)
    return _check_length(left % right)


def _field_widths(template: str, values: tuple) -> int:
    """Widths and precisions of the %-fields in ``template``, ``*`` read from ``values``."""
    total, position = 0, 0
    for width, precision, conversion in _PERCENT_FIELD.findall(template):
        for number in (width, precision):
            if number == "*":
                star = values[position] if position < len(values) else 0
                total += abs(star) if isinstance(star, int) else 0
                position += 1
            elif number:
                total += int(number) if len(number) < 10 else 10 ** 10  # '9' * 5000 is big
        position += conversion != "%"
    return total


def _check_replace(text: str, old: Any, new: Any, count: Any = -1) -> int:
    """Size ``text.replace(old, new, count)`` without building it; return the replacements."""
    if not (isinstance(old, str) and isinstance(new, str) and isinstance(count, int)):
        return 0  # str.replace raises the TypeError
    found = text.count(old)
    if count >= 0:
        found = min(found, count)
    _check_size(len(text) + found * (len(new) - len(old)), text)
    return found


def _call_method(value: Any, name: str, /, *args: Any, **kwargs: Any) -> Any:
    """Every call of a data method (``name`` is in SAFE_ATTRIBUTES, checked before running).

    Text methods scan the whole text, so they cost its length; ``replace`` can multiply
    it (``s.replace('a', s)``), so its result is sized before it is built, and each
    replacement costs a step (measured: about 60 ns each).
    """
    if isinstance(value, str):
        steps = 1 + _size_in_steps(value)
        if name == "replace" and 2 <= len(args) <= 3 and not kwargs:
            steps += _check_replace(value, *args)
        _current_budget().charge(steps)
    return getattr(value, name)(*args, **kwargs)


_GUARDS: dict[type, str] = {ast.Pow: "__sandbox_pow", ast.Mult: "__sandbox_mul", ast.Add: "__sandbox_add",
                            ast.Mod: "__sandbox_mod"}
_GUARD_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "__sandbox_pow": _guarded_pow, "__sandbox_mul": _guarded_mul, "__sandbox_add": _guarded_add,
    "__sandbox_mod": _guarded_mod, "__sandbox_counted": _counted, "__sandbox_operand": _operand,
    "__sandbox_method": _call_method, "__sandbox_text": _as_text, "__sandbox_sized": _check_length,
}


def _guard_call(name: str, args: list[ast.expr], where: ast.AST,
                keywords: list[ast.keyword] | None = None) -> ast.Call:
    call = ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=args, keywords=keywords or [])
    return ast.copy_location(call, where)


def _as_load(target: ast.expr) -> ast.expr:
    loaded = copy.deepcopy(target)
    loaded.ctx = ast.Load()
    return loaded


class _Guard(ast.NodeTransformer):
    """Rewrites what can cost time or memory into calls of the ``__sandbox_*`` guards.

    ``a ** b``, ``a * b``, ``a + b``, ``a % b`` (and ``a op= b``) are sized before they
    are built; every loop and comprehension iterates through ``__sandbox_counted``; data
    method calls, comparison and slice operands, and f-string values are charged by size.
    Runs after the check, so its ``__sandbox_*`` names are unreachable from user code.
    """

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        guard = _GUARDS.get(type(node.op))
        return node if guard is None else _guard_call(guard, [node.left, node.right], node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.stmt:
        self.generic_visit(node)
        guard = _GUARDS.get(type(node.op))
        if guard is None:
            return node
        value = _guard_call(guard, [_as_load(node.target), node.value], node)
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)

    def visit_For(self, node: ast.For) -> ast.stmt:
        weight = 1 + _weight(*node.body)
        self.generic_visit(node)
        node.iter = _guard_call("__sandbox_counted", [node.iter, ast.Constant(weight)], node.iter)
        return node

    def _count_comprehension(self, node: ast.ListComp | ast.DictComp | ast.GeneratorExp) -> ast.expr:
        weight = _weight(node)
        self.generic_visit(node)
        for generator in node.generators:
            generator.iter = _guard_call("__sandbox_counted", [generator.iter, ast.Constant(weight)],
                                         generator.iter)
        return node

    visit_ListComp = visit_DictComp = visit_GeneratorExp = _count_comprehension

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        if not isinstance(node.func, ast.Attribute):
            return node
        method = node.func
        return _guard_call("__sandbox_method", [method.value, ast.Constant(method.attr), *node.args],
                           node, node.keywords)

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self.generic_visit(node)
        if all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
            return node
        node.left = _guard_call("__sandbox_operand", [node.left], node.left)
        node.comparators = [_guard_call("__sandbox_operand", [c], c) for c in node.comparators]
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.slice, ast.Slice):
            node.value = _guard_call("__sandbox_operand", [node.value], node.value)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.expr:
        self.generic_visit(node)
        node.value = _guard_call("__sandbox_text", [node.value], node.value)
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.expr:
        self.generic_visit(node)
        return _guard_call("__sandbox_sized", [node], node)


# --- deploy-time sizing of constant expressions --------------------------------------------

_FOLDED_OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: _guarded_add, ast.Mult: _guarded_mul, ast.Pow: _guarded_pow, ast.Mod: _guarded_mod,
    ast.Sub: operator.sub, ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv,
}
_FOLDED_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_UNKNOWN = object()


def _check_constant_sizes(tree: ast.AST) -> None:
    """Refuse a constant expression whose value breaks the size budget ('a' * 10**10).

    Constants are folded with the same guards the run uses, so the huge value is refused
    before it is built; anything else a constant may do wrong (1 / 0) is left to the run.
    """
    with run_budget():
        _fold(tree)


def _fold(node: ast.AST) -> Any:
    """The value of a constant expression, or _UNKNOWN; each node is visited once."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple):
        items = [_fold(item) for item in node.elts]
        return _UNKNOWN if _UNKNOWN in items else tuple(items)
    if isinstance(node, ast.BinOp) and type(node.op) in _FOLDED_OPERATORS:
        left, right = _fold(node.left), _fold(node.right)
        return _apply(node, _FOLDED_OPERATORS[type(node.op)], left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _FOLDED_UNARY:
        return _apply(node, _FOLDED_UNARY[type(node.op)], _fold(node.operand))
    for child in ast.iter_child_nodes(node):
        _fold(child)
    return _UNKNOWN


def _apply(node: ast.AST, function: Callable[..., Any], *values: Any) -> Any:
    if any(value is _UNKNOWN for value in values):
        return _UNKNOWN
    try:
        return function(*values)
    except BudgetExceeded as exc:
        raise _violation(node, exc.reason, BudgetExceeded) from None
    except Exception:  # 1 / 0, 'a' + 1: the run will say so where it happens
        return _UNKNOWN


# --- compiling --------------------------------------------------------------------------

class _Program(NamedTuple):
    code: CodeType
    weight: int  # steps one evaluation costs before any loop runs


@lru_cache(maxsize=2048)
def _compile(source: str, mode: str) -> _Program:
    """Check, guard and compile once per (source, mode); refusals are not cached."""
    try:
        tree = ast.parse(source, filename=SCRIPT_FILENAME, mode=mode)
        _Checker().visit(tree)
        _check_constant_sizes(tree)
        weight = _weight(tree)
        guarded = ast.fix_missing_locations(_Guard().visit(tree))
        return _Program(compile(guarded, SCRIPT_FILENAME, mode), weight)
    except SyntaxError as exc:
        raise SandboxViolation(f"line {exc.lineno}: syntax error: {exc.msg}", exc.lineno) from exc
    except RecursionError as exc:
        raise SandboxViolation("code is nested too deeply") from exc


def _program(source: str, mode: str) -> _Program:
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    if not isinstance(source, str):
        raise SandboxViolation(f"code must be text, not {type(source).__name__}")
    if len(source) > MAX_SOURCE_CHARS:
        raise SandboxViolation(f"code longer than {MAX_SOURCE_CHARS} characters")
    return _compile(source, mode)


def check_script(source: str, mode: str = "eval") -> None:
    """Raise SandboxViolation unless ``source`` is inside the sandbox.

    ``mode`` is ``"eval"`` for an expression (conditions, parameters) or ``"exec"`` for
    a script task. A constant whose value would break the size budget is refused with
    BudgetExceeded. Results are cached per (source, mode).
    """
    _program(source, mode)


# --- the whitelisted functions ----------------------------------------------------------

def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _local(moment: datetime) -> datetime:
    """Aware times are converted to the server's time zone; naive ones are taken as local."""
    return moment.astimezone() if moment.tzinfo is not None else moment


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text).date()
    raise TypeError(f"expected a date or an ISO date string, got {type(value).__name__}")


def parse_date(value: Any) -> str:
    """Validate a date and return it as 'YYYY-MM-DD' (raises ValueError if it is not one)."""
    return _as_date(value).isoformat()


def add_days(value: Any, days: int) -> str:
    if not isinstance(days, int) or isinstance(days, bool):
        raise TypeError(f"add_days needs a whole number of days, got {days!r}")
    return (_as_date(value) + timedelta(days=days)).isoformat()


def days_between(start: Any, end: Any) -> int:
    """``end - start`` in days (negative if end is earlier)."""
    return (_as_date(end) - _as_date(start)).days


def age_on(birth_date: Any, on_date: Any) -> int:
    """Full years between the two dates, as a clerk counts a birthday."""
    birth, on = _as_date(birth_date), _as_date(on_date)
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def year_of(value: Any) -> int:
    return _as_date(value).year


def month_of(value: Any) -> int:
    return _as_date(value).month


def _capped_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise BudgetExceeded(f"range of {len(result)} items exceeds the size budget of {MAX_RANGE}")
    return result


def _charging(function: Callable[..., Any]) -> Callable[..., Any]:
    """A builtin that walks its arguments in C (sorted, max...): one step per item."""
    @wraps(function)
    def charged(*args: Any, **kwargs: Any) -> Any:
        _current_budget().charge(sum(len(value) for value in (*args, *kwargs.values())
                                     if isinstance(value, Sized)))
        return function(*args, **kwargs)
    return charged


def _counting(function: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """A lazy builtin (enumerate, zip): whoever consumes it pays one step per item."""
    @wraps(function)
    def counted(*args: Any, **kwargs: Any) -> Iterator[Any]:
        return _counted(function(*args, **kwargs), 3)  # measured: tuples cost more than ints
    return counted


def _guarded_int(*args: Any, **kwargs: Any) -> int:
    """int(); reading digits takes quadratic time, so long texts are refused unread."""
    if args and isinstance(args[0], str) and len(args[0]) > MAX_INT_TEXT:
        raise BudgetExceeded(f"text of {len(args[0])} characters exceeds the size budget "
                             f"of {MAX_INT_TEXT} for a number")
    return _check_int(int(*args, **kwargs))


def _guarded_round(number: Any, ndigits: Any = None) -> Any:
    """round(); round(1, -10**9) would compute 10**(10**9) first."""
    if isinstance(ndigits, int) and abs(ndigits) > MAX_INT_DIGITS:
        raise BudgetExceeded(f"rounding to {ndigits} digits exceeds the size budget of {MAX_INT_DIGITS}")
    return round(number, ndigits)


_charged_sum = _charging(sum)


def _guarded_sum(values: Iterable[Any], /, start: Any = 0) -> Any:
    """sum(); adding up lists goes through the size budget at every addition."""
    if not isinstance(start, (list, tuple)):
        return _check_int(_charged_sum(values, start))
    total = start
    for value in _counted(values, 1):
        total = _guarded_add(total, value)
    return total


_PURE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len, "min": _charging(min), "max": _charging(max), "abs": abs, "round": _guarded_round,
    "int": _guarded_int, "float": float, "str": _guarded_str, "bool": bool, "sum": _guarded_sum,
    "any": _charging(any), "all": _charging(all), "sorted": _charging(sorted),
    "list": _charging(list), "dict": _charging(dict), "range": _capped_range,
    "enumerate": _counting(enumerate), "zip": _counting(zip),
    "parse_date": parse_date, "add_days": add_days, "days_between": days_between,
    "age_on": age_on, "year_of": year_of, "month_of": month_of,
}
FUNCTION_NAMES = frozenset(_PURE_FUNCTIONS) | {"today", "now", "age_from_id", "working_days_later", "policy"}
_FORBIDDEN_NAMES = frozenset(dir(builtins)) - FUNCTION_NAMES


def sandbox_functions(clock: Callable[[], datetime] | None = None,
                      matter_policy: Mapping[str, Any] | None = None) -> dict[str, Callable[..., Any]]:
    """The whitelisted functions, with ``today``/``now``/``age_from_id`` reading ``clock``
    and ``policy(key, …)`` reading the policy of the version the application runs on
    (``policy('commitment', 'verify_within_working_days')``): a copy, so no script changes it.

    ``today()`` is the calendar date in the server's local time zone (run the server with
    TZ=Asia/Shanghai): an aware clock value is converted to local time, a naive one is
    taken as already local. ``now()`` is that local time as an ISO string with seconds.
    """
    read_clock = clock or _utc_now

    def today() -> str:
        return _local(read_clock()).date().isoformat()

    def now() -> str:
        return _local(read_clock()).isoformat(timespec="seconds")

    def age_from_id(id_number: str) -> int:
        return age_on(birth_date_from_id(id_number), today())

    def working_days_later(days: int) -> str:
        """09:00 Beijing time on the ``days``-th working day from today: the moment a BPMN
        timer waits for (告知承诺 verification N working days after approval).

        The calendar counts day by day (measured: about 1.2 µs a day, some twenty steps),
        so each day costs steps and at most MAX_RANGE days (about 40 years) are counted.
        """
        days = int(days)
        if days > MAX_RANGE:
            raise BudgetExceeded(f"{days} working days exceed the size budget of {MAX_RANGE}")
        _current_budget().charge(20 * max(days, 0))
        day = default_calendar().add_working_days(date.fromisoformat(today()), days)
        return datetime.combine(day, time(9), tzinfo=BEIJING).isoformat()

    def policy(*keys: str) -> Any:
        value: Any = matter_policy or {}
        for depth, key in enumerate(keys):
            if not isinstance(value, Mapping) or key not in value:
                raise LookupError(f"the matter's policy has no {'.'.join(map(str, keys[:depth + 1]))}")
            value = value[key]
        return copy.deepcopy(value)

    return {**_PURE_FUNCTIONS, "today": today, "now": now, "age_from_id": age_from_id,
            "working_days_later": working_days_later, "policy": policy}


# --- running ----------------------------------------------------------------------------

class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates only checked code, with no builtins beyond the whitelisted functions.

    SpiffWorkflow also calls ``script_engine.environment.evaluate`` directly (message
    correlations, ad-hoc subprocess conditions), so the check lives here, not in the engine.
    """

    def evaluate(self, expression: str, context: Mapping[str, Any], external_context: Mapping | None = None) -> Any:
        program = _program(expression, "eval")
        namespace = self._namespace(context, external_context)
        return _within_budget(program.weight, lambda: eval(program.code, namespace))

    def execute(self, script: str, context: dict, external_context: Mapping | None = None) -> bool:
        """Run a script; new and changed variables land in ``context`` (the task data),
        deleted ones (``del x``) leave it."""
        program = _program(script, "exec")
        namespace = self._namespace(context, external_context)
        _within_budget(program.weight, lambda: exec(program.code, namespace))
        for deleted in [key for key in context if key not in namespace]:
            del context[deleted]
        context.update(self._results(namespace, context, external_context or {}))
        return True

    def _namespace(self, context: Mapping[str, Any], external_context: Mapping | None) -> dict[str, Any]:
        # Functions come after the data so a data key can never replace one; builtins last.
        return {**(external_context or {}), **context, **self.globals, **_GUARD_FUNCTIONS,
                "__builtins__": {}}

    def _results(self, namespace: dict, context: Mapping, external_context: Mapping) -> dict[str, Any]:
        """Variables to keep: not functions, not builtins, not data objects passed in."""
        hidden = set(self.globals) | set(_GUARD_FUNCTIONS) | {"__builtins__"}
        return {
            key: value for key, value in namespace.items()
            if key not in hidden and not callable(value)
            and not (key in external_context and key not in context)
        }


def evaluate_expression(expression: str, data: Mapping[str, Any],
                        clock: Callable[[], datetime] | None = None) -> Any:
    """Evaluate a sandboxed expression over plain data, outside any workflow (rule-set facts).

    Errors from the expression (KeyError, ValueError...) and SandboxViolation propagate as is.
    """
    return SandboxEnvironment(sandbox_functions(clock)).evaluate(expression, data)


def _error_line_number(err: BaseException) -> int:
    if isinstance(err, SandboxViolation) and err.line:
        return err.line
    if isinstance(err, SyntaxError):
        return err.lineno or 0
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == SCRIPT_FILENAME]
    if not frames:
        return 0
    return frames[-1].lineno or 0


class SandboxScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script engine, restricted to the sandbox, with services and a clock.

    ``services(operation_name, params, task_data)`` answers service tasks; ``clock`` feeds
    ``today()``/``now()``/``age_from_id()`` so tests and replays can pin the date.
    """

    def __init__(self, services: Callable[[str, dict, dict], Any] | None = None,
                 clock: Callable[[], datetime] | None = None, policy: Mapping[str, Any] | None = None) -> None:
        super().__init__(environment=SandboxEnvironment(sandbox_functions(clock, policy)))
        self.services = services

    def evaluate(self, task, expression: str, external_context: Mapping | None = None) -> Any:
        """As the base class, but the cause is chained and named in the message."""
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as exc:
            exc.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as exc:
            message = f"Error evaluating expression '{expression}': {type(exc).__name__}: {exc}"
            raise WorkflowTaskException(message, task=task, exception=exc) from exc

    def call_service(self, task, operation_name: str, operation_params: dict) -> str:
        """Call ``services`` with the evaluated parameter values; return the result as JSON.

        An exception with ``defer = True`` (work handed to a worker) propagates unchanged
        so the caller can tell it from a failure.
        """
        if self.services is None:
            raise WorkflowTaskException(
                f"service operation {operation_name!r} called but this script engine has no services",
                task=task)
        params = {name: param["value"] for name, param in operation_params.items()}
        try:
            return json.dumps(self.services(operation_name, params, task.data))
        except SpiffWorkflowException:
            raise
        except Exception as exc:
            if getattr(exc, "defer", False) is True:
                raise
            message = f"service operation {operation_name!r} failed: {type(exc).__name__}: {exc}"
            raise WorkflowTaskException(message, task=task, exception=exc) from exc

    def create_task_exec_exception(self, task, script: str, err: Exception) -> Exception:
        """As the base class, but safe for non-text exception args (KeyError(0)) and chained."""
        if isinstance(err, SpiffWorkflowException):
            return super().create_task_exec_exception(task, script, err)
        line_number, error_line = self.get_error_line_number_and_content(script, err)
        detail = f"{type(err).__name__}: {err}"
        wrapped = WorkflowTaskException(detail, task=task, exception=err,
                                        line_number=line_number, error_line=error_line)
        wrapped.__cause__ = err
        return wrapped

    def get_error_line_number_and_content(self, script: str, err: Exception) -> tuple[int, str]:
        line_number = _error_line_number(err)
        lines = script.splitlines()
        return line_number, lines[line_number - 1] if 0 < line_number <= len(lines) else ""


# --- deploy-time check of parsed specs --------------------------------------------------



def check_specs(specs: Iterable[Any], filename: str) -> list[ScriptProblem]:
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
                problems.append(ScriptProblem(filename, element_id, f"{where}: {exc.reason}"))
    return problems


def check_policy_reads(specs: Iterable[Any], filename: str, policy: Mapping[str, Any]) -> list[ScriptProblem]:
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
                    problems.append(ScriptProblem(filename, element_id, reason))
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

