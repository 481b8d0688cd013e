"""The sandbox's step and size budgets: nested loops and value bombs stop, legit code runs.

Run as a module (``python -m tests.unit.test_sandbox_budgets``) to print how much CPU each
bomb takes before the budget stops it: the numbers in engine/sandbox.py's docstring.
"""
from __future__ import annotations

import threading
import time

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException

from engine.sandbox import (
    MAX_SEQUENCE_LENGTH,
    STEP_BUDGET,
    BudgetExceeded,
    SandboxScriptEngine,
    SandboxViolation,
    check_script,
    check_specs,
    evaluate_expression,
    run_budget,
)
from tests.unit.test_sandbox import NS, _parse

NESTED_LOOPS = "for i in range(10000):\n    for j in range(10000):\n        x = 1"


def _execute(script: str, data: dict | None = None) -> dict:
    data = dict(data or {})
    SandboxScriptEngine().environment.execute(script, data)
    return data


# --- the step budget ---------------------------------------------------------------------

def test_nested_loops_stop_with_budget_exceeded_quickly():
    started = time.process_time()
    with pytest.raises(BudgetExceeded, match=f"step budget of {STEP_BUDGET} exceeded"):
        _execute(NESTED_LOOPS)
    assert time.process_time() - started < 5  # generous: the measured figure is ~0.06 s


@pytest.mark.parametrize("script", [
    "x = [x for x in range(10000) for y in range(10000)]",
    "x = sum(1 for x in range(10000) for y in range(10000))",
    "x = {i: [j for j in range(10000)] for i in range(10000)}",
    "big = list(range(10000)) * 10\nfor i in range(10000):\n    for j in range(10000):\n        y = -1 in big",
    "big = list(range(10000)) * 10\nfor i in range(10000):\n    y = sorted(big)",
    "big = list(range(10000)) * 10\nfor i in range(10000):\n    y = big[:]",
    "s = 'ab' * 50000\nfor i in range(10000):\n    for j in range(10000):\n        y = s.upper()",
    "big = list(range(10000))\nfor i in range(10000):\n    y = str(big)",
    "big = list(range(10000))\nfor i in range(10000):\n    y = list(enumerate(big))",
    "for i in range(10000):\n    for j in range(10000):\n        y = working_days_later(100)",
])
def test_loops_over_expensive_work_stop_at_the_step_budget(script):
    with pytest.raises(BudgetExceeded, match="step budget"):
        _execute(script)


def test_a_legit_script_with_loops_still_runs():
    data = _execute(
        "total = 0\n"
        "names = []\n"
        "for item in items:\n"
        "    if item['amount'] > 0:\n"
        "        total += item['amount']\n"
        "        names = names + [item['name'].upper()]\n"
        "pairs = {k: v for k, v in zip(names, range(len(names)))}\n"
        "label = '%s items' % len(names)\n"
        "stamp = today().replace('-', '')\n",
        {"items": [{"name": f"n{i}", "amount": i % 3} for i in range(1000)]})
    assert data["total"] == 999 and len(data["names"]) == 666 and data["label"] == "666 items"
    assert len(data["stamp"]) == 8


SMALL_LOOP = "for i in range(30):\n    x = i"


def _cost(script: str) -> int:
    with run_budget() as budget:
        _execute(script)
    return budget.used


def test_an_evaluation_costs_its_nodes_and_each_iteration_its_body():
    assert _cost("x = 1") == 3  # Assign, Name, Constant
    assert _cost(SMALL_LOOP) == 8 + 30 * 4  # the code, then 1 + Assign, Name, Name per turn


def test_the_run_budget_spans_several_evaluations():
    cost = _cost(SMALL_LOOP)
    with run_budget(steps=5 * cost + cost // 2) as budget:
        for _ in range(5):
            _execute(SMALL_LOOP)
        assert budget.used == 5 * cost
        with pytest.raises(BudgetExceeded, match=f"step budget of {5 * cost + cost // 2} exceeded"):
            _execute(SMALL_LOOP)
        with pytest.raises(BudgetExceeded):  # once spent, everything else in the run fails too
            evaluate_expression("1", {})


def test_each_run_and_each_evaluation_outside_a_run_starts_fresh():
    cost = _cost(SMALL_LOOP)
    for _ in range(3):
        with run_budget(steps=cost) as budget:
            _execute(SMALL_LOOP)
        assert budget.used == cost
    script = "for i in range(9000):\n    x = i"
    for _ in range(2 * STEP_BUDGET // (9000 * 4)):  # outside a run: a fresh default budget each time
        _execute(script)


def test_budgets_are_per_thread():
    errors: list[BaseException] = []
    used: list[int] = []
    both_inside = threading.Barrier(2)

    cost = _cost(SMALL_LOOP)

    def run() -> None:
        try:
            with run_budget(steps=15 * cost) as budget:  # fits one thread's work, not both
                both_inside.wait(timeout=10)
                for _ in range(10):
                    _execute(SMALL_LOOP)
                used.append(budget.used)
        except BaseException as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and used == [10 * cost, 10 * cost]


def test_a_thread_without_a_run_does_not_draw_on_another_threads_run():
    with run_budget(steps=100) as budget:
        worker = threading.Thread(target=_execute, args=("for i in range(1000):\n    x = i",))
        worker.start()
        worker.join()
        assert budget.used == 0


# --- the size budget ---------------------------------------------------------------------

@pytest.mark.parametrize("script, data", [
    ("x = fmt % 'a'", {"fmt": "%999999999s"}),
    ("x = fmt % 1.0", {"fmt": "%.999999999f"}),
    ("x = '%*s' % (width, 'a')", {"width": 999_999_999}),
    ("x = '%s' % (rows,)", {"rows": [["a" * 1000] * 100] * 100}),
    ("x = s.replace('a', s)", {"s": "a" * 100_000}),
    ("x = s.replace('', 'bb')", {"s": "a" * 50_000}),
    ("x = str(rows)", {"rows": [["a" * 1000] * 100] * 100}),
    ("x = f'{rows}'", {"rows": [["a" * 1000] * 100] * 100}),
    ("x = 'a'\nfor i in range(100):\n    x = x + x", {}),
    ("x = [0]\nfor i in range(100):\n    x += x", {}),
    ("x = sum([row] * 1000, [])", {"row": list(range(1000))}),
    ("x = 'a' * n", {"n": 10 ** 10}),
    ("x = int(digits)", {"digits": "9" * 5000}),
    ("x = round(1, -10 ** 9)", {}),
    ("x = n ** n", {"n": 10 ** 6}),
    ("x = working_days_later(10 ** 9)", {}),
])
def test_value_bombs_are_refused_before_they_are_built(script, data):
    started = time.process_time()
    with pytest.raises(BudgetExceeded, match="budget"):
        _execute(script, data)
    assert time.process_time() - started < 5


def test_the_size_message_names_the_size_and_the_budget():
    with pytest.raises(BudgetExceeded) as caught:
        _execute("x = s.replace('a', s)", {"s": "a" * 1000})
    assert str(caught.value) == f"value of 1000000 characters exceeds the size budget of {MAX_SEQUENCE_LENGTH}"


@pytest.mark.parametrize("source", [
    "'a' * 10**10",
    "'%999999999s' % 'a'",
    "'%.999999999f' % 1.0",
    "'x' * 200000",
    "('ab' * 40000) + ('ab' * 40000)",
    "-(2 ** 1000 * 2 ** 1000)",
    "f'{1}' + 'x' * (10 ** 6)",
])
def test_constant_bombs_are_refused_at_check_time(source):
    started = time.process_time()
    with pytest.raises(BudgetExceeded, match="line 1: .*budget"):
        check_script(source, "eval")
    with pytest.raises(BudgetExceeded):
        check_script(f"a = 1\nb = {source}", "exec")
    assert time.process_time() - started < 1


@pytest.mark.parametrize("source", ["'-' * 20", "'%5s|%-3d' % ('a', 1)", "1 / 0", "'a' + 1", "2 ** 1000"])
def test_small_or_merely_wrong_constants_pass_the_check(source):
    check_script(source, "eval")


# --- through SpiffWorkflow -------------------------------------------------------------------

# Begin -> Join -> Step (script) -> More: back to Join while CONDITION holds, else Finish.
LOOP = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="Defs" targetNamespace="http://example.org/onewindow">
  <bpmn:process id="Loop" isExecutable="true">
    <bpmn:startEvent id="Begin"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Begin" targetRef="Join"/>
    <bpmn:exclusiveGateway id="Join">
      <bpmn:incoming>F1</bpmn:incoming><bpmn:incoming>Again</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="F2" sourceRef="Join" targetRef="Step"/>
    <bpmn:scriptTask id="Step">
      <bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing>
      <bpmn:script>SCRIPT</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="F3" sourceRef="Step" targetRef="More"/>
    <bpmn:exclusiveGateway id="More" default="Done">
      <bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>Again</bpmn:outgoing><bpmn:outgoing>Done</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="Again" sourceRef="More" targetRef="Join">
      <bpmn:conditionExpression>CONDITION</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Done" sourceRef="More" targetRef="Finish"/>
    <bpmn:endEvent id="Finish"><bpmn:incoming>Done</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def _specs(script: str, condition: str):
    bpmn = LOOP.replace("SCRIPT", script).replace("CONDITION", condition.replace("<", "&lt;"))
    return _parse(bpmn, "Loop", "loop.bpmn")


def _workflow(script: str, condition: str = "count < 3") -> BpmnWorkflow:
    spec, subprocess_specs = _specs(script, condition)
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=SandboxScriptEngine())
    workflow.get_tasks()[0].data["count"] = 0
    return workflow


def test_a_script_task_over_budget_fails_the_run_with_budget_exceeded_as_cause():
    workflow = _workflow(NESTED_LOOPS.replace("\n", "&#10;"))
    with run_budget(), pytest.raises(WorkflowException) as caught:
        workflow.do_engine_steps()
    assert isinstance(caught.value.__cause__, BudgetExceeded)
    assert caught.value.error_type == "BudgetExceeded" and caught.value.line_number == 2  # the inner for
    assert caught.value.task_spec.bpmn_id == "Step"


def test_a_gateway_condition_over_budget_fails_the_run_with_budget_exceeded_as_cause():
    workflow = _workflow("count = count + 1", "sum(1 for i in range(10000) for j in range(10000)) > 0")
    with run_budget(), pytest.raises(WorkflowException) as caught:
        workflow.do_engine_steps()
    assert isinstance(caught.value.__cause__, BudgetExceeded)
    assert caught.value.task_spec.bpmn_id == "More"


def test_a_flow_loop_is_bounded_by_the_run_budget_not_per_script():
    workflow = _workflow("count = count + 1", "count < 300")
    with run_budget() as budget:
        workflow.do_engine_steps()
    assert workflow.is_completed() and budget.used == 300 * 8  # 5 for the script, 3 for the condition
    workflow = _workflow("count = count + 1", "count < 300")
    with run_budget(steps=1000), pytest.raises(WorkflowException) as caught:
        workflow.do_engine_steps()
    assert isinstance(caught.value.__cause__, BudgetExceeded)


def test_a_constant_bomb_in_a_process_is_named_at_deploy_time():
    spec, subprocess_specs = _specs("a = 1&#10;b = 'a' * 10**10", "count < 3")
    problems = check_specs([spec, *subprocess_specs.values()], "loop.bpmn")
    assert [(p.file, p.element) for p in problems] == [("loop.bpmn", "Step")]
    assert problems[0].reason.startswith("script: line 2: value of 10000000000 characters exceeds")


def test_a_fact_expression_over_budget_raises_budget_exceeded():
    with pytest.raises(BudgetExceeded):
        evaluate_expression("len([x for x in range(10000) for y in range(10000)])", {})
    with pytest.raises(BudgetExceeded):
        evaluate_expression("name.replace('a', name)", {"name": "a" * 10_000})
    assert issubclass(BudgetExceeded, SandboxViolation)


# --- measuring (not a test) ---------------------------------------------------------------

MEASURED = {
    "nested loops (x = 1)": NESTED_LOOPS,
    "nested comprehension": "x = [x for x in range(10000) for y in range(10000)]",
    "2,400-statement loop body": "b = 1\n" + NESTED_LOOPS.replace("x = 1", "a=b;" * 2400),
    "in over 100,000 items": "big = list(range(10000)) * 10\n" + NESTED_LOOPS.replace("x = 1", "y = -1 in big"),
    "sorted 100,000 items": "big = list(range(10000)) * 10\nfor i in range(10000):\n    y = sorted(big)",
    "str(list) in a loop": "big = list(range(10000))\nfor i in range(10000):\n    y = str(big)",
    "'%s' % (list,) in a loop": "big = list(range(10000))\nfor i in range(10000):\n    y = '%s' % (big,)",
    "round(1, -300) in a loop": NESTED_LOOPS.replace("x = 1", "y = round(1, -300)"),
    "500-bit products in a loop": "a = 7 ** 180\n" + NESTED_LOOPS.replace("x = 1", "y = a * a"),
    "list(enumerate(list)) in a loop": "big = list(range(10000)) * 10\nfor i in range(10000):\n    y = list(enumerate(big))",
    "replace in a loop": "s = 'ab' * 1000\n" + NESTED_LOOPS.replace("x = 1", "y = s.replace('a', 'cc')"),
}


def measure() -> None:
    """Print the CPU time each bomb takes until the default budget stops it."""
    for name, script in MEASURED.items():
        started = time.process_time()
        with run_budget() as budget:
            try:
                _execute(script)
                outcome = "finished"
            except BudgetExceeded as exc:
                outcome = str(exc)
        print(f"{name:34s} {time.process_time() - started:6.3f} s CPU  {budget.used:>9,} steps  {outcome}")


if __name__ == "__main__":
    measure()
