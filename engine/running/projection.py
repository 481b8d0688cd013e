"""What a run leaves outside the workflow state, for queries that never deserialize it:
the queue index (the ``task`` table mirrors the workflow's READY human tasks) and the
moment of the next BPMN timer (``application.timer_due_at``, read by ``fire_timers``)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine.people.assignment import assign_named_clerk, assignment_of, encode_users
from engine.oversight.calendar import WorkingCalendar
from engine.oversight.deadlines import due_for_new_task
from engine.events import EventKind, record
from engine.store.models import ACTIVE_TASK, Application, Task, TaskStatus, as_utc

TIMER_EVENTS = ("TimerEventDefinition", "TimeDateEventDefinition", "DurationTimerEventDefinition",
                "CycleTimerEventDefinition")


def project_tasks(session: Session, calendar: WorkingCalendar, application: Application, waiting: list,
                  now: datetime) -> None:
    """Keep the queue index equal to the workflow's READY human tasks: a new one gets its
    row (department, role, due date, a named clerk), one the workflow left is cancelled."""
    known = {} if application.id is None else {t.spiff_task_id: t for t in session.scalars(  # new: none yet
        select(Task).where(Task.application_id == application.id, Task.status.in_(ACTIVE_TASK)))
        if t.status in ACTIVE_TASK}  # not flushed yet: the one just completed is still 'open' in the database
    department = application.definition.matter.department
    due_at = due_for_new_task(session, calendar, application, now) if waiting else None
    for spiff_task in waiting:
        if str(spiff_task.id) not in known:
            _add_task(session, application, spiff_task, department, due_at, now)
    still_waiting = {str(t.id) for t in waiting}
    for spiff_id, task in known.items():
        if spiff_id not in still_waiting:
            task.status = TaskStatus.CANCELLED


def _add_task(session: Session, application: Application, spiff_task, department: str, due_at: datetime | None,
              now: datetime) -> None:
    spec = spiff_task.task_spec
    assigned = assignment_of(spec, department)
    task = Task(application=application, spiff_task_id=str(spiff_task.id), element_id=spec.bpmn_id,
                title=spec.bpmn_name or spec.bpmn_id, candidate_role=assigned.role,
                department=assigned.department, candidate_users=encode_users(assigned.candidate_users),
                region=application.region, due_at=due_at, created_at=now)
    assign_named_clerk(session, task, assigned)
    session.add(task)
    session.flush()
    record(session, EventKind.TASK_CREATED, "engine", now, application=application, data={
        "task": task.id, "element": spec.bpmn_id, "title": task.title, "department": task.department,
        "role": assigned.role,
        **({"candidate_users": list(assigned.candidate_users)} if assigned.candidate_users else {}),
        **({"assignee": assigned.assignee} if task.assignee_id else {})})


def next_timer(workflow: BpmnWorkflow, now: datetime) -> datetime | None:
    """When the earliest waiting BPMN timer fires (``now`` if its value is not a moment yet)."""
    moments = []
    for event in workflow.waiting_events():
        if event.event_type not in TIMER_EVENTS or event.value is None:
            continue
        value = event.value["next"] if isinstance(event.value, dict) else event.value
        try:
            moments.append(as_utc(datetime.fromisoformat(value)))
        except (TypeError, ValueError):
            moments.append(now)  # not evaluated to a moment yet: let a worker refresh it now
    return min(moments, default=None)
