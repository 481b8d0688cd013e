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
    (bounded by the data it iterates), ``pass``, ``break`` and ``continue``.
    Calls only of the functions in :data:`FUNCTION_NAMES` and of the data methods in
    :data:`SAFE_ATTRIBUTES`, which are also the only attributes that may be read.

What is refused
    Everything else: imports, ``lambda``, ``def``/``class``, ``while``, ``with``, ``try``,
    ``raise``, ``del``, ``global``, ``:=``, ``*``-unpacking, ``yield``/``await``, any name or
    attribute starting with ``_``, and any Python builtin not in the whitelist (``eval``,
    ``open``, ``getattr``, ``type``...), whether called or merely named.

Limits
    Source at most :data:`MAX_SOURCE_CHARS` characters; ``range`` at most
    :data:`MAX_RANGE` items; ``**``, ``*`` and ``+`` refuse results beyond
    :data:`MAX_INT_BITS` bits or :data:`MAX_SEQUENCE_LENGTH` items (``10**10**10`` and
    ``2 ** 5000`` are refused at check time); f-string widths at most 3 digits.
    These stop accidental and obvious blow-ups. They are not a resource quota
    (``%``-format widths, ``str.replace`` and nested loops can still use much memory or
    time), so workers must run with a memory/CPU limit and a timeout.

Dates travel in task data as ISO strings (``'YYYY-MM-DD'``), which are JSON-serializable;
the date helpers accept ISO strings or ``date`` objects and return ISO strings or ints.
"""
from __future__ import annotations

import ast
import builtins
import copy
import json
import re
import traceback
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from types import CodeType
from typing import Any, Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.calendar import default_calendar
from forms.identifiers import birth_date_from_id

BEIJING = ZoneInfo("Asia/Shanghai")  # working days are mainland China's days

__all__ = [
    "FUNCTION_NAMES",
    "MAX_INT_BITS",
    "MAX_RANGE",
    "MAX_SEQUENCE_LENGTH",
    "MAX_SOURCE_CHARS",
    "SAFE_ATTRIBUTES",
    "SandboxEnvironment",
    "SandboxScriptEngine",
    "SandboxViolation",
    "ScriptProblem",
    "add_days",
    "age_on",
    "check_script",
    "check_specs",
    "days_between",
    "evaluate_expression",
    "month_of",
    "parse_date",
    "sandbox_functions",
    "year_of",
]

MAX_SOURCE_CHARS = 10_000
MAX_RANGE = 10_000
MAX_SEQUENCE_LENGTH = 100_000
MAX_INT_BITS = 10_000
MAX_CONSTANT_EXPONENT = 1_000
SCRIPT_FILENAME = "<sandbox>"

# Read-only methods and date fields; none of them reaches an object's class or globals.
# ``replace`` is here because shipped processes build numbers with today().replace('-', '').
SAFE_ATTRIBUTES = frozenset({
    "get", "keys", "values", "items", "lower", "upper", "strip", "startswith", "endswith",
    "replace", "year", "month", "day",
})

_ALLOWED_NODES = (
    # roots and statements
    ast.Expression, ast.Module, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.For,
    ast.Pass, ast.Break, ast.Continue,
    # expressions
    ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Constant, ast.Name,
    ast.List, ast.Tuple, ast.Dict, ast.Subscript, ast.Slice, ast.ListComp, ast.DictComp,
    ast.GeneratorExp, ast.comprehension, ast.Call, ast.keyword, ast.Attribute,
    ast.JoinedStr, ast.FormattedValue,
    # contexts and operators (no shifts or bit operators: nobody needs them in a condition)
    ast.Load, ast.Store, ast.And, ast.Or, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv,
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


@dataclass(frozen=True)
class ScriptProblem:
    """One refused piece of code in an upload, located for the analyst who must fix it."""

    file: str
    element_id: str
    reason: str


# --- the syntax-tree check -------------------------------------------------------------

def _violation(node: ast.AST, message: str) -> SandboxViolation:
    line = getattr(node, "lineno", None)
    return SandboxViolation(f"line {line}: {message}" if line else message, line)


class _Checker(ast.NodeVisitor):
    """Walks every node; anything not explicitly allowed raises SandboxViolation."""

    def generic_visit(self, node: ast.AST) -> None:
        if not isinstance(node, _ALLOWED_NODES):
            raise _violation(node, f"{type(node).__name__} is not allowed")
        super().generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        _check_name(node, node.id)
        if isinstance(node.ctx, ast.Store) and node.id in FUNCTION_NAMES:
            raise _violation(node, f"'{node.id}' is a sandbox function; choose another variable name")
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


# --- run-time guards for what a static check cannot bound ------------------------------

def _check_int(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise SandboxViolation(f"integer larger than {MAX_INT_BITS} bits")
    return value


def _check_length(value: Any) -> Any:
    if isinstance(value, (str, list, tuple)) and len(value) > MAX_SEQUENCE_LENGTH:
        raise SandboxViolation(f"text or list longer than {MAX_SEQUENCE_LENGTH} items")
    return value


def _guarded_pow(base: Any, exponent: Any) -> Any:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        if max(abs(base).bit_length(), 1) * exponent > MAX_INT_BITS:
            raise SandboxViolation(f"power result larger than {MAX_INT_BITS} bits")
    return base ** exponent


def _guarded_mul(left: Any, right: Any) -> Any:
    """Checked before multiplying: 'x' * 10**12 must not be allocated first."""
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, (str, list, tuple)) and isinstance(times, int) \
                and len(sequence) * times > MAX_SEQUENCE_LENGTH:
            raise SandboxViolation(f"text or list longer than {MAX_SEQUENCE_LENGTH} items")
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise SandboxViolation(f"product larger than {MAX_INT_BITS} bits")
    return left * right


def _guarded_add(left: Any, right: Any) -> Any:
    return _check_int(_check_length(left + right))


_GUARDS: dict[type, str] = {ast.Pow: "__sandbox_pow", ast.Mult: "__sandbox_mul", ast.Add: "__sandbox_add"}
_GUARD_FUNCTIONS: dict[str, Callable[[Any, Any], Any]] = {
    "__sandbox_pow": _guarded_pow, "__sandbox_mul": _guarded_mul, "__sandbox_add": _guarded_add,
}


def _guard_call(name: str, left: ast.expr, right: ast.expr, where: ast.AST) -> ast.Call:
    call = ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=[left, right], keywords=[])
    return ast.copy_location(call, where)


def _as_load(target: ast.expr) -> ast.expr:
    loaded = copy.deepcopy(target)
    loaded.ctx = ast.Load()
    return loaded


class _Guard(ast.NodeTransformer):
    """Rewrites ``a ** b``, ``a * b``, ``a + b`` (and ``a op= b``) into guarded calls.

    Runs after the check, so its ``__sandbox_*`` names are unreachable from user code.
    """

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        guard = _GUARDS.get(type(node.op))
        return node if guard is None else _guard_call(guard, node.left, node.right, node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.stmt:
        self.generic_visit(node)
        guard = _GUARDS.get(type(node.op))
        if guard is None:
            return node
        value = _guard_call(guard, _as_load(node.target), node.value, node)
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)


# --- compiling --------------------------------------------------------------------------

@lru_cache(maxsize=2048)
def _compile(source: str, mode: str) -> CodeType:
    """Check, guard and compile once per (source, mode); refusals are not cached."""
    try:
        tree = ast.parse(source, filename=SCRIPT_FILENAME, mode=mode)
        _Checker().visit(tree)
        guarded = ast.fix_missing_locations(_Guard().visit(tree))
        return compile(guarded, SCRIPT_FILENAME, mode)
    except SyntaxError as exc:
        raise SandboxViolation(f"line {exc.lineno}: syntax error: {exc.msg}", exc.lineno) from exc
    except RecursionError as exc:
        raise SandboxViolation("code is nested too deeply") from exc


def _code(source: str, mode: str) -> CodeType:
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
    a script task. Results are cached per (source, mode).
    """
    _code(source, mode)


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
        raise SandboxViolation(f"range longer than {MAX_RANGE} items")
    return result


_PURE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len, "min": min, "max": max, "abs": abs, "round": round, "int": int, "float": float,
    "str": str, "bool": bool, "sum": sum, "any": any, "all": all, "sorted": sorted, "list": list,
    "dict": dict, "range": _capped_range, "enumerate": enumerate, "zip": zip,
    "parse_date": parse_date, "add_days": add_days, "days_between": days_between,
    "age_on": age_on, "year_of": year_of, "month_of": month_of,
}
FUNCTION_NAMES = frozenset(_PURE_FUNCTIONS) | {"today", "now", "age_from_id", "working_days_later"}
_FORBIDDEN_NAMES = frozenset(dir(builtins)) - FUNCTION_NAMES


def sandbox_functions(clock: Callable[[], datetime] | None = None) -> dict[str, Callable[..., Any]]:
    """The whitelisted functions, with ``today``/``now``/``age_from_id`` reading ``clock``.

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
        timer waits for (告知承诺 verification N working days after approval)."""
        day = default_calendar().add_working_days(date.fromisoformat(today()), int(days))
        return datetime.combine(day, time(9), tzinfo=BEIJING).isoformat()

    return {**_PURE_FUNCTIONS, "today": today, "now": now, "age_from_id": age_from_id,
            "working_days_later": working_days_later}


# --- running ----------------------------------------------------------------------------

class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates only checked code, with no builtins beyond the whitelisted functions.

    SpiffWorkflow also calls ``script_engine.environment.evaluate`` directly (message
    correlations, ad-hoc subprocess conditions), so the check lives here, not in the engine.
    """

    def evaluate(self, expression: str, context: Mapping[str, Any], external_context: Mapping | None = None) -> Any:
        return eval(_code(expression, "eval"), self._namespace(context, external_context))

    def execute(self, script: str, context: dict, external_context: Mapping | None = None) -> bool:
        """Run a script; new and changed variables land in ``context`` (the task data)."""
        namespace = self._namespace(context, external_context)
        exec(_code(script, "exec"), namespace)
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
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(environment=SandboxEnvironment(sandbox_functions(clock)))
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

_DMN_PLACEHOLDER = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")  # as DMNEngine


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
                    yield where, _dmn_match_expression(entry.input.expression or "", lhs)
        for entry in rule.outputEntries:
            if entry.text:
                yield where, entry.text


def _dmn_match_expression(input_expression: str, match: str) -> str:
    """The expression DMNEngine will evaluate for one input entry, built the same way."""
    match = _DMN_PLACEHOLDER.sub("dmninputexpr", match)
    if "dmninputexpr" in match:
        return match
    try:
        ast.parse(match, mode="eval")
    except SyntaxError:
        return input_expression + match
    return f"({input_expression}) == ({match})"
