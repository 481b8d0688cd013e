"""Applications (办件): submit, advance, read; and the human tasks they wait on.

Each change is one transaction at the outer edge: load the application, run its
workflow until it waits, store SpiffWorkflow's state, project human tasks into the
``task`` table, append audit events, commit. The ``version`` column makes a conflicting
commit fail (StaleDataError -> Conflict), so two clerks or two workers never both win.
Work that must wait (a slow source) is marked ``pending_since`` in the same transaction
and handed to the queue after commit; the reconciler re-sends anything left pending.
"""
from __future__ import annotations

import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterator, Mapping, Protocol
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine import bpmn
from engine.calendar import WorkingCalendar, default_calendar
from engine.deadlines import colour_at, deadline_for
from engine.definitions import current_definition
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.models import Application, Event, Matter, SubsidyRecipient, Task, User, as_utc, utcnow
from engine.runtime import ServiceTasks, WorkDeferred, compiled
from engine.sources import Source
from forms import FormValidationError

REVIEW_OUTCOMES = ("approve", "reject")


@dataclass(frozen=True)
class QueueQuery:
    """Filters and order of a clerk's queue listing."""

    status: str = "active"  # open | claimed | active (open or claimed) | completed
    matter: str | None = None
    applicant: str | None = None  # the applicant's username
    due_before: datetime | None = None
    mine: bool = False
    sort: str = "due_at"  # due_at | -due_at | created_at | -created_at
    limit: int = 100


class WorkQueue(Protocol):
    """Where pending work goes after commit: RQ in production, a thread when embedded."""

    def enqueue_advance(self, application_id: int) -> None: ...


@dataclass
class Engine:
    sessions: sessionmaker[Session]
    sources: Mapping[str, Source]
    queue: WorkQueue
    clock: Callable[[], datetime] = utcnow
    calendar: WorkingCalendar = field(default_factory=default_calendar)

    # --- applicants -------------------------------------------------------------------

    def submit(self, user: User, matter_code: str, data: dict,
               idempotency_key: str | None = None) -> tuple[Application, bool]:
        """Validate, start and run a new application; returns (application, created).

        The same ``Idempotency-Key`` from the same applicant returns the first
        application instead of starting a second one.
        """
        if user.role != "applicant":
            raise Forbidden("only applicants submit applications")
        with self.sessions() as session:
            existing = _by_idempotency_key(session, user.id, idempotency_key)
            if existing is not None:
                return existing, False
            definition = current_definition(session, matter_code)
            try:
                cleaned = compiled(definition).form.validate(data)
            except FormValidationError as exc:
                raise InvalidInput("the form has errors", exc.errors) from exc
            try:
                application = self._start(session, user, definition, cleaned, idempotency_key)
                session.commit()
            except IntegrityError:  # the same key, submitted at the same moment, won the race
                session.rollback()
                existing = _by_idempotency_key(session, user.id, idempotency_key)
                if existing is None:
                    raise
                return existing, False
        self._hand_over(application)
        return application, True

    def _start(self, session: Session, user: User, definition, data: dict,
               idempotency_key: str | None) -> Application:
        now = self.clock()
        matter = session.get(Matter, definition.matter_code)
        services = ServiceTasks(definition, self.sources, self.clock)
        workflow = bpmn.new_workflow(definition.spec, services.script_engine())
        workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
        application = Application(
            tracking_no=f"{now:%Y%m%d}{secrets.token_hex(5).upper()}", matter_code=definition.matter_code,
            definition_id=definition.id, applicant_id=user.id, region=definition.region,
            idempotency_key=idempotency_key, status="running", form_data=data, workflow="",
            created_at=now, updated_at=now, clock_pauses=[])
        deadline = deadline_for(self.calendar, now, matter.promised_days, [])
        application.due_at, application.yellow_at = deadline.due_at, deadline.yellow_at
        application.colour = colour_at(deadline, now)
        application.definition = definition
        session.add(application)
        session.flush()
        session.add(Event(application_id=application.id, kind="application.submitted", actor=user.username,
                          at=now, data={"matter": definition.matter_code, "version": definition.version}))
        self._run(session, application, workflow, services, allow_deferred=False, actor=user.username)
        return application

    def get_application(self, user: User, application_id: int) -> tuple[Application, list[Event]]:
        with self.sessions() as session:
            application = session.get(Application, application_id)
            if application is None or not _may_read(user, application, session):
                raise NotFound(f"no application {application_id}")
            history = session.scalars(select(Event).where(Event.application_id == application_id)
                                      .order_by(Event.id)).all()
            return application, list(history)

    def my_applications(self, user: User, limit: int = 50) -> list[Application]:
        with self.sessions() as session:
            return list(session.scalars(select(Application).where(Application.applicant_id == user.id)
                                        .order_by(Application.id.desc()).limit(limit)))

    # --- workers ------------------------------------------------------------------------

    def advance(self, application_id: int) -> bool:
        """Run pending work (the RQ job). Safe to run twice: a finished or already
        advanced application is left alone, and a concurrent advance loses on version."""
        with self.sessions() as session:
            application = session.get(Application, application_id)
            if application is None or application.pending_since is None:
                return False
            workflow, services = self._load(application)
            workflow.refresh_timers()  # a due timer becomes READY and runs below
            try:
                self._run(session, application, workflow, services, allow_deferred=True, actor="worker")
                session.commit()
            except StaleDataError:  # another worker advanced it first: its result stands
                session.rollback()
                return False
        self._hand_over(application)
        return True

    def reconcile(self, older_than: timedelta) -> list[int]:
        """Re-send work that has been pending too long (a dead worker, a lost job)."""
        cutoff = self.clock() - older_than
        with self.sessions() as session:
            ids = list(session.scalars(select(Application.id).where(Application.pending_since <= cutoff)
                                       .order_by(Application.pending_since)))
        for application_id in ids:
            self.queue.enqueue_advance(application_id)
        return ids

    def fire_timers(self) -> list[int]:
        """Hand every application whose next BPMN timer is due to a worker (RQ scheduler job).

        Reads only the indexed ``timer_due_at`` column; marking the work pending first means
        a lost job is re-sent by the reconciler like any other.
        """
        now = self.clock()
        with self.sessions() as session:
            due = list(session.scalars(select(Application.id).where(
                Application.timer_due_at <= now, Application.pending_since.is_(None))))
            if due:
                session.execute(update(Application).where(Application.id.in_(due))
                                .values(pending_since=now, timer_due_at=None))
                session.commit()
        for application_id in due:
            self.queue.enqueue_advance(application_id)
        return due

    # --- clerks -------------------------------------------------------------------------

    def queue_for(self, user: User, query: QueueQuery | None = None) -> list[Task]:
        """The clerk's department queue: one indexed query on the task table (joined to its
        application only to filter by matter or applicant), never a workflow read."""
        _require_clerk(user)
        query = query or QueueQuery()
        statuses = ("open", "claimed") if query.status == "active" else (query.status,)
        statement = select(Task).where(Task.department == user.department, Task.status.in_(statuses))
        if query.matter or query.applicant:
            statement = statement.join(Application, Application.id == Task.application_id)
        if query.matter:
            statement = statement.where(Application.matter_code == query.matter)
        if query.applicant:
            applicant_ids = select(User.id).where(User.username == query.applicant)
            statement = statement.where(Application.applicant_id.in_(applicant_ids))
        if query.due_before:
            statement = statement.where(Task.due_at < query.due_before)
        if query.mine:
            statement = statement.where(Task.assignee_id == user.id)
        column = getattr(Task, query.sort.lstrip("-"))
        order = column.desc() if query.sort.startswith("-") else column
        with self.sessions() as session:
            return list(session.scalars(statement.order_by(order, Task.id).limit(query.limit)))

    def claim_many(self, user: User, task_ids: list[int]) -> dict[str, list[int]]:
        """Bulk claim: each task is taken or reported, independently of the others."""
        outcome: dict[str, list[int]] = {"claimed": [], "refused": []}
        for task_id in task_ids:
            try:
                self.claim(user, task_id)
                outcome["claimed"].append(task_id)
            except (Conflict, NotFound):  # someone else's or gone: reported, not fatal
                outcome["refused"].append(task_id)
        return outcome

    def delegate(self, user: User, task_id: int, colleague: str) -> Task:
        """Hand a task I hold (or an open one) to a clerk of the same department (转办)."""
        with self.sessions() as session:
            task = task_of_clerk(session, user, task_id)
            target = session.scalars(select(User).where(User.username == colleague)).first()
            if target is None or target.role != "clerk" or target.department != user.department:
                raise InvalidInput("no such colleague", {"to": [f"a clerk of {user.department}"]})
            taken = session.execute(update(Task).where(
                Task.id == task_id, (Task.status == "open") | ((Task.status == "claimed") & (Task.assignee_id == user.id)))
                .values(status="claimed", assignee_id=target.id))
            if taken.rowcount != 1:
                raise _taken(task)
            session.add(Event(application_id=task.application_id, kind="task.delegated", actor=user.username,
                              at=self.clock(), data={"task": task.id, "to": target.username}))
            session.commit()
            session.refresh(task)
            return task

    def claim(self, user: User, task_id: int) -> Task:
        with self.sessions() as session:
            task = task_of_clerk(session, user, task_id)
            if task.status == "claimed" and task.assignee_id == user.id:
                return task
            taken = session.execute(update(Task).where(Task.id == task_id, Task.status == "open")
                                    .values(status="claimed", assignee_id=user.id))
            if taken.rowcount != 1:
                raise _taken(task)
            session.add(Event(application_id=task.application_id, kind="task.claimed", actor=user.username,
                              at=self.clock(), data={"task": task.id}))
            session.commit()
            session.refresh(task)
            return task

    def release(self, user: User, task_id: int) -> Task:
        with self.sessions() as session:
            task = task_of_clerk(session, user, task_id)
            if task.status != "claimed" or task.assignee_id != user.id:
                raise Conflict(f"task {task_id} is not claimed by you")
            task.status, task.assignee_id = "open", None
            session.add(Event(application_id=task.application_id, kind="task.released", actor=user.username,
                              at=self.clock(), data={"task": task.id}))
            session.commit()
            return task

    def complete(self, user: User, task_id: int, review: dict) -> Application:
        """Record the clerk's review and advance the workflow, once: the loser of two
        concurrent completions gets Conflict and nothing of theirs is stored."""
        _check_review(review)
        with self.sessions() as session, _stale_is_conflict(session, f"task {task_id} was completed by someone else"):
            task = task_of_clerk(session, user, task_id)
            if task.status not in ("open", "claimed") or (task.status == "claimed" and task.assignee_id != user.id):
                raise _taken(task)
            application = task.application
            workflow, services = self._load(application)
            spiff_task = workflow.get_task_from_id(UUID(task.spiff_task_id))
            if spiff_task is None or spiff_task.state != TaskState.READY:
                raise Conflict(f"task {task_id} is no longer waiting")
            spiff_task.data["review"] = review
            spiff_task.run()
            now = self.clock()
            task.status, task.completed_at, task.completed_by, task.result = "completed", now, user.id, review
            task.assignee_id = task.assignee_id or user.id
            session.add(Event(application_id=application.id, kind="task.completed", actor=user.username,
                              at=now, data={"task": task.id, "element": task.element_id, "review": review}))
            self._run(session, application, workflow, services, allow_deferred=False, actor=user.username)
            session.commit()
        self._hand_over(application)
        return application

    # --- the one place workflows run ----------------------------------------------------

    def _load(self, application: Application) -> tuple[BpmnWorkflow, ServiceTasks]:
        """The stored workflow, on the version of the definition it started with."""
        definition = application.definition
        services = ServiceTasks(definition, self.sources, self.clock)
        return bpmn.load_state(application.workflow, definition.spec, services.script_engine()), services

    def _run(self, session: Session, application: Application, workflow: BpmnWorkflow,
             services: ServiceTasks, allow_deferred: bool, actor: str) -> None:
        steps: list[dict] = []
        now = self.clock()

        def before(task) -> None:
            services.must_defer(task, allow_deferred)

        def after(task) -> None:
            steps.append({"element": task.task_spec.bpmn_id, "type": type(task.task_spec).__name__})

        application.pending_since = None
        try:
            workflow.do_engine_steps(will_complete_task=before, did_complete_task=after)
        except WorkDeferred as deferred:
            application.pending_since = now
            session.add(Event(application_id=application.id, kind="work.deferred", actor=actor, at=now,
                              data={"element": deferred.element_id, "sources": deferred.sources}))
        except WorkflowException as exc:
            application.status = "failed"
            session.add(Event(application_id=application.id, kind="workflow.failed", actor=actor, at=now,
                              data={"error": str(exc), "element": getattr(getattr(exc, "task_spec", None), "bpmn_id", "")}))
        for step in steps:
            if step["element"]:
                session.add(Event(application_id=application.id, kind="step", actor=actor, at=now, data=step))
        self._record_state(session, application, workflow, now, actor)

    def _record_state(self, session: Session, application: Application, workflow: BpmnWorkflow,
                      now: datetime, actor: str) -> None:
        application.workflow = bpmn.dump_state(workflow)
        application.updated_at = now
        data = workflow.last_task.data if workflow.last_task else {}
        if "decision" in data:
            application.decision = data["decision"]
        waiting = workflow.get_tasks(state=TaskState.READY, manual=True)
        self._project_tasks(session, application, waiting, now)
        application.timer_due_at = next_timer(workflow, now)
        if application.status == "failed":
            return
        if workflow.is_completed():
            application.status, application.completed_at = "completed", now
            application.outcome = workflow.data.get("outcome")
            application.result = workflow.data.get("result") or {}
            session.add(Event(application_id=application.id, kind="application.decided", actor=actor, at=now,
                              data={"outcome": application.outcome, "result": application.result}))
            if application.outcome == "approve":
                _enrol_recipient(session, application, now)
        else:
            application.status = "running" if application.pending_since else "waiting"

    def _project_tasks(self, session: Session, application: Application, waiting: list, now: datetime) -> None:
        """Keep the queue index equal to the workflow's READY human tasks."""
        known = {t.spiff_task_id: t for t in session.scalars(
            select(Task).where(Task.application_id == application.id, Task.status.in_(("open", "claimed"))))}
        for spiff_task in waiting:
            if str(spiff_task.id) in known:
                continue
            spec = spiff_task.task_spec
            task = Task(application_id=application.id, spiff_task_id=str(spiff_task.id), element_id=spec.bpmn_id,
                        title=spec.bpmn_name or spec.bpmn_id, department=spec.lane or "unassigned",
                        region=application.region, due_at=application.due_at, created_at=now)
            session.add(task)
            session.flush()
            session.add(Event(application_id=application.id, kind="task.created", actor="engine", at=now,
                              data={"task": task.id, "element": spec.bpmn_id, "department": task.department}))
        still_waiting = {str(t.id) for t in waiting}
        for spiff_id, task in known.items():
            if spiff_id not in still_waiting:
                task.status = "cancelled"

    def _hand_over(self, application: Application) -> None:
        if application.pending_since is not None:
            self.queue.enqueue_advance(application.id)


TIMER_EVENTS = ("TimerEventDefinition", "TimeDateEventDefinition", "DurationTimerEventDefinition",
                "CycleTimerEventDefinition")


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


def _enrol_recipient(session: Session, application: Application, now: datetime) -> None:
    """A granted benefit (a matter whose catalogue entry names ``recipient_id_field``) enters
    the benefit register in the same transaction, so "not already receiving" holds next time."""
    field_name = session.get(Matter, application.matter_code).elements.get("recipient_id_field")
    if field_name and application.form_data.get(field_name):
        session.merge(SubsidyRecipient(id_number=application.form_data[field_name],
                                       matter_code=application.matter_code, since=now.date()))


def _by_idempotency_key(session: Session, applicant_id: int, key: str | None) -> Application | None:
    if not key:
        return None
    return session.scalars(select(Application).where(Application.applicant_id == applicant_id,
                                                     Application.idempotency_key == key)).first()


def _may_read(user: User, application: Application, session: Session) -> bool:
    """Applicants see their own; clerks the applications their department has a task in."""
    if user.role in ("supervisor", "admin", "analyst"):
        return True
    if user.role == "applicant":
        return application.applicant_id == user.id
    return session.scalars(select(Task.id).where(Task.application_id == application.id,
                                                 Task.department == user.department).limit(1)).first() is not None


def _require_clerk(user: User) -> None:
    if user.role != "clerk":
        raise Forbidden("only clerks work task queues")


def task_of_clerk(session: Session, user: User, task_id: int) -> Task:
    """A task of the clerk's own department; any other is reported as not found."""
    _require_clerk(user)
    task = session.get(Task, task_id)
    if task is None or task.department != user.department:
        raise NotFound(f"no task {task_id} in your queue")
    return task


def _taken(task: Task) -> Conflict:
    return Conflict(f"task {task.id} is {task.status}" + (" by someone else" if task.assignee_id else ""))


def _check_review(review: dict) -> None:
    errors = {}
    if review.get("outcome") not in REVIEW_OUTCOMES:
        errors["outcome"] = [f"one of {', '.join(REVIEW_OUTCOMES)}"]
    if review.get("outcome") == "reject" and not str(review.get("comment", "")).strip():
        errors["comment"] = ["a rejection states its reason 不予批准须说明理由"]
    if errors:
        raise InvalidInput("the review has errors", errors)


@contextmanager
def _stale_is_conflict(session: Session, message: str) -> Iterator[None]:
    """A flush or commit that finds the application's version moved on means someone
    else's change won: undo ours and say so (409)."""
    try:
        yield
    except StaleDataError as exc:
        session.rollback()
        raise Conflict(message) from exc
