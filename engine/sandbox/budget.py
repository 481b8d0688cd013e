"""The step and size budgets, and the guards the compiled code calls for operations whose
cost grows with their operands (``**``, ``*``, ``+``, ``%``, method calls)."""
from __future__ import annotations

import ast
import copy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterable

from engine.sandbox.limits import (
    CHARACTERS_PER_STEP,
    MAX_INT_BITS,
    MAX_SEQUENCE_LENGTH,
    STEP_BUDGET,
    BudgetExceeded,
)

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
