"""Loops and timer cycles on SpiffWorkflow with the engine's tree pruning (engine/definitions/bpmn.py).

A flow loop of N passes (script ``i = i + 1`` → exclusive gateway → back, out at ``i >= N``)
runs in one ``run_engine_steps`` call; a timer is fired K times as the worker does it
(load the stored state, ``refresh_timers``, run, dump) on a fake clock, for a
non-interrupting boundary cycle timer (``R/P1D``) on a waiting user task and for a loop
through a one-day duration timer. For each: total time, time per pass (or tick) over the
first and the last tenth (flat means the two agree), the final stored state
(``len(dump_state)``), the largest stored state on the way (timers), the task count and
the depth of the tree. ``--unpruned`` runs SpiffWorkflow's own ``do_engine_steps`` for
comparison (it stops at depth 1000: compare ``end`` and the counters).

    .venv/bin/python -m bench.loops                # N = 100, 1000, 10000; K = 10, 100, 1000
    .venv/bin/python -m bench.loops --passes 600 --ticks 300 --unpruned
"""
from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta, timezone

from engine.definitions.bpmn import parse_process
from engine.running.workflow import dump_state, load_state, new_workflow, reached_end, run_engine_steps, spec_to_json, workflow_clock
from engine.sandbox import SandboxScriptEngine

NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _doc(body: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="{NS}" id="d" targetNamespace="t">'
            f'<bpmn:process id="p" isExecutable="true">{body}</bpmn:process></bpmn:definitions>')


def _flow(flow_id: str, source: str, target: str, condition: str = "") -> str:
    test = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition else ""
    return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">{test}</bpmn:sequenceFlow>'


def _script(task_id: str, text: str) -> str:
    return f'<bpmn:scriptTask id="{task_id}"><bpmn:script>{text}</bpmn:script></bpmn:scriptTask>'


def _timer(kind: str, value: str) -> str:
    return f'<bpmn:timerEventDefinition><bpmn:{kind}>"{value}"</bpmn:{kind}></bpmn:timerEventDefinition>'


def flow_loop(n: int) -> str:
    return _doc('<bpmn:startEvent id="start"/>' + _script("init", "i = 0") + _script("step", "i = i + 1")
                + '<bpmn:exclusiveGateway id="more" default="back"/><bpmn:endEvent id="end"/>'
                + _flow("f1", "start", "init") + _flow("f2", "init", "step") + _flow("f3", "step", "more")
                + _flow("out", "more", "end", f"i &gt;= {n}") + _flow("back", "more", "step"))


BOUNDARY_CYCLE = _doc(
    '<bpmn:startEvent id="start"/>' + _script("init", "reminders = 0") + '<bpmn:userTask id="review"/>'
    '<bpmn:boundaryEvent id="remind" attachedToRef="review" cancelActivity="false">' + _timer("timeCycle", "R/P1D")
    + '</bpmn:boundaryEvent>' + _script("note", "reminders = reminders + 1") + '<bpmn:endEvent id="reminded"/>'
    '<bpmn:endEvent id="end"/>' + _flow("f1", "start", "init") + _flow("f2", "init", "review")
    + _flow("f3", "review", "end") + _flow("f4", "remind", "note") + _flow("f5", "note", "reminded"))

TIMER_LOOP = _doc(
    '<bpmn:startEvent id="start"/>' + _script("init", "ticks = 0")
    + '<bpmn:intermediateCatchEvent id="tick">' + _timer("timeDuration", "P1D") + '</bpmn:intermediateCatchEvent>'
    + _script("count", "ticks = ticks + 1") + '<bpmn:exclusiveGateway id="more" default="back"/>'
    '<bpmn:endEvent id="end"/>' + _flow("f1", "start", "init") + _flow("f2", "init", "tick")
    + _flow("f3", "tick", "count") + _flow("f4", "count", "more") + _flow("out", "more", "end", "ticks &gt;= 1000000")
    + _flow("back", "more", "tick"))


def _run(workflow, unpruned: bool, did=None) -> None:
    if unpruned:
        workflow.do_engine_steps(did_complete_task=did)
    else:
        run_engine_steps(workflow, did_complete_task=did)


def _depth(workflow) -> int:
    return max(t.depth for t in workflow.tasks.values())


def _ends(times: list[float]) -> tuple[float, float]:
    """Mean seconds per item over the first and the last tenth of ``times`` (stamps)."""
    steps = [b - a for a, b in zip(times, times[1:])]
    tenth = max(1, len(steps) // 10)
    return sum(steps[:tenth]) / tenth, sum(steps[-tenth:]) / tenth


def bench_flow_loop(n: int, unpruned: bool) -> dict:
    spec = spec_to_json(parse_process(flow_loop(n), "loop.bpmn"))
    workflow = new_workflow(spec, SandboxScriptEngine())
    stamps: list[float] = []

    def did(task) -> None:
        if task.task_spec.name == "step":
            stamps.append(time.perf_counter())

    began = time.perf_counter()
    _run(workflow, unpruned, did)
    total = time.perf_counter() - began
    first, last = _ends(stamps)
    state = dump_state(workflow)
    return {"shape": "flow loop", "n": n, "done": len(stamps), "total_s": total, "first_ms": first * 1e3,
            "last_ms": last * 1e3, "state_kb": len(state) / 1e3, "max_state_kb": len(state) / 1e3,
            "tasks": len(workflow.tasks), "depth": _depth(workflow), "end": reached_end(workflow)}


def bench_timer(name: str, text: str, counter: str, k: int, unpruned: bool) -> dict:
    spec = spec_to_json(parse_process(text, f"{name}.bpmn"))
    now = [datetime(2026, 1, 5, 9, tzinfo=timezone.utc)]
    stamps, largest = [], 0
    with workflow_clock(lambda: now[0]):
        workflow = new_workflow(spec, SandboxScriptEngine())
        _run(workflow, unpruned)
        state = dump_state(workflow)
        began = time.perf_counter()
        stamps.append(began)
        for _ in range(k):  # one timer job: load, refresh, run, save
            now[0] += timedelta(days=1, seconds=1)
            workflow = load_state(state, spec, SandboxScriptEngine())
            workflow.refresh_timers()
            _run(workflow, unpruned)
            state = dump_state(workflow)
            largest = max(largest, len(state))
            stamps.append(time.perf_counter())
    first, last = _ends(stamps)
    return {"shape": name, "n": k, "done": workflow.last_task.data.get(counter), "total_s": stamps[-1] - began,
            "first_ms": first * 1e3, "last_ms": last * 1e3, "state_kb": len(state) / 1e3,
            "max_state_kb": largest / 1e3, "tasks": len(workflow.tasks), "depth": _depth(workflow),
            "end": reached_end(workflow)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, nargs="*", default=[100, 1_000, 10_000], help="flow loop sizes")
    parser.add_argument("--ticks", type=int, nargs="*", default=[10, 100, 1_000], help="timer firings")
    parser.add_argument("--unpruned", action="store_true", help="SpiffWorkflow's own do_engine_steps")
    args = parser.parse_args(argv)
    rows = [bench_flow_loop(n, args.unpruned) for n in args.passes]
    for k in args.ticks:
        rows.append(bench_timer("boundary cycle", BOUNDARY_CYCLE, "reminders", k, args.unpruned))
        rows.append(bench_timer("timer loop", TIMER_LOOP, "ticks", k, args.unpruned))
    print("| shape | N/K | counter | end event | total s | ms/step first 10% | ms/step last 10% "
          "| state KB | max state KB | tasks | depth |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['shape']} | {r['n']:,} | {r['done']} | {'yes' if r['end'] else 'no'} | {r['total_s']:.2f} "
              f"| {r['first_ms']:.2f} | {r['last_ms']:.2f} | {r['state_kb']:.1f} | {r['max_state_kb']:.1f} "
              f"| {r['tasks']} | {r['depth']} |")


if __name__ == "__main__":
    main()
