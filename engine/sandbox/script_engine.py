"""Running: SpiffWorkflow's script engine and environment, restricted to the sandbox."""
from __future__ import annotations

import json
import traceback
from datetime import datetime
from typing import Any, Callable, Mapping

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import (
    BasePythonScriptEngineEnvironment,
)
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.sandbox.budget import _GUARD_FUNCTIONS, _within_budget
from engine.sandbox.check import _program
from engine.sandbox.functions import sandbox_functions
from engine.sandbox.limits import SCRIPT_FILENAME, SandboxViolation

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
