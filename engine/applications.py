"""Applications (办件): submit, advance, read; and the human tasks they wait on.

Each change is one transaction at the outer edge: load the application, run its
workflow until it waits, store SpiffWorkflow's state, project human tasks into the
``task`` table, append audit events, commit. The ``version`` column makes a conflicting
commit fail (StaleDataError -> Conflict), so two clerks or two workers never both win.
Work that must wait (a slow source) is marked ``pending_since`` in the same transaction
and handed to the queue after commit; the reconciler re-sends anything left pending.
"""
from __future__ import annotations

import hashlib
import json
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
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine import bpmn, regions, subjects, task_forms
from engine.assignment import (APPLICANT_LANE, assign_named_clerk, assignment_of, encode_users, may_take,
                               offered_to)
from engine.authorisations import AGENT_ROLE
from engine.calendar import WorkingCalendar, default_calendar
from engine.deadlines import (PAUSE_REASONS, colour_at, deadline_for, due_for_new_task, is_paused, local_day,
                              pause_clock, refresh_deadline, resume_clock)
from engine.definitions import current_definition
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, SubjectRefused
from engine.grants import AMOUNT, GrantPolicy
from engine.holdings import ALREADY_HELD_RULE, HoldingPolicy, Repeat, enrol, record_number, refusal
from engine.incidents import (MANUAL_TASK_ELEMENT, MANUAL_TASK_TITLE, Failure, IncidentKind, IncidentStatus,
                              open_incident, open_incidents, resolve)
from engine.numbers import NumberPolicy, issue
from engine.models import (ACTIVE_TASK, Application, ApplicationStatus, Event, Incident, Matter, Task, TaskStatus, User,
                           as_utc, utcnow)
from engine.credit import fast_lane_days, report_false_commitment
from engine.runtime import (CLOCK_PAUSE, CLOCK_RESUME, CREDIT_CHECK, FALSE_COMMITMENT, FAST_LANE, FETCH_MATERIALS, ServiceTasks,
                            WorkDeferred, compiled, spec_of)
from engine.sandbox import BudgetExceeded, run_budget
from engine.sources import Source
from engine.subjects import Binding, SubjectPolicy, SubjectRule
from forms import FormValidationError

SUBMITTERS = ("applicant", AGENT_ROLE)  # people for themselves, outlet staff for those who authorised them
FIRST_APPROVAL = "first_approval"  # 四眼: the first clerk's answer, kept on the task
# Each completed BPMN step costs this much of the run's sandbox step budget (1,000,000):
# 25,000 steps a run — room for a 10,000-turn loop of two steps, an end to one that never exits.
STEPS_PER_TASK = 40
AUDITED_STEPS = 200  # a run's "steps" audit row lists the first ones and counts the rest


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


@dataclass(frozen=True)
class Admission:
    """A submission let in: its cleaned data, whom it is for, where it is handled."""

    data: dict
    binding: Binding | None
    region: str


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

    def submit(self, user: User, matter_code: str, data: dict, idempotency_key: str | None = None,
               proactive: bool = False, region: str | None = None) -> tuple[Application, bool]:
        """Validate, start and run a new application; returns (application, created).

        The same ``Idempotency-Key`` from the same applicant returns the first
        application instead of starting a second one. ``proactive``: started by 免申即享
        on the person's behalf. ``region``: where the applicant chooses to apply (就近办),
        where the matter allows it (engine/regions.py).
        """
        if user.role not in SUBMITTERS:
            raise Forbidden("only applicants and the staff of a service outlet (代办点) submit applications")
        digest = request_digest(matter_code, data)
        with self.sessions() as session:
            existing = _by_idempotency_key(session, user.id, idempotency_key, digest)
            if existing is not None:
                return existing, False
            definition = current_definition(session, matter_code)
            admission = self._admit(session, user, definition, data, proactive, region)
            try:
                application = self._start(session, user, definition, admission, idempotency_key, proactive)
                application.request_digest = digest if idempotency_key else None
                session.commit()
            except IntegrityError:  # the same key, submitted at the same moment, won the race
                session.rollback()
                existing = _by_idempotency_key(session, user.id, idempotency_key, digest)
                if existing is None:
                    raise
                return existing, False
        self._hand_over(application)
        return application, True

    def _admit(self, session: Session, user: User, definition, data: dict, proactive: bool,
               region: str | None) -> Admission:
        """The form as submitted first, then who may apply for whom (engine/subjects.py), and
        only then does the registry fill and check the names (秒填): a stranger learns nothing
        of what the registry holds. Then where it is handled (engine/regions.py)."""
        matter = session.get(Matter, definition.matter_code)
        policy = SubjectPolicy.of(definition.policy)
        form = compiled(definition).form
        errors = _form_errors(form, data, ignore=subjects.left_to_registry(policy, data))
        if errors:
            raise InvalidInput("the form has errors", errors)
        binding = (subjects.bind_proactive(session, policy, data) if proactive
                   else subjects.bind(session, user, matter.code, policy, data, self.clock()))
        try:
            cleaned = form.validate(subjects.prefill(session, binding, data))
        except FormValidationError as exc:
            raise InvalidInput("the form has errors", exc.errors) from exc
        subjects.check_identity_fields(session, policy, binding, cleaned)
        return Admission(cleaned, binding, regions.route(matter, definition.policy, binding, region))

    def _start(self, session: Session, user: User, definition, admission: Admission, idempotency_key: str | None,
               proactive: bool = False) -> Application:
        data, binding = admission.data, admission.binding
        now = self.clock()
        matter = session.get(Matter, definition.matter_code)
        services = ServiceTasks(definition, self.sources, self.clock)
        workflow = bpmn.new_workflow(spec_of(definition), services.script_engine())
        workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
        _end_reads(session)
        application = Application(
            tracking_no=f"{now:%Y%m%d}{secrets.token_hex(5).upper()}", matter_code=definition.matter_code,
            definition_id=definition.id, applicant_id=user.id, region=admission.region,
            idempotency_key=idempotency_key, status=ApplicationStatus.RUNNING, form_data=data, workflow="",
            created_at=now, updated_at=now, clock_pauses=[], proactive=proactive)
        if binding is not None:
            application.subject_kind, application.subject_id = binding.kind, binding.subject_id
            application.authorisation_id = binding.authorisation.id if binding.authorisation else None
        deadline = deadline_for(self.calendar, now, matter.promised_days, [])
        application.due_at, application.yellow_at = deadline.due_at, deadline.yellow_at
        application.colour = colour_at(deadline, now)
        application.definition = definition
        session.add(application)  # inserted with its events in one flush, at commit
        session.add(Event(application=application, kind="application.submitted", actor=user.username,
                          at=now, data={"matter": definition.matter_code, "version": definition.version,
                                        "basis": binding.basis if binding else None}))
        self._run(session, application, workflow, services, allow_deferred=False, actor=user.username)
        return application

    def get_application(self, user: User, application_id: int) -> tuple[Application, list[Event], list[Task]]:
        """The application, its history, and its steps (every human task, in order) — what
        the applicant follows: 受理, 补正, 审核, 审批, 出件."""
        with self.sessions() as session:
            application = session.get(Application, application_id)
            if application is None or not _may_read(user, application, session):
                raise NotFound("no such application")  # the same for "not yours": nothing learnt
            history = session.scalars(select(Event).where(Event.application_id == application_id)
                                      .order_by(Event.id)).all()
            steps = session.scalars(select(Task).where(Task.application_id == application_id).order_by(Task.id)).all()
            return application, list(history), list(steps)

    def my_applications(self, user: User, limit: int = 50) -> list[Application]:
        with self.sessions() as session:
            return list(session.scalars(select(Application).where(subjects.theirs(session, user))
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
            _end_reads(session)
            with bpmn.workflow_clock(self.clock):
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
        statuses = ACTIVE_TASK if query.status == "active" else (query.status,)
        statement = select(Task).where(Task.department == user.department, Task.region == user.region,
                                       Task.status.in_(statuses), Task.candidate_role == "clerk", offered_to(user))
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
        with self.sessions() as session, _stale_is_conflict(session, _changed_meanwhile(task_id)):
            task = task_of_clerk(session, user, task_id)
            target = session.scalars(select(User).where(User.username == colleague)).first()
            if target is None or target.role != "clerk" or (target.department, target.region) != (
                    user.department, user.region):
                raise InvalidInput("no such colleague", {"to": [f"a clerk of {user.department} in {user.region}"]})
            _may_work_on(task, user)
            task.status, task.assignee_id = TaskStatus.CLAIMED, target.id
            session.add(Event(application_id=task.application_id, kind="task.delegated", actor=user.username,
                              at=self.clock(), data={"task": task.id, "to": target.username}))
            session.commit()
            return task

    def claim(self, user: User, task_id: int) -> Task:
        with self.sessions() as session, _stale_is_conflict(session, _changed_meanwhile(task_id)):
            task = task_of_clerk(session, user, task_id)
            if task.status == TaskStatus.CLAIMED and task.assignee_id == user.id:
                return task
            if task.status != TaskStatus.OPEN:
                raise _taken(task)
            task.status, task.assignee_id = TaskStatus.CLAIMED, user.id
            session.add(Event(application_id=task.application_id, kind="task.claimed", actor=user.username,
                              at=self.clock(), data={"task": task.id}))
            session.commit()
            return task

    def release(self, user: User, task_id: int) -> Task:
        with self.sessions() as session, _stale_is_conflict(session, _changed_meanwhile(task_id)):
            task = task_of_clerk(session, user, task_id)
            if task.status != TaskStatus.CLAIMED or task.assignee_id != user.id:
                raise Conflict(f"task {task_id} is not claimed by you")
            task.status, task.assignee_id = TaskStatus.OPEN, None
            session.add(Event(application_id=task.application_id, kind="task.released", actor=user.username,
                              at=self.clock(), data={"task": task.id}))
            session.commit()
            return task

    def complete(self, user: User, task_id: int, answer: dict) -> Application:
        """Complete the task with its form (审核, 受理, 出件…) and advance the workflow, once:
        the loser of two concurrent completions gets Conflict and nothing of theirs is stored."""
        with self.sessions() as session, _stale_is_conflict(session, _changed_meanwhile(task_id)):
            task = task_of_clerk(session, user, task_id)
            _may_work_on(task, user)
            application = self._complete_task(session, task, user, answer)
            session.commit()
        self._hand_over(application)
        return application

    def supplement(self, user: User, application_id: int, answer: dict) -> Application:
        """The applicant hands in the materials the window asked for (补正); the clock resumes."""
        with self.sessions() as session, _stale_is_conflict(session, "the application changed meanwhile; reload it"):
            application = session.get(Application, application_id)
            if application is None or not subjects.is_theirs(session, user, application):
                raise NotFound("no such application of yours")
            if not subjects.may_act_on(session, user, application, self.clock()):
                raise SubjectRefused("代办授权已不再有效，补正须由本人或持有效授权的代办人提交",
                                     SubjectRule.AUTHORISATION_ENDED)
            task = session.scalars(select(Task).where(Task.application_id == application_id,
                                                      Task.candidate_role == "applicant",
                                                      Task.status == TaskStatus.OPEN)).first()
            if task is None:
                raise Conflict(f"application {application_id} is not waiting for materials from you")
            application = self._complete_task(session, task, user, answer)
            session.commit()
        self._hand_over(application)
        return application

    def _complete_task(self, session: Session, task: Task, user: User, answer: dict) -> Application:
        application = task.application
        workflow, services = self._load(application)
        spiff_task = _waiting_spiff_task(workflow, task)
        name = task_forms.form_name(spiff_task.task_spec)
        answer = task_forms.validate_answer(name, answer)
        _check_materials(session, application, name, answer, spiff_task.data)
        grant = GrantPolicy.of(application.definition.policy, compiled(application.definition).ruleset)
        grant.check(answer)
        _end_reads(session)
        if (grant.needs_second_approver(answer) or FIRST_APPROVAL in (task.result or {})) \
                and not _second_approval(task, user, answer, self.clock(), session):
            return application  # the first of two approvals: the task waits for a colleague
        spiff_task.data[name] = answer  # a new dict, not the inherited one: parallel branches merge at the join
        spiff_task.data[task_forms.ANSWERS] = {**spiff_task.data.get(task_forms.ANSWERS, {}), task.element_id: answer}
        if name == "supplement" and application.materials is not None:  # 免证办 record: what came in by hand
            application.materials = {**application.materials, "handed_in": [
                *application.materials.get("handed_in", []), *(m["name"] for m in answer["materials"])]}
        spiff_task.run()
        now = self.clock()
        task.status, task.completed_at, task.completed_by, task.result = TaskStatus.COMPLETED, now, user.id, answer
        task.assignee_id = task.assignee_id or user.id
        session.add(Event(application=application, kind="task.completed", actor=user.username,
                          at=now, data={"task": task.id, "element": task.element_id, name: answer}))
        self._run(session, application, workflow, services, allow_deferred=False, actor=user.username)
        return application

    def send_back(self, user: User, task_id: int, to_element: str, reason: str) -> Application:
        """退回: return the workflow to an earlier step of staff; that step's task reappears in
        its queue and this one is withdrawn."""
        with self.sessions() as session, _stale_is_conflict(session, _changed_meanwhile(task_id)):
            task = task_of_clerk(session, user, task_id)
            _may_work_on(task, user)
            application = task.application
            workflow, services = self._load(application)
            spiff_task = _waiting_spiff_task(workflow, task)
            targets = {t.task_spec.bpmn_id: t for t in _earlier_steps(spiff_task)}
            if to_element not in targets:
                raise InvalidInput("cannot send back there", {"to": [f"one of: {', '.join(targets) or 'none'}"]})
            _end_reads(session)
            workflow.reset_from_task_id(targets[to_element].id)
            now = self.clock()
            session.add(Event(application=application, kind="task.sent_back", actor=user.username, at=now,
                              data={"task": task.id, "from": task.element_id, "to": to_element, "reason": reason}))
            self._run(session, application, workflow, services, allow_deferred=False, actor=user.username)
            session.commit()
        return application

    def task_detail(self, user: User, task_id: int) -> dict:
        """A task with the form that completes it and the earlier steps it can be sent back to."""
        with self.sessions() as session:
            task = task_of_clerk(session, user, task_id)
            detail = {"task": task, "form": None, "send_back_to": []}
            if task.status in ACTIVE_TASK:
                workflow, _ = self._load(task.application)
                spiff_task = _waiting_spiff_task(workflow, task)
                detail["form"] = task_forms.describe(task_forms.form_name(spiff_task.task_spec))
                detail["send_back_to"] = [{"element": t.task_spec.bpmn_id, "title": t.task_spec.bpmn_name or ""}
                                          for t in _earlier_steps(spiff_task)]
            return detail

    # --- analysts and admins: incidents -------------------------------------------------

    def incidents(self, user: User, application_id: int | None = None, limit: int = 100) -> list[Incident]:
        _require_staff_of_incidents(user)
        with self.sessions() as session:
            return open_incidents(session, application_id, limit)

    def retry_incident(self, user: User, incident_id: int) -> Application:
        """Run the failed step again — on the matter's newest version when one was deployed
        since (the fix) and the stored state fits it, else on the version it started with.
        The incident is resolved; a new failure opens a new one."""
        _require_staff_of_incidents(user)
        with self.sessions() as session, _stale_is_conflict(session, f"incident {incident_id} was retried meanwhile"):
            incident = session.get(Incident, incident_id)
            if incident is None:
                raise NotFound(f"no incident {incident_id}")
            if incident.status != IncidentStatus.OPEN:
                raise Conflict(f"incident {incident_id} is {incident.status}")
            application, now = incident.application, self.clock()
            workflow, services = self._load_for_retry(session, application)  # ends the reads
            for failed in workflow.get_tasks(state=TaskState.ERROR):
                workflow.reset_from_task_id(failed.id)
            resolve([incident], now, user.username)
            for task in session.scalars(select(Task).where(Task.application_id == application.id,
                                                          Task.element_id == MANUAL_TASK_ELEMENT,
                                                          Task.status.in_(ACTIVE_TASK))):
                task.status = TaskStatus.CANCELLED
            application.status = ApplicationStatus.RUNNING
            session.add(Event(application=application, kind="incident.retried", actor=user.username, at=now,
                              data={"incident": incident.id, "version": application.definition.version}))
            self._run(session, application, workflow, services, allow_deferred=True, actor=user.username)
            session.commit()
        self._hand_over(application)
        return application

    def _load_for_retry(self, session: Session, application: Application) -> tuple[BpmnWorkflow, ServiceTasks]:
        newest = current_definition(session, application.matter_code)
        kept_because = None
        if newest.id != application.definition_id:
            services = ServiceTasks(newest, self.sources, self.clock)
            try:
                workflow = bpmn.load_state(application.workflow, spec_of(newest), services.script_engine())
            except (KeyError, WorkflowException) as exc:  # the new version's elements differ: stay on the old one
                kept_because = type(exc).__name__
            else:
                _end_reads(session)
                application.definition_id, application.definition = newest.id, newest
                return workflow, services
        workflow, services = self._load(application)
        _end_reads(session)
        if kept_because:
            session.add(Event(application=application, kind="incident.version_kept", actor="engine",
                              at=self.clock(), data={"newest": newest.version, "why": kept_because}))
        return workflow, services

    # --- the one place workflows run ----------------------------------------------------

    def _load(self, application: Application) -> tuple[BpmnWorkflow, ServiceTasks]:
        """The stored workflow, on the version of the definition it started with."""
        definition = application.definition
        services = ServiceTasks(definition, self.sources, self.clock)
        return bpmn.load_state(application.workflow, spec_of(definition), services.script_engine()), services

    def _run(self, session: Session, application: Application, workflow: BpmnWorkflow,
             services: ServiceTasks, allow_deferred: bool, actor: str) -> None:
        steps: list[dict] = []
        now = self.clock()

        def before(task) -> None:
            services.must_defer(task, allow_deferred)

        def after(task) -> None:
            try:
                budget.charge(STEPS_PER_TASK)
            except BudgetExceeded as exc:  # a flow that loops for ever: name where it was
                raise WorkflowTaskException(str(exc), task=task) from exc
            if task.task_spec.bpmn_id:
                steps.append({"element": task.task_spec.bpmn_id, "type": type(task.task_spec).__name__})

        application.pending_since = None
        failure: Failure | None = None
        try:
            with bpmn.workflow_clock(self.clock), run_budget() as budget:  # the run's scripts and steps share it
                bpmn.run_engine_steps(workflow, will_complete_task=before, did_complete_task=after)
        except WorkDeferred as deferred:
            application.pending_since = now
            session.add(Event(application=application, kind="work.deferred", actor=actor, at=now,
                              data={"element": deferred.element_id, "sources": deferred.sources}))
        except (WorkflowException, BudgetExceeded, RecursionError) as exc:  # never a 500: an incident
            failure = Failure.of(exc)
        if steps:  # one audit row per run, not one per step: the hot path writes less
            session.add(Event(application=application, kind="steps", actor=actor, at=now,
                              data={"steps": steps[:AUDITED_STEPS],
                                    **({"more": len(steps) - AUDITED_STEPS} if len(steps) > AUDITED_STEPS else {})}))
        # SpiffWorkflow calls a workflow completed when its task iterator finds nothing left —
        # also when the iterator gave up at its depth limit. Completed means an end event ran.
        ended = bpmn.reached_end(workflow)
        if failure is None and not ended and workflow.is_completed():
            failure = Failure(IncidentKind.NO_END_EVENT, workflow.last_task.task_spec.bpmn_id or "",
                              "the workflow stopped with nothing waiting and no end event reached")
        with session.no_autoflush:  # one flush at commit, not one per query in between
            if failure is not None:
                self._fail(session, application, failure, now, actor)
            self._apply_effects(session, application, services.effects, now, actor)
            self._record_state(session, application, workflow, ended, now, actor)

    def _fail(self, session: Session, application: Application, failure: Failure, now: datetime,
              actor: str) -> None:
        """A failed run: an incident for staff, a task "转人工处理" in the department's queue,
        and for the applicant only the neutral notice (no exception text ever reaches them)."""
        application.status = ApplicationStatus.FAILED
        open_incident(session, application, failure.kind, failure.element_id, failure.error, now, actor)
        session.add(Task(application=application, spiff_task_id="", element_id=MANUAL_TASK_ELEMENT,
                         title=MANUAL_TASK_TITLE, candidate_role="clerk", department=application.definition.matter.department,
                         region=application.region, due_at=due_for_new_task(session, self.calendar, application, now),
                         created_at=now))

    def _apply_effects(self, session: Session, application: Application, effects: list[tuple[str, dict]],
                       now: datetime, actor: str) -> None:
        """What service steps change on the application itself: the deadline clock (补正),
        the red tier's fast lane, the materials record (免证办), a false commitment."""
        for operation, params in effects:
            if operation in (CLOCK_PAUSE, CLOCK_RESUME):
                self._apply_clock(session, application, operation, params, now, actor)
            elif operation == FAST_LANE:
                matter = session.get(Matter, application.matter_code)
                application.promised_days = fast_lane_days(matter.promised_days)
                refresh_deadline(session, self.calendar, application, now)
                session.add(Event(application=application, kind="credit.fast_lane", actor=actor, at=now,
                                  data={"promised_days": application.promised_days,
                                        "instead_of": matter.promised_days}))
            elif operation == CREDIT_CHECK:  # the history shows tier, debtor status and their sources
                session.add(Event(application=application, kind="credit.checked", actor=actor, at=now,
                                  data=params))
            elif operation == FETCH_MATERIALS:
                application.materials = params
                session.add(Event(application=application, kind="materials.fetched", actor=actor, at=now,
                                  data=params))
            elif operation == FALSE_COMMITMENT:
                report_false_commitment(session, params["subject"], application.id, now)

    def _apply_clock(self, session: Session, application: Application, operation: str, params: dict,
                     now: datetime, actor: str) -> None:
        if operation == CLOCK_PAUSE and not is_paused(application.clock_pauses):
            reason = params.get("reason", "supplement")
            pause_clock(session, self.calendar, application, now, reason if reason in PAUSE_REASONS else "supplement",
                        str(params.get("note", "")), actor)
        elif operation == CLOCK_RESUME and is_paused(application.clock_pauses):
            resume_clock(session, self.calendar, application, now, actor)
        # otherwise it is already in the state asked for (a clerk paused it by hand)

    def _record_state(self, session: Session, application: Application, workflow: BpmnWorkflow,
                      completed: bool, now: datetime, actor: str) -> None:
        application.workflow = bpmn.dump_state(workflow)
        application.updated_at = now
        data = workflow.last_task.data if workflow.last_task else {}
        if "decision" in data:
            application.decision = data["decision"]
        waiting = workflow.get_tasks(state=TaskState.READY, manual=True)
        self._project_tasks(session, application, waiting, now)
        application.timer_due_at = next_timer(workflow, now)
        if application.status == ApplicationStatus.FAILED:
            return
        answer = workflow.data if completed else data  # a finished process's data, or the last step's
        outcome = answer.get(bpmn.OUTCOME_VARIABLE)
        if outcome and outcome != application.outcome:
            self._decide(session, application, outcome, answer.get("result"), now, actor)
        if completed:
            application.status, application.completed_at = ApplicationStatus.COMPLETED, now
            if not _refused_as_held(application):
                application.result = _numbered(application, workflow.data.get("result") or {})
        else:
            application.status = ApplicationStatus.RUNNING if application.pending_since else ApplicationStatus.WAITING

    def _decide(self, session: Session, application: Application, outcome: str, result: dict | None,
                now: datetime, actor: str) -> None:
        """The applicant's answer, the moment the process reaches it — for 告知承诺 that is in
        the submitting request, while the verification still lies ahead; a later failed
        verification turns it into ``revoked``. An approval enters the register of holders
        (one per subject, engine/holdings.py) and gets its result number (engine/numbers.py)."""
        previous, application.outcome, application.result = application.outcome, outcome, dict(result or {})
        extra = {"previous": previous} if previous else {}
        if outcome == "approve":
            extra |= self._grant(session, application, now)
        session.add(Event(application=application, kind="application.decided", actor=actor, at=now,
                          data={"outcome": application.outcome, "result": application.result, **extra}))

    def _grant(self, session: Session, application: Application, now: datetime) -> dict:
        """Register the holding and number the result; a subject someone else's approval
        registered first is refused (or re-issued to), in this same transaction."""
        elements = application.definition.policy
        holding, numbering = HoldingPolicy.of(elements), NumberPolicy.of(elements)
        if holding is None and numbering is None:
            return {}
        held = enrol(session, holding, application, now) if holding else None
        if held is not None and holding.repeat == Repeat.REJECT:
            reason = refusal(held, application.definition.matter.name)
            application.outcome = "reject"
            application.result = {"stage": "holding", "reason": reason}
            application.decision = {**(application.decision or {}), "outcome": "reject",
                                    "reasons": [{"rule": ALREADY_HELD_RULE, "message": reason}]}
            return {"already_held_by": held.tracking_no}
        replaced = {"replaces": held.result_no} if held is not None else {}  # read before the holding changes
        if numbering is not None:
            application.result_no = issue(session, application.matter_code, numbering, local_day(now))
            application.result[numbering.field] = application.result_no
        if holding is not None:
            record_number(session, holding, application, application.result_no)
        return replaced

    def _project_tasks(self, session: Session, application: Application, waiting: list, now: datetime) -> None:
        """Keep the queue index equal to the workflow's READY human tasks."""
        known = {} if application.id is None else {t.spiff_task_id: t for t in session.scalars(  # new: none yet
            select(Task).where(Task.application_id == application.id, Task.status.in_(ACTIVE_TASK)))
            if t.status in ACTIVE_TASK}  # not flushed yet: the one just completed is still 'open' in the database
        matter_department = session.get(Matter, application.matter_code).department
        due_at = due_for_new_task(session, self.calendar, application, now) if waiting else None
        for spiff_task in waiting:
            if str(spiff_task.id) in known:
                continue
            spec = spiff_task.task_spec
            assigned = assignment_of(spec, matter_department)
            task = Task(application=application, spiff_task_id=str(spiff_task.id), element_id=spec.bpmn_id,
                        title=spec.bpmn_name or spec.bpmn_id, candidate_role=assigned.role,
                        department=assigned.department, candidate_users=encode_users(assigned.candidate_users),
                        region=application.region, due_at=due_at, created_at=now)
            assign_named_clerk(session, task, assigned)
            session.add(task)
            session.flush()
            session.add(Event(application=application, kind="task.created", actor="engine", at=now,
                              data={"task": task.id, "element": spec.bpmn_id, "title": task.title,
                                    "department": task.department, "role": assigned.role,
                                    **({"candidate_users": list(assigned.candidate_users)}
                                       if assigned.candidate_users else {}),
                                    **({"assignee": assigned.assignee} if task.assignee_id else {})}))
        still_waiting = {str(t.id) for t in waiting}
        for spiff_id, task in known.items():
            if spiff_id not in still_waiting:
                task.status = TaskStatus.CANCELLED

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


def _numbered(application: Application, result: dict) -> dict:
    """A result with the number the approval was issued (it is issued once, at the decision)."""
    policy = NumberPolicy.of(application.definition.policy)
    return {**result, policy.field: application.result_no} if policy and application.result_no else result


def _refused_as_held(application: Application) -> bool:
    return any(reason.get("rule") == ALREADY_HELD_RULE for reason in (application.decision or {}).get("reasons", []))


def _form_errors(form, data: dict, ignore: set[str]) -> dict[str, list[str]]:
    """The form's errors on the data as submitted, but for the fields in ``ignore``."""
    try:
        form.validate(data)
    except FormValidationError as exc:
        return {name: messages for name, messages in exc.errors.items() if name not in ignore}
    return {}


def request_digest(matter_code: str, data: dict) -> str:
    """What an ``Idempotency-Key`` stands for: the matter and the form data as submitted."""
    canonical = json.dumps({"matter": matter_code, "data": data}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _by_idempotency_key(session: Session, applicant_id: int, key: str | None, digest: str) -> Application | None:
    """The application first submitted under the key; the same key with another body is a
    client's mistake that would otherwise lose the second application silently: refused."""
    if not key:
        return None
    existing = session.scalars(select(Application).where(Application.applicant_id == applicant_id,
                                                         Application.idempotency_key == key)).first()
    if existing is not None and existing.request_digest not in (None, digest):
        raise InvalidInput("Idempotency-Key reused for another request", {"Idempotency-Key": [
            f"this key was used for application {existing.tracking_no} with other data; "
            "use a new key for a new application"]})
    return existing


def _may_read(user: User, application: Application, session: Session) -> bool:
    """Applicants see their own and those made in their name, agents what they submitted;
    supervisors their region's; clerks the applications their department has a task in, in
    their region; analysts and admins every one."""
    if user.role in ("supervisor", "admin", "analyst"):
        return regions.sees_region(user, application.region)
    if user.role in SUBMITTERS:
        return subjects.is_theirs(session, user, application)
    return session.scalars(select(Task.id).where(Task.application_id == application.id,
                                                 Task.department == user.department,
                                                 Task.region == user.region).limit(1)).first() is not None


def _require_staff_of_incidents(user: User) -> None:
    if user.role not in ("analyst", "admin"):
        raise Forbidden("incidents are for analysts and admins")


def _require_clerk(user: User) -> None:
    if user.role != "clerk":
        raise Forbidden("only clerks work task queues")


def task_of_clerk(session: Session, user: User, task_id: int) -> Task:
    """A task of the clerk's own department and region; any other is reported as not found."""
    _require_clerk(user)
    task = session.get(Task, task_id)
    if task is None or (task.department, task.region) != (user.department, user.region) or not may_take(task, user):
        raise NotFound(f"no task {task_id} in your queue")
    return task


def _may_work_on(task: Task, user: User) -> None:
    """An open task, or one this clerk holds; anything else is someone else's or done."""
    if task.status not in ACTIVE_TASK or (task.status == TaskStatus.CLAIMED and task.assignee_id != user.id):
        raise _taken(task)


def _taken(task: Task) -> Conflict:
    return Conflict(f"task {task.id} is {task.status}" + (" by someone else" if task.assignee_id else ""))


def _waiting_spiff_task(workflow: BpmnWorkflow, task: Task):
    """The workflow's READY task behind a queue task, or Conflict: someone else's action
    (a send-back, a completion) committed since the task row was read moved it on, or
    dropped it from the tree (SpiffWorkflow raises for an id it no longer holds)."""
    try:
        spiff_task = workflow.get_task_from_id(UUID(task.spiff_task_id))
    except TaskNotFoundException:
        spiff_task = None
    if spiff_task is None or spiff_task.state != TaskState.READY:
        raise Conflict(f"task {task.id} is no longer waiting")
    return spiff_task


def _earlier_steps(spiff_task) -> list:
    """Completed staff steps on the way to this task, nearest first, one per element:
    where a send-back (退回) may return the workflow."""
    steps, seen = [], {spiff_task.task_spec.bpmn_id}
    node = spiff_task.parent
    while node is not None:
        spec = node.task_spec
        if (getattr(spec, "manual", False) and node.state == TaskState.COMPLETED
                and spec.lane != APPLICANT_LANE and spec.bpmn_id not in seen):
            seen.add(spec.bpmn_id)
            steps.append(node)
        node = node.parent
    return steps


def _end_reads(session: Session) -> None:
    """End the transaction that read what a change needs, before the workflow runs: the
    run's data-sharing lookups (seconds, for a slow registry) must not hold SQLite's write
    lock, which its BEGIN IMMEDIATE takes with the first read. Nothing is written yet; the
    objects read stay usable, and their version columns make the write that follows fail
    if someone else changed them meanwhile. A PostgreSQL transaction that has only read
    holds no lock (writes are flushed at commit), so there it goes on: ending it would
    cost three round trips (COMMIT, the pool's ping, BEGIN) for nothing."""
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("_end_reads called with unsaved changes: they would be committed early")
    if session.get_bind().dialect.name == "sqlite":
        session.commit()


def _second_approval(task: Task, user: User, answer: dict, now: datetime, session: Session) -> bool:
    """四眼: a grant above the matter's threshold is approved by two clerks. The first
    approval is recorded on the task, which returns to the queue; True once a different
    clerk approves the same answer (or refuses it)."""
    first = (task.result or {}).get(FIRST_APPROVAL)
    if first is None:
        task.status, task.assignee_id = TaskStatus.OPEN, None
        task.result = {FIRST_APPROVAL: {**answer, "by": user.username}}
        session.add(Event(application_id=task.application_id, kind="task.first_approval", actor=user.username,
                          at=now, data={"task": task.id, "answer": answer}))
        return False
    if first["by"] == user.username:
        raise Conflict(f"task {task.id} needs a second approver (四眼): another clerk of {task.department}")
    if answer["outcome"] != "approve":  # the second clerk may refuse what the first approved
        return True
    if first.get(AMOUNT) != answer.get(AMOUNT):
        raise InvalidInput("differs from the first approval", {AMOUNT: [
            f"第一位审批人核定 {first.get(AMOUNT)}，第二位审批须一致或退回 the second approval must agree with the first"]})
    return True


def _check_materials(session: Session, application: Application, form: str, answer: dict, data: dict) -> None:
    """一次性告知 names materials of the matter's catalogue entry; 补正 hands in every one asked
    for (by the window, or by materials.fetch when the e-licence library lacks them)."""
    if form == "intake" and answer["outcome"] == "supplement":
        known = {m["name"] for m in application.definition.policy.get("materials", [])}
        unknown = [name for name in answer["missing_materials"] if name not in known]
        if unknown:
            raise InvalidInput("not materials of this matter", {"missing_materials": [
                f"{', '.join(unknown)} 不是本事项的申请材料; materials: {', '.join(sorted(known))}"]})
    if form == "supplement":
        requested = ((data.get("intake") or {}).get("missing_materials")  # 一次性告知 at the window
                     or (data.get("materials") or {}).get("requested", []))  # 免证办: not in the library
        handed_in = {m["name"] for m in answer["materials"]}
        missing = [name for name in requested if name not in handed_in]
        if missing:
            raise InvalidInput("materials still missing", {"materials": [f"仍缺 still missing: {', '.join(missing)}"]})
        if extra := sorted(handed_in - set(requested)) if requested else []:
            raise InvalidInput("materials not asked for", {"materials": [f"未要求补正 not asked for: {', '.join(extra)}"]})


def _changed_meanwhile(task_id: int) -> str:
    return f"task {task_id} was changed by someone else meanwhile (claimed, released, delegated, completed or sent back); reload it"


@contextmanager
def _stale_is_conflict(session: Session, message: str) -> Iterator[None]:
    """A flush or commit that finds the application's version moved on means someone
    else's change won: undo ours and say so (409)."""
    try:
        yield
    except StaleDataError as exc:
        session.rollback()
        raise Conflict(message) from exc
