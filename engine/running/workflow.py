"""The workflow's life between requests: SpiffWorkflow's serializer for state and specs
(restored once per definition), the run's clock for timers, running the engine steps with
the task tree kept bounded, and whether an end event was reached."""
from __future__ import annotations

import json
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from functools import lru_cache
from typing import Callable, Iterator

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.control import EventSplit
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timers
from SpiffWorkflow.bpmn.specs.mixins import EndEventMixin
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.definitions.bpmn import (
    DecisionTableTask,
    ParsedProcess,
    _DecisionTableTaskConverter,
)

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(
    {**SPIFF_CONFIG, DecisionTableTask: _DecisionTableTaskConverter}))


_CLOCK: ContextVar[Callable[[], datetime] | None] = ContextVar("workflow_clock", default=None)


class _EngineClock(datetime):
    """SpiffWorkflow's timers ask ``datetime.now``; inside ``workflow_clock`` that is the
    engine's clock, so deadlines, BPMN timers and tests all read one clock."""

    @classmethod
    def now(cls, tz=None):
        clock = _CLOCK.get()
        if clock is None:
            return datetime.now(tz)
        return clock().astimezone(tz) if tz else clock()


spiff_timers.datetime = _EngineClock


@contextmanager
def workflow_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Run workflow steps with timers judged by ``clock`` (context-local: safe across threads)."""
    token = _CLOCK.set(clock)
    try:
        yield
    finally:
        _CLOCK.reset(token)


def spec_to_json(parsed: ParsedProcess) -> str:
    return json.dumps({
        "spec": SERIALIZER.to_dict(parsed.spec),
        "subprocess_specs": {name: SERIALIZER.to_dict(s) for name, s in parsed.subprocess_specs.items()},
    })


def _spec_parts(spec_json: str) -> dict:
    """A fresh copy each time: SpiffWorkflow's converters consume the dicts they read."""
    return json.loads(spec_json)


def new_workflow(spec_json: str, script_engine) -> BpmnWorkflow:
    spec, subprocess_specs = restored_specs(spec_json)
    return BpmnWorkflow(spec, dict(subprocess_specs), script_engine=script_engine)


@lru_cache(maxsize=128)
def restored_specs(spec_json: str) -> tuple[object, dict]:
    """Specs restored once per definition: SpiffWorkflow shares a spec between all the
    workflows that run it (workflows never change their spec)."""
    parts = _spec_parts(spec_json)
    return (SERIALIZER.from_dict(parts["spec"]),
            {name: SERIALIZER.from_dict(s) for name, s in parts["subprocess_specs"].items()})


def dump_state(workflow: BpmnWorkflow) -> str:
    """Instance state only: the spec lives once with the service definition."""
    state = SERIALIZER.to_dict(workflow)
    del state["spec"], state["subprocess_specs"]
    return json.dumps(state)


def load_state(state_json: str, spec_json: str, script_engine) -> BpmnWorkflow:
    state = json.loads(state_json)
    parts = _spec_parts(spec_json)
    state["spec"] = parts["spec"]
    state["subprocess_specs"] = parts["subprocess_specs"]
    workflow = SERIALIZER.from_dict(state)
    workflow.script_engine = script_engine
    return workflow


# --- keeping the task tree bounded (loops and timer cycles) --------------------------------
#
# SpiffWorkflow never forgets a task: every pass through a loop adds its tasks as children
# of the previous pass's tasks (the tree is the execution history), and every tick of a
# cycle timer adds a branch below the waiting timer. Its task iterator stops at depth 1000
# (util/task.py, ``max_depth``), so past ~1000 tasks deep the READY task is never found,
# ``is_completed()`` turns true with no end event reached, and every step walks the whole
# tree first (per-step time grows with the loop count, state grows ~400 bytes a task).
# SpiffWorkflow has nothing to bound this, so we prune completed history ourselves: see
# ``prune_completed``.

PRUNE_AT = 60  # a workflow's tree is pruned once it holds more tasks than this...
PRUNE_STEP = 30  # ...and, during one run, again only after this many more (a wide tree stays)
KEEP_ANCESTORS = 10  # completed steps kept above every unfinished task (send-back targets apart)
_MARK = "_onewindow_prune_mark"


def run_engine_steps(workflow: BpmnWorkflow, will_complete_task=None, did_complete_task=None) -> None:
    """``workflow.do_engine_steps(...)``, with the task tree pruned between passes.

    The same loop as SpiffWorkflow 3.2's ``do_engine_steps`` (``_do_engine_steps`` until
    it runs nothing, then ``refresh_timers``); pruning between passes, not inside the
    callbacks, because a pass runs a list of READY tasks taken before it started.
    """
    while workflow._do_engine_steps(will_complete_task, did_complete_task):
        _bound(workflow, during_run=True)
    workflow.refresh_timers()
    _bound(workflow, during_run=False)


def _bound(workflow: BpmnWorkflow, during_run: bool) -> int:
    removed = 0
    for wf in (workflow, *list(workflow.subprocesses.values())):
        if wf.parent_task_id is not None and wf.parent_task_id not in workflow.subprocesses:
            continue  # deleted with its (pruned) calling task during this loop
        limit = getattr(wf, _MARK, PRUNE_AT) if during_run else PRUNE_AT
        if len(wf.tasks) > limit:
            removed += prune_completed(wf)
            setattr(wf, _MARK, max(PRUNE_AT, len(wf.tasks) + PRUNE_STEP))
    return removed


def prune_completed(wf, keep: int = KEEP_ANCESTORS) -> int:
    """Drop finished history from one workflow's task tree (the top-level workflow or one
    subprocess); return how many tasks went.

    Kept: the root; every unfinished task with its ``keep`` nearest ancestors and its
    direct children (multi-instance tasks look theirs up); the last completed task; the
    nearest completed instance of every human step above an unfinished task, with its
    parent (send-back, 退回, resets to it and takes its parent's data); the parent of every
    kept manual task and join (joins judge their inputs by ``task.parent``); an event split
    with all its children (boundary events) and the split a waiting boundary join looks
    for; join instances cancelled since that join last fired (a parallel join counts them).
    Dropped as well: under a cycle timer still waiting, every spent tick branch but the
    newest and the duplicate waiting boundary joins each tick adds.

    A kept task whose parent goes is re-attached to its nearest kept ancestor: its data
    is whole in memory and the serializer stores it as a delta from the new parent, so
    nothing is lost. The root keeps the process's first data.
    """
    tasks, root = wf.tasks, wf.task_tree
    done = TaskState.COMPLETED | TaskState.CANCELLED  # a task in ERROR waits for a retry (reset to it)
    unfinished = [t for t in tasks.values() if not t._state & done]
    if not any(t._state & TaskState.NOT_FINISHED_MASK for t in unfinished):
        return 0  # a finished workflow keeps its history: it no longer grows
    dropped = _spent_ticks(wf, unfinished)
    budgets: dict = {}

    def mark(task, budget: int) -> None:
        while task is not None and budget >= 0 and budgets.get(task.id, -1) < budget:
            budgets[task.id] = budget
            task, budget = task.parent, budget - 1

    mark(root, 0)
    last = wf.last_task
    if last is not None and last.id in tasks and last.id not in dropped:
        mark(last, 1)
    for task in unfinished:
        if task.id in dropped:
            continue
        mark(task, keep)
        for child in task.children:
            if child.id not in dropped:
                mark(child, 0)
        if task._state & TaskState.DEFINITE_MASK:
            _mark_send_back_targets(task, mark)
    _mark_pending_join_inputs(wf, unfinished, dropped, mark)
    _close(wf, budgets, mark)
    if len(budgets) == len(tasks):
        return 0
    return _cut(wf, budgets)


def _spent_ticks(wf, unfinished: list) -> set:
    """Under a cycle timer still waiting: spent tick branches but the newest, and the
    duplicate waiting joins each tick adds (the join cancels all but one when it fires)."""
    dropped: set = set()
    last = wf.last_task.id if wf.last_task is not None else None
    for timer in unfinished:
        definition = getattr(timer.task_spec, "event_definition", None)
        if timer._state != TaskState.WAITING or not isinstance(definition, spiff_timers.CycleTimerEventDefinition):
            continue
        spent, joins = [], set()
        for child in reversed(timer.children):
            subtree = list(child)
            if isinstance(child.task_spec, Join) and child._state == TaskState.WAITING and not child._children:
                if child.task_spec in joins:
                    dropped.add(child.id)
                joins.add(child.task_spec)
            elif all(t._state & TaskState.FINISHED_MASK for t in subtree) and not any(t.id == last for t in subtree):
                spent.append(subtree)
        for subtree in spent[1:]:  # spent is newest first
            dropped.update(t.id for t in subtree)
    return dropped


def _mark_send_back_targets(task, mark) -> None:
    """As engine/applications.py ``_earlier_steps``: the nearest completed instance of each
    human step above a task to come, kept with its parent wherever it is (the human task
    that will be sent back from may still lie ahead, after the loop)."""
    seen = {task.task_spec.bpmn_id}
    node = task.parent
    while node is not None:
        spec = node.task_spec
        if spec.manual and node._state == TaskState.COMPLETED and spec.bpmn_id not in seen:
            seen.add(spec.bpmn_id)
            mark(node, 1)
        node = node.parent


def _mark_pending_join_inputs(wf, unfinished: list, dropped: set, mark) -> None:
    """Instances of a parallel/inclusive/end join cancelled since it last fired: their
    parents tell the join which inputs already arrived (and whose data to merge)."""
    joins = {t.task_spec for t in unfinished if isinstance(t.task_spec, UnstructuredJoin)}
    if not joins:
        return
    fired: dict = {}
    instances = [t for t in wf.tasks.values() if t.task_spec in joins and t._state & TaskState.FINISHED_MASK]
    for task in instances:
        if task._state == TaskState.COMPLETED:
            fired[task.task_spec] = max(fired.get(task.task_spec, 0.0), task.last_state_change)
    for task in instances:
        if task.id not in dropped and task.last_state_change >= fired.get(task.task_spec, 0.0):
            mark(task, 1)


def _close(wf, budgets: dict, mark) -> None:
    """Keep what kept tasks rely on, until nothing more is added."""
    done: set = set()
    while len(done) < len(budgets):
        for task_id in [t for t in budgets if t not in done]:
            done.add(task_id)
            task = wf.tasks[task_id]
            spec, parent = task.task_spec, task.parent
            if parent is not None and (spec.manual or isinstance(spec, Join) or isinstance(parent.task_spec, EventSplit)):
                mark(parent, 0)
            if isinstance(spec, EventSplit):
                for child in task.children:
                    mark(child, 0)
            if isinstance(spec, Join) and spec.split_task and not task._state & TaskState.FINISHED_MASK:
                node = parent
                while node is not None and node.task_spec.name != spec.split_task:
                    node = node.parent
                mark(node, 0)


def _cut(wf, budgets: dict) -> int:
    """Remove every task not in ``budgets``; re-attach kept tasks to their nearest kept
    ancestor, in the original order of the children."""
    tasks, root = wf.tasks, wf.task_tree
    removed, children = [], {root.id: []}
    stack = [(root, None)]
    while stack:
        task, anchor = stack.pop()
        if task.id in budgets:
            if anchor is not None:
                task._parent = anchor
                children[anchor].append(task.id)
            children[task.id] = []
            anchor = task.id
        else:
            removed.append(task)
        stack.extend((tasks[c], anchor) for c in reversed(task._children))
    for task_id, kept in children.items():
        tasks[task_id]._children = kept
    top = wf.top_workflow
    for task in removed:
        del tasks[task.id]
        top.event_manager.tasks.pop(task.id, None)
        if task.id in top.subprocesses:
            _drop_subprocess(top, task.id)
    return len(removed)


def _drop_subprocess(top: BpmnWorkflow, task_id) -> None:
    subprocess = top.subprocesses.pop(task_id)
    for child_id in [i for i, sp in top.subprocesses.items() if sp.parent_task_id in subprocess.tasks]:
        if child_id in top.subprocesses:
            _drop_subprocess(top, child_id)


def reached_end(workflow: BpmnWorkflow) -> bool:
    """Whether the top-level process really finished: one of its end events completed and
    no task of it is still to run. ``is_completed()`` alone also turns true when
    SpiffWorkflow's iterator gives up at depth 1000 with the READY task below it."""
    tasks = workflow.tasks.values()
    if any(t._state & TaskState.DEFINITE_MASK for t in tasks):
        return False
    return any(t._state == TaskState.COMPLETED and isinstance(t.task_spec, EndEventMixin) for t in tasks)
