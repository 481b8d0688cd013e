"""Loops and timer cycles on SpiffWorkflow (engine/running/workflow.py): the task tree stays bounded
(``run_engine_steps`` / ``prune_completed``), completion means an end event ran
(``reached_end``), and loops SpiffWorkflow cannot run are refused at deploy."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from SpiffWorkflow.util.task import TaskState

from engine.running import workflow as workflow_module
from engine.running.workflow import PRUNE_AT, PRUNE_STEP
from engine.definitions.bpmn import ProcessProblem, parse_process
from engine.running.workflow import dump_state, load_state, new_workflow, reached_end, run_engine_steps, spec_to_json, workflow_clock
from engine.sandbox import SandboxScriptEngine

MAX_STATE = 50_000
NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def doc(body: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="{NS}" id="d" targetNamespace="t">'
            f'<bpmn:process id="p" isExecutable="true">{body}</bpmn:process></bpmn:definitions>')


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    test = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition else ""
    return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">{test}</bpmn:sequenceFlow>'


def script(task_id: str, text: str) -> str:
    return f'<bpmn:scriptTask id="{task_id}"><bpmn:script>{text}</bpmn:script></bpmn:scriptTask>'


def counting_loop(n: int, body: str = "") -> str:
    """start → i = 0 → [step: i = i + 1 → body?] → gateway: i >= n ? end : back to step."""
    last = "step"
    extra = ""
    if body:
        extra, last = body + flow("f_body", "step", "body"), "body"
    return doc('<bpmn:startEvent id="start"/>' + script("init", "i = 0") + script("step", "i = i + 1") + extra
               + '<bpmn:exclusiveGateway id="more" default="f_back"/><bpmn:endEvent id="end"/>'
               + flow("f1", "start", "init") + flow("f2", "init", "step") + flow("f3", last, "more")
               + flow("f_out", "more", "end", f"i &gt;= {n}") + flow("f_back", "more", "step"))


def timer(kind: str, value: str) -> str:
    return f'<bpmn:timerEventDefinition><bpmn:{kind}>"{value}"</bpmn:{kind}></bpmn:timerEventDefinition>'


REMINDER_BOUNDARY = doc(  # a daily reminder while a clerk's task waits: non-interrupting cycle
    '<bpmn:startEvent id="start"/>' + script("init", "reminders = 0") + '<bpmn:userTask id="review"/>'
    '<bpmn:boundaryEvent id="remind" attachedToRef="review" cancelActivity="false">' + timer("timeCycle", "R/P1D")
    + '</bpmn:boundaryEvent>' + script("note", "reminders = reminders + 1") + '<bpmn:endEvent id="reminded"/>'
    '<bpmn:endEvent id="end"/>' + flow("f1", "start", "init") + flow("f2", "init", "review")
    + flow("f3", "review", "end") + flow("f4", "remind", "note") + flow("f5", "note", "reminded"))

TIMER_LOOP = doc(  # wait a day, count, go round again: the cycle drawn as a loop
    '<bpmn:startEvent id="start"/>' + script("init", "ticks = 0")
    + '<bpmn:intermediateCatchEvent id="tick">' + timer("timeDuration", "P1D") + '</bpmn:intermediateCatchEvent>'
    + script("count", "ticks = ticks + 1") + '<bpmn:exclusiveGateway id="more" default="f_back"/>'
    '<bpmn:endEvent id="end"/>' + flow("f1", "start", "init") + flow("f2", "init", "tick") + flow("f3", "tick", "count")
    + flow("f4", "count", "more") + flow("f_out", "more", "end", "ticks &gt;= 5000") + flow("f_back", "more", "tick"))


def started(bpmn_text: str):
    spec = spec_to_json(parse_process(bpmn_text, "loop.bpmn"))
    return spec, new_workflow(spec, SandboxScriptEngine())


def reload(workflow, spec: str):
    return load_state(dump_state(workflow), spec, SandboxScriptEngine())


@pytest.fixture
def no_pruning(monkeypatch):
    """What SpiffWorkflow does on its own (to show each test can fail)."""
    monkeypatch.setattr(workflow_module, "prune_completed", lambda workflow, keep=0: 0)


# --- flow loops ----------------------------------------------------------------------------

def test_a_ten_thousand_pass_loop_reaches_its_end_with_the_right_count_and_small_state():
    _, workflow = started(counting_loop(10_000))
    run_engine_steps(workflow)
    assert reached_end(workflow)
    assert workflow.data["i"] == 10_000
    assert len(dump_state(workflow)) <= MAX_STATE


def test_without_pruning_the_depth_limit_stops_a_loop_silently_and_reached_end_says_so(no_pruning):
    _, workflow = started(counting_loop(600))
    run_engine_steps(workflow)
    assert workflow.is_completed()  # SpiffWorkflow's word: its iterator gave up at depth 1000
    assert not reached_end(workflow)
    stuck = [t for t in workflow.tasks.values() if t.state == TaskState.READY]
    assert stuck and stuck[0].data["i"] < 600


def test_reached_end_on_an_ordinary_process_only_once_the_end_event_ran():
    spec, workflow = started(doc('<bpmn:startEvent id="start"/><bpmn:userTask id="review"/><bpmn:endEvent id="end"/>'
                                 + flow("f1", "start", "review") + flow("f2", "review", "end")))
    run_engine_steps(workflow)
    assert not reached_end(workflow) and not workflow.is_completed()
    workflow = reload(workflow, spec)
    workflow.get_tasks(state=TaskState.READY, manual=True)[0].run()
    run_engine_steps(workflow)
    assert workflow.is_completed() and reached_end(workflow)


def test_a_loop_waiting_for_a_person_each_pass_survives_save_and_load_every_time():
    spec, workflow = started(counting_loop(150, '<bpmn:userTask id="body"/>'))
    run_engine_steps(workflow)
    sizes = []
    for expected in range(1, 151):
        workflow = reload(workflow, spec)
        waiting = workflow.get_tasks(state=TaskState.READY, manual=True)
        assert [t.task_spec.bpmn_id for t in waiting] == ["body"]
        assert waiting[0].data["i"] == expected
        waiting[0].run()
        run_engine_steps(workflow)
        sizes.append(len(dump_state(workflow)))
    assert reached_end(workflow) and workflow.data["i"] == 150
    assert max(sizes) <= MAX_STATE and len(workflow.tasks) <= PRUNE_AT + PRUNE_STEP


def parallel_loop(n: int) -> str:
    return doc('<bpmn:startEvent id="start"/>' + script("init", "i = 0") + script("step", "i = i + 1")
               + '<bpmn:parallelGateway id="fork"/>' + script("left", "a = i") + script("right", "b = i * 2")
               + '<bpmn:parallelGateway id="join"/><bpmn:exclusiveGateway id="more" default="f_back"/>'
               '<bpmn:endEvent id="end"/>' + flow("f1", "start", "init") + flow("f2", "init", "step")
               + flow("f3", "step", "fork") + flow("p1", "fork", "left") + flow("p2", "fork", "right")
               + flow("p3", "left", "join") + flow("p4", "right", "join") + flow("f4", "join", "more")
               + flow("f_out", "more", "end", f"i &gt;= {n}") + flow("f_back", "more", "step"))


def test_a_loop_with_a_parallel_split_and_join_inside_ends_with_the_data_spiffworkflow_gives(monkeypatch):
    _, pruned = started(parallel_loop(40))
    run_engine_steps(pruned)
    _, whole = started(parallel_loop(40))
    whole.do_engine_steps()  # unpruned, each join walks every earlier pass: cubic (50 passes 5 s, 150 passes 170 s)
    assert reached_end(pruned) and reached_end(whole) and pruned.data == whole.data
    assert len(pruned.tasks) < len(whole.tasks) / 3
    _, long = started(parallel_loop(600))
    run_engine_steps(long)
    assert reached_end(long) and (long.data["i"], long.data["b"]) == (600, 1_200)
    assert len(dump_state(long)) <= MAX_STATE


def test_a_loop_in_one_parallel_branch_is_pruned_while_the_other_branch_waits_for_a_person():
    text = doc('<bpmn:startEvent id="start"/><bpmn:parallelGateway id="fork"/><bpmn:userTask id="review"/>'
               + script("init", "i = 0") + script("step", "i = i + 1")
               + '<bpmn:exclusiveGateway id="more" default="f_back"/><bpmn:parallelGateway id="join"/>'
               '<bpmn:endEvent id="end"/>' + flow("f0", "start", "fork") + flow("f1", "fork", "review")
               + flow("f2", "fork", "init") + flow("f3", "init", "step") + flow("f4", "step", "more")
               + flow("f_back", "more", "step") + flow("f_out", "more", "join", "i &gt;= 3000")
               + flow("f5", "review", "join") + flow("f6", "join", "end"))
    spec, workflow = started(text)
    run_engine_steps(workflow)
    assert len(dump_state(workflow)) <= MAX_STATE and not reached_end(workflow)
    workflow = reload(workflow, spec)
    workflow.get_tasks(state=TaskState.READY, manual=True)[0].run()
    run_engine_steps(workflow)
    assert reached_end(workflow) and workflow.data["i"] == 3000


def test_per_pass_time_stays_flat():
    import time

    def seconds(n: int) -> float:
        _, workflow = started(counting_loop(n))
        began = time.perf_counter()
        run_engine_steps(workflow)
        elapsed = time.perf_counter() - began
        assert reached_end(workflow) and workflow.data["i"] == n
        return elapsed

    seconds(50)
    short, long = seconds(300) / 300, seconds(3_000) / 3_000
    assert long < short * 2.5  # quadratic would be ~10x


# --- send-back (退回) -----------------------------------------------------------------------

def earlier_steps(task) -> list[str]:
    """As engine/applications.py _earlier_steps: completed human steps above, nearest first."""
    steps, seen, node = [], {task.task_spec.bpmn_id}, task.parent
    while node is not None:
        if node.task_spec.manual and node.state == TaskState.COMPLETED and node.task_spec.bpmn_id not in seen:
            seen.add(node.task_spec.bpmn_id)
            steps.append(node)
        node = node.parent
    return steps


def test_send_back_still_finds_earlier_steps_in_an_ordinary_process_and_across_a_long_loop():
    text = doc('<bpmn:startEvent id="start"/><bpmn:userTask id="intake"/>' + script("init", "i = 0")
               + script("step", "i = i + 1") + '<bpmn:exclusiveGateway id="more" default="f_back"/>'
               '<bpmn:userTask id="approve"/><bpmn:endEvent id="end"/>' + flow("f1", "start", "intake")
               + flow("f2", "intake", "init") + flow("f3", "init", "step") + flow("f4", "step", "more")
               + flow("f_back", "more", "step") + flow("f_out", "more", "approve", "i &gt;= 2000")
               + flow("f5", "approve", "end"))
    spec, workflow = started(text)
    run_engine_steps(workflow)
    intake = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
    intake.data["answer"] = "first"
    intake.run()
    run_engine_steps(workflow)
    workflow = reload(workflow, spec)
    approve = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
    assert len(dump_state(workflow)) <= MAX_STATE
    targets = earlier_steps(approve)
    assert [t.task_spec.bpmn_id for t in targets] == ["intake"]
    workflow.reset_from_task_id(targets[0].id)  # 退回 to intake: it waits again, with its data before
    run_engine_steps(workflow)
    again = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert [t.task_spec.bpmn_id for t in again] == ["intake"] and "answer" not in again[0].data


def test_an_ordinary_process_is_not_pruned_at_all():
    def finish(run):
        _, workflow = started(counting_loop(6, '<bpmn:userTask id="body"/>'))
        run(workflow)
        for _ in range(6):
            workflow.get_tasks(state=TaskState.READY, manual=True)[0].run()
            run(workflow)
        return workflow

    ours, spiffs = finish(run_engine_steps), finish(lambda w: w.do_engine_steps())
    assert reached_end(ours) and len(ours.tasks) == len(spiffs.tasks) > 20
    assert [t.task_spec.name for t in ours.get_tasks()] == [t.task_spec.name for t in spiffs.get_tasks()]


# --- timers --------------------------------------------------------------------------------

def fire(spec: str, text_workflow, ticks: int, every: timedelta, check=None) -> tuple:
    now = [datetime(2026, 1, 5, 9, tzinfo=timezone.utc)]
    workflow, largest = text_workflow, 0
    with workflow_clock(lambda: now[0]):
        run_engine_steps(workflow)
        for tick in range(ticks):
            now[0] += every
            workflow = reload(workflow, spec)  # as a timer job: load, refresh, run, save
            workflow.refresh_timers()
            run_engine_steps(workflow)
            largest = max(largest, len(dump_state(workflow)))
    return workflow, largest


def test_a_thousand_ticks_of_a_timer_loop_keep_state_small_and_keep_running():
    spec, workflow = started(TIMER_LOOP)
    workflow, largest = fire(spec, workflow, 1_000, timedelta(days=1, seconds=1))
    assert largest <= MAX_STATE
    assert not workflow.is_completed() and workflow.last_task.data["ticks"] == 1_000


def test_a_thousand_ticks_of_a_boundary_cycle_timer_keep_state_small_and_the_task_waiting():
    spec, workflow = started(REMINDER_BOUNDARY)
    workflow, largest = fire(spec, workflow, 1_000, timedelta(days=1, seconds=1))
    assert largest <= MAX_STATE
    assert [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True)] == ["review"]
    workflow.get_tasks(state=TaskState.READY, manual=True)[0].run()
    run_engine_steps(workflow)
    assert reached_end(workflow)


# --- deploy-time refusals ------------------------------------------------------------------

def test_a_cycle_with_no_gateway_and_no_wait_state_is_refused_naming_an_element():
    text = doc('<bpmn:startEvent id="start"/>' + script("a", "x = 1") + script("b", "x = 2")
               + flow("f1", "start", "a") + flow("f2", "a", "b") + flow("f3", "b", "a"))
    with pytest.raises(ProcessProblem) as refused:
        parse_process(text, "spin.bpmn")
    problem = refused.value.problems[0]
    assert problem.file == "spin.bpmn" and problem.element in ("a", "b")
    assert "run for ever" in problem.reason


def test_a_cycle_timer_on_an_intermediate_event_in_a_loop_is_refused():
    text = TIMER_LOOP.replace("timeDuration", "timeCycle").replace('"P1D"', '"R/P1D"')
    with pytest.raises(ProcessProblem) as refused:
        parse_process(text, "cycle.bpmn")
    assert refused.value.problems[0].element == "tick"


def test_loops_through_a_gateway_or_a_wait_state_deploy():
    parse_process(counting_loop(3), "ok.bpmn")
    parse_process(counting_loop(3, '<bpmn:userTask id="body"/>'), "ok.bpmn")
    parse_process(TIMER_LOOP, "ok.bpmn")
    parse_process(REMINDER_BOUNDARY, "ok.bpmn")


def test_multi_instance_and_standard_loop_activities_deploy():
    multi = doc('<bpmn:startEvent id="start"/><bpmn:userTask id="sign">'
                '<bpmn:multiInstanceLoopCharacteristics isSequential="false"><bpmn:loopCardinality>3'
                '</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>'
                '<bpmn:endEvent id="end"/>' + flow("f1", "start", "sign") + flow("f2", "sign", "end"))
    standard = doc('<bpmn:startEvent id="start"/><bpmn:scriptTask id="again">'
                   '<bpmn:standardLoopCharacteristics testBefore="false" loopMaximum="5"><bpmn:loopCondition>'
                   'n &gt;= 3</bpmn:loopCondition></bpmn:standardLoopCharacteristics>'
                   '<bpmn:script>n = 1</bpmn:script></bpmn:scriptTask>'
                   '<bpmn:endEvent id="end"/>' + flow("f1", "start", "again") + flow("f2", "again", "end"))
    parse_process(multi, "multi.bpmn")
    parse_process(standard, "standard.bpmn")
    spec, workflow = started(multi)
    run_engine_steps(workflow)
    assert len(workflow.get_tasks(state=TaskState.READY, manual=True)) == 3
