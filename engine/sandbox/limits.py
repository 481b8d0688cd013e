"""The sandbox's limits and the exceptions that refuse code (see the package's docstring
for what each limit costs and why)."""
from __future__ import annotations

import ast
import re
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")  # working days are mainland China's days


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
