"""The syntax-tree check of every piece of code, the deploy-time sizing of constants, and
compiling (once per source and mode; refusals are never cached)."""
from __future__ import annotations

import ast
import operator
from functools import lru_cache
from types import CodeType
from typing import Any, Callable, NamedTuple

from engine.sandbox.budget import (
    _Guard,
    _guarded_add,
    _guarded_mod,
    _guarded_mul,
    _guarded_pow,
    _weight,
    run_budget,
)
from engine.sandbox.functions import _FORBIDDEN_NAMES, FUNCTION_NAMES
from engine.sandbox.limits import (
    _ALLOWED_NODES,
    _CONSTANT_TYPES,
    _FORMAT_NUMBER,
    MAX_CONSTANT_EXPONENT,
    MAX_SOURCE_CHARS,
    SAFE_ATTRIBUTES,
    SCRIPT_FILENAME,
    BudgetExceeded,
    SandboxViolation,
)

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
def compiled_program(source: str, mode: str) -> _Program:
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
    return compiled_program(source, mode)


def check_script(source: str, mode: str = "eval") -> None:
    """Raise SandboxViolation unless ``source`` is inside the sandbox.

    ``mode`` is ``"eval"`` for an expression (conditions, parameters) or ``"exec"`` for
    a script task. A constant whose value would break the size budget is refused with
    BudgetExceeded. Results are cached per (source, mode).
    """
    _program(source, mode)
