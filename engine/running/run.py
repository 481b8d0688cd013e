"""The one place workflows run (办件的运行): load, run, apply effects, record state, project
tasks, hand over.

Every use case that moves an application (engine/applications.py, engine/tasks.py,
engine/work.py, engine/oversight/incidents.py) calls ``Runner.run`` inside its one transaction:
the workflow runs every step that needs no waiting, a failure becomes an incident, the
operations' effects are applied, SpiffWorkflow's state is stored, the queue index and the
next timer are projected, and the answer is recorded when the process reaches it. After
commit the use case calls ``hand_over`` so work left pending reaches the queue at once
(the reconciler re-sends anything a lost hand-over left behind).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Mapping, Protocol

from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.bundles.policy import is_bundle, member_of
from engine.definitions import bpmn
from engine.running.workflow import dump_state, load_state, new_workflow, reached_end, run_engine_steps, workflow_clock
from engine.oversight.calendar import WorkingCalendar
from engine.oversight.deadlines import due_for_new_task
from engine.events import EventKind, record
from engine.oversight.incidents import MANUAL_TASK_ELEMENT, MANUAL_TASK_TITLE, Failure, IncidentKind, open_incident
from engine.store.models import Application, ApplicationStatus, ServiceDefinition, Task
from engine.operations.base import EffectTarget
from engine.running.compiled import spec_of
from engine.running.decision import decide, final_result
from engine.running.dispatch import ServiceTasks, WorkDeferred
from engine.running.projection import next_timer, project_tasks
from engine.sandbox import BudgetExceeded, run_budget
from engine.sources import Source

# Each completed BPMN step costs this much of the run's sandbox step budget (1,000,000):
# 25,000 steps a run — room for a 10,000-turn loop of two steps, an end to one that never exits.
STEPS_PER_TASK = 40
AUDITED_STEPS = 200  # a run's "steps" audit row lists the first ones and counts the rest


class WorkQueue(Protocol):
    """Where pending work goes after commit: RQ in production, a thread when embedded."""

    def enqueue_advance(self, application_id: int) -> None: ...


class MemberSteps(Protocol):
    """A bundle's member steps (一件事, engine/bundles/members.py): the runner settles them
    after each run of a bundle, answers a bundle from its members, and tells a bundle when
    one of its members ended."""

    def settle(self, session: Session, bundle: Application, workflow: BpmnWorkflow, now: datetime,
               actor: str) -> bool: ...

    def answer(self, session: Session, bundle: Application) -> tuple[str, dict]: ...

    def member_ended(self, session: Session, member: Application, now: datetime) -> None: ...


@dataclass
class Runner:
    sources: Mapping[str, Source]
    queue: WorkQueue
    clock: Callable[[], datetime]
    calendar: WorkingCalendar
    # Set by the composition (engine/services.py): member steps start applications, which
    # needs the applicant's use cases, which need this runner.
    members: MemberSteps | None = None

    def service_tasks_for(self, definition: ServiceDefinition) -> ServiceTasks:
        return ServiceTasks(definition, self.sources, self.clock)

    def start(self, definition: ServiceDefinition, data: dict) -> tuple[BpmnWorkflow, ServiceTasks]:
        """A new workflow of the version, its first task holding the form data."""
        service_tasks = self.service_tasks_for(definition)
        workflow = new_workflow(spec_of(definition), service_tasks.script_engine())
        workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
        return workflow, service_tasks

    def load(self, application: Application,
             definition: ServiceDefinition | None = None) -> tuple[BpmnWorkflow, ServiceTasks]:
        """The stored workflow, on the version it started with (or ``definition``: a retry
        on the newest version; SpiffWorkflow raises when the state does not fit it)."""
        definition = definition or application.definition
        service_tasks = self.service_tasks_for(definition)
        return load_state(application.workflow, spec_of(definition), service_tasks.script_engine()), service_tasks

    def run(self, session: Session, application: Application, workflow: BpmnWorkflow, service_tasks: ServiceTasks,
            allow_deferred: bool, actor: str) -> None:
        now = self.clock()
        steps: list[dict] = []
        application.pending_since = None
        failure = self._steps(session, application, workflow, service_tasks, allow_deferred, actor, steps, now)
        while (failure is None and self.members is not None and is_bundle(application.definition)
               and self.members.settle(session, application, workflow, now, actor)):
            failure = self._steps(session, application, workflow, service_tasks, allow_deferred, actor, steps, now)
        if steps:  # one audit row per run, not one per step: the hot path writes less
            record(session, EventKind.STEPS, actor, now, application=application, data={
                "steps": steps[:AUDITED_STEPS],
                **({"more": len(steps) - AUDITED_STEPS} if len(steps) > AUDITED_STEPS else {})})
        # SpiffWorkflow calls a workflow completed when its task iterator finds nothing left —
        # also when the iterator gave up at its depth limit. Completed means an end event ran.
        ended = reached_end(workflow)
        if failure is None and not ended and workflow.is_completed():
            failure = Failure(IncidentKind.NO_END_EVENT, workflow.last_task.task_spec.bpmn_id or "",
                              "the workflow stopped with nothing waiting and no end event reached")
        with session.no_autoflush:  # one flush at commit, not one per query in between
            if failure is not None:
                self._fail(session, application, failure, now, actor)
            target = EffectTarget(session, application, self.calendar, now, actor)
            for effect in service_tasks.effects:
                effect.apply(target)
            self._record_state(session, application, workflow, ended, now, actor)

    def hand_over(self, application: Application, members_pending: Iterable[int] = ()) -> None:
        """After commit: work the run left pending goes to the queue now — the application's,
        and that of the members a bundle's run started (``members_pending``); a bundle member
        that ended hands its bundle the step to complete."""
        if application.pending_since is not None:
            self.queue.enqueue_advance(application.id)
        for member_id in members_pending:
            self.queue.enqueue_advance(member_id)
        if application.bundle_id is not None and application.status == ApplicationStatus.COMPLETED:
            self.queue.enqueue_advance(application.bundle_id)

    def _steps(self, session: Session, application: Application, workflow: BpmnWorkflow, service_tasks: ServiceTasks,
               allow_deferred: bool, actor: str, steps: list[dict], now: datetime) -> Failure | None:
        def before(task) -> None:
            service_tasks.must_defer(task, allow_deferred)

        def after(task) -> None:
            try:
                budget.charge(STEPS_PER_TASK)
            except BudgetExceeded as exc:  # a flow that loops for ever: name where it was
                raise WorkflowTaskException(str(exc), task=task) from exc
            if task.task_spec.bpmn_id:
                steps.append({"element": task.task_spec.bpmn_id, "type": type(task.task_spec).__name__})

        try:
            with workflow_clock(self.clock), run_budget() as budget:  # the run's scripts and steps share it
                run_engine_steps(workflow, will_complete_task=before, did_complete_task=after)
        except WorkDeferred as deferred:
            application.pending_since = now
            record(session, EventKind.WORK_DEFERRED, actor, now, application=application,
                   data={"element": deferred.element_id, "sources": deferred.sources})
        except (WorkflowException, BudgetExceeded, RecursionError) as exc:  # never a 500: an incident
            return Failure.of(exc)
        return None

    def _fail(self, session: Session, application: Application, failure: Failure, now: datetime,
              actor: str) -> None:
        """A failed run: an incident for staff, a task "转人工处理" in the department's queue,
        and for the applicant only the neutral notice (no exception text ever reaches them)."""
        application.status = ApplicationStatus.FAILED
        open_incident(session, application, failure.kind, failure.element_id, failure.error, now, actor)
        session.add(Task(application=application, spiff_task_id="", element_id=MANUAL_TASK_ELEMENT,
                         title=MANUAL_TASK_TITLE, candidate_role="clerk",
                         department=application.definition.matter.department, region=application.region,
                         due_at=due_for_new_task(session, self.calendar, application, now), created_at=now))

    def _record_state(self, session: Session, application: Application, workflow: BpmnWorkflow,
                      ended: bool, now: datetime, actor: str) -> None:
        application.workflow = dump_state(workflow)
        application.updated_at = now
        data = workflow.last_task.data if workflow.last_task else {}
        if bpmn.DECISION_VARIABLE in data:
            application.decision = data[bpmn.DECISION_VARIABLE]
        people_wait = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if not member_of(t.task_spec)]
        project_tasks(session, self.calendar, application, people_wait, now)
        application.timer_due_at = next_timer(workflow, now)
        if application.status == ApplicationStatus.FAILED:
            return
        if ended and self.members is not None and is_bundle(application.definition):
            outcome, result = self.members.answer(session, application)  # a bundle answers from its members
        else:
            answer = workflow.data if ended else data  # a finished process's data, or the last step's
            outcome, result = answer.get(bpmn.OUTCOME_VARIABLE), answer.get(bpmn.RESULT_VARIABLE)
        if outcome and outcome != application.outcome:
            decide(session, application, outcome, result, now, actor)
        if ended:
            application.status, application.completed_at = ApplicationStatus.COMPLETED, now
            application.result = final_result(application, result or {})
            if application.bundle_id is not None and self.members is not None:
                self.members.member_ended(session, application, now)
        else:
            application.status = ApplicationStatus.RUNNING if application.pending_since else ApplicationStatus.WAITING
