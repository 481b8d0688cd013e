"""Tasks (待办), the clerk's use cases: the queue, claim, release, delegate (转办), complete
(受理, 审核, 出件…), send back (退回), and a task's detail.

Every change is one transaction guarded by the application's and the task's version: of two
clerks acting on one task, one wins and the other gets Conflict with nothing of theirs
stored. Completing a task answers its form, keeps the answer under the task's element id
(``answers``), runs the workflow on (engine/running/run.py) and hands pending work over.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from engine.bundles.policy import member_of
from engine.definitions import task_forms
from engine.access import may_work_on, require_clerk, taken, task_of_clerk
from engine.people.assignment import APPLICANT_LANE, offered_to
from engine.errors import Conflict, InvalidInput, NotFound
from engine.events import EventKind, record
from engine.policy.grants import FIRST_APPROVAL, GrantPolicy, second_approval
from engine.store.models import ACTIVE_TASK, Application, Matter, ServiceDefinition, Task, TaskStatus, User, as_utc
from engine.store.registries import CompanyRecord, RegistryPerson
from engine.oversight.deadlines import Deadline, colour_at
from engine.people.organisation import department_name
from engine.people.subjects import SubjectKind
from engine.running.compiled import compiled, spec_of
from engine.running.workflow import restored_specs
from forms.personal import PersonalKind
from engine.running.run import Runner
from engine.running.transaction import end_reads, stale_is_conflict

ALL_ACTIVE = "active"  # the queue filter for open or claimed


@dataclass(frozen=True)
class QueueQuery:
    """Filters and order of a clerk's queue listing."""

    status: str = ALL_ACTIVE  # open | claimed | active (open or claimed) | completed
    matter: str | None = None
    applicant: str | None = None  # the applicant's username
    due_before: datetime | None = None
    mine: bool = False
    sort: str = "due_at"  # due_at | -due_at | created_at | -created_at
    limit: int = 100
    offset: int = 0  # rows skipped: a page after the first


@dataclass
class Tasks:
    sessions: sessionmaker[Session]
    runner: Runner

    def queue(self, user: User, query: QueueQuery | None = None) -> list[LabelledTask]:
        """The clerk's department queue: one indexed query on the task table, joined to each
        row's application, matter and applicant for their names (one query for the page, never
        a workflow read); each task with the names beside it (``LabelledTask``)."""
        require_clerk(user)
        query = query or QueueQuery()
        statuses = ACTIVE_TASK if query.status == ALL_ACTIVE else (query.status,)
        statement = _labelled(select(Task)).where(
            Task.department == user.department, Task.region == user.region,
            Task.status.in_(statuses), Task.candidate_role == "clerk", offered_to(user))
        if query.matter:
            statement = statement.where(Application.matter_code == query.matter)
        if query.applicant:  # the applying account, or the name the rows show (whom it is for)
            statement = statement.where(or_(_APPLICANT.username == query.applicant, APPLICANT_NAME == query.applicant))
        if query.due_before:
            statement = statement.where(Task.due_at < query.due_before)
        if query.mine:
            statement = statement.where(Task.assignee_id == user.id)
        column = getattr(Task, query.sort.lstrip("-"))
        order = column.desc() if query.sort.startswith("-") else column
        with self.sessions() as session:
            rows = session.execute(statement.order_by(order, Task.id).limit(query.limit).offset(query.offset)).all()
            return [label(session, row, self.runner.clock()) for row in rows]

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

    def claim(self, user: User, task_id: int) -> Task:
        with self.sessions() as session, stale_is_conflict(session, _changed_meanwhile(task_id)):
            task = task_of_clerk(session, user, task_id)
            if task.status == TaskStatus.CLAIMED and task.assignee_id == user.id:
                return task
            if task.status != TaskStatus.OPEN:
                raise taken(task)
            task.status, task.assignee_id = TaskStatus.CLAIMED, user.id
            self._record(session, EventKind.TASK_CLAIMED, user, task)
            session.commit()
            return task

    def release(self, user: User, task_id: int) -> Task:
        with self.sessions() as session, stale_is_conflict(session, _changed_meanwhile(task_id)):
            task = task_of_clerk(session, user, task_id)
            if task.status != TaskStatus.CLAIMED or task.assignee_id != user.id:
                raise Conflict(f"该任务不是您认领的 (task {task_id} is not claimed by you)")
            task.status, task.assignee_id = TaskStatus.OPEN, None
            self._record(session, EventKind.TASK_RELEASED, user, task)
            session.commit()
            return task

    def delegate(self, user: User, task_id: int, colleague: str) -> Task:
        """Hand a task I hold (or an open one) to a clerk of the same department (转办)."""
        with self.sessions() as session, stale_is_conflict(session, _changed_meanwhile(task_id)):
            task = task_of_clerk(session, user, task_id)
            target = session.scalars(select(User).where(User.username == colleague)).first()
            if target is None or target.role != "clerk" or (target.department, target.region) != (
                    user.department, user.region):
                raise InvalidInput("no such colleague", {"to": [
                    f"本部门（{department_name(user.department)}）没有账号为“{colleague}”的工作人员"]})
            may_work_on(task, user)
            if target.id == user.id:
                raise InvalidInput("one cannot delegate to oneself", {"to": ["不能转办给自己"]})
            task.status, task.assignee_id = TaskStatus.CLAIMED, target.id
            self._record(session, EventKind.TASK_DELEGATED, user, task, to=target.username)
            session.commit()
            return task

    def complete(self, user: User, task_id: int, answer: dict) -> Application:
        """Complete the task with its form (审核, 受理, 出件…) and advance the workflow, once:
        the loser of two concurrent completions gets Conflict and nothing of theirs is stored."""
        with self.sessions() as session, stale_is_conflict(session, _changed_meanwhile(task_id)):
            task = task_of_clerk(session, user, task_id)
            may_work_on(task, user)
            application = answer_task(self.runner, session, task, user, answer)
            session.commit()
        self.runner.hand_over(application)
        return application

    def send_back(self, user: User, task_id: int, to_element: str, reason: str) -> Application:
        """退回: return the workflow to an earlier step of staff; that step's task reappears in
        its queue and this one is withdrawn. Work the run leaves pending goes to the queue."""
        with self.sessions() as session, stale_is_conflict(session, _changed_meanwhile(task_id)):
            task = task_of_clerk(session, user, task_id)
            may_work_on(task, user)
            application = task.application
            workflow, service_tasks = self.runner.load(application)
            spiff_task = waiting_spiff_task(workflow, task)
            targets = {t.task_spec.bpmn_id: t for t in earlier_steps(spiff_task)}
            if to_element not in targets:
                raise InvalidInput("cannot send back there", {"to": [f"one of: {', '.join(targets) or 'none'}"]})
            end_reads(session)
            workflow.reset_from_task_id(targets[to_element].id)
            self._record(session, EventKind.TASK_SENT_BACK, user, task,
                         **{"from": task.element_id, "to": to_element, "reason": reason})
            self.runner.run(session, application, workflow, service_tasks, allow_deferred=False, actor=user.username)
            session.commit()
        self.runner.hand_over(application)
        return application

    def detail(self, user: User, task_id: int) -> TaskDetail:
        """A task (with its names, as the queue lists it) with the form that completes it, the
        data the form opens with (``prefill``) and the earlier steps it can be sent back to."""
        with self.sessions() as session:
            task_of_clerk(session, user, task_id)
            task = label(session, session.execute(_labelled(select(Task)).where(Task.id == task_id)).one(),
                         self.runner.clock())
            if task.status not in ACTIVE_TASK or not task.spiff_task_id:  # done, or 转人工处理 of a failed run
                return TaskDetail(task)
            workflow, _ = self.runner.load(task.application)
            spiff_task = waiting_spiff_task(workflow, task)
            return TaskDetail(task, task_forms.describe(task.form_name), prefill(task.application, task.form_name),
                              [{"element": t.task_spec.bpmn_id, "title": t.task_spec.bpmn_name or ""}
                               for t in earlier_steps(spiff_task)])

    def _record(self, session: Session, kind: EventKind, user: User, task: Task, **data) -> None:
        record(session, kind, user.username, self.runner.clock(), {"task": task.id, **data},
               application_id=task.application_id)


# --- what a clerk reads of a task besides the task row ----------------------------------

_APPLICANT = aliased(User)
APPLICANT_NAME = func.coalesce(RegistryPerson.name, CompanyRecord.name, _APPLICANT.full_name, _APPLICANT.display_name)


def _labelled(statement: Select) -> Select:
    """``statement`` (of tasks) with the columns ``label`` reads: the matter's name, whom the
    application is for (the registry's name for its subject, else the applying account's), the
    definition (for the task's form) and the application's deadline columns (for its colour)."""
    return (statement.add_columns(Matter.name, APPLICANT_NAME, Application.definition_id, Application.yellow_at,
                                  Application.due_at, Application.colour)
            .join(Application, Application.id == Task.application_id)
            .join(Matter, Matter.code == Application.matter_code)
            .join(_APPLICANT, _APPLICANT.id == Application.applicant_id)
            .outerjoin(RegistryPerson, (Application.subject_kind == SubjectKind.PERSON)
                       & (RegistryPerson.id_number == Application.subject_id))
            .outerjoin(CompanyRecord, (Application.subject_kind == SubjectKind.COMPANY)
                       & (CompanyRecord.credit_code == Application.subject_id)))


@dataclass(frozen=True)
class LabelledTask:
    """A task as a clerk reads it in a queue: the task row (its columns are read through,
    so a schema of tasks dumps either) and what stands beside it — ``matter_name``,
    ``applicant_name``, ``department_name``, the deadline ``colour`` of its application now
    (电子监察: green / yellow / red; frozen while the clock is paused) and ``form_name``."""

    task: Task
    matter_name: str
    applicant_name: str | None
    department_name: str
    colour: str
    form_name: str

    def __getattr__(self, name: str):
        return getattr(self.task, name)


@dataclass(frozen=True)
class TaskDetail:
    """A task opened to be worked on: the ``LabelledTask`` (read through), the form that
    completes it, the data the form opens with and the earlier steps it can be sent back to
    (none of them once it is done)."""

    task: LabelledTask
    form: dict | None = None
    prefill: dict = field(default_factory=dict)
    send_back_to: list[dict] = field(default_factory=list)

    def __getattr__(self, name: str):
        return getattr(self.task, name)


def label(session: Session, row, now: datetime) -> LabelledTask:
    """The ``LabelledTask`` of a ``_labelled`` row."""
    task, matter_name, applicant_name, definition_id, yellow_at, due_at, colour = row
    deadline = Deadline(yellow_at=as_utc(yellow_at), due_at=as_utc(due_at)) if yellow_at and due_at else None
    form_name = _task_forms(session.get(ServiceDefinition, definition_id)).get(task.element_id, task_forms.DEFAULT_FORM)
    return LabelledTask(task, matter_name, applicant_name, department_name(task.department),
                        colour_at(deadline, now, colour), form_name)


_FORMS_BY_CHECKSUM: dict[str, dict[str, str]] = {}  # a deployed version never changes


def _task_forms(definition: ServiceDefinition) -> dict[str, str]:
    """Each user task of the definition (its called processes' too) -> the form it declares."""
    found = _FORMS_BY_CHECKSUM.get(definition.checksum)
    if found is None:
        spec, called = restored_specs(spec_of(definition))
        found = _FORMS_BY_CHECKSUM[definition.checksum] = {
            task_spec.bpmn_id: task_forms.form_name(task_spec)
            for process in (spec, *called.values()) for task_spec in process.task_specs.values()
            if getattr(task_spec, "manual", False) and task_spec.bpmn_id}
    return found


DELIVERY_CHOICE = "delivery_method"  # an application form's answer: how the applicant wants the result (pickup | mail)


def prefill(application: Application, form: str) -> dict:
    """The data a task's form opens with: the intake form's choice of missing materials (the
    matter's materials) and, for 出件, the applicant's address (the first address the
    application's form declares and the applicant gave) and their choice of pickup or mail."""
    if form == "intake":
        return {"matter_materials": [{"label": m["name"], "value": m["name"]}
                                     for m in application.definition.policy.get("materials", [])]}
    if form == "delivery":
        answers = application.form_data
        addresses = [answers[key] for key, kind in compiled(application.definition).form.personal.items()
                     if kind == PersonalKind.ADDRESS and isinstance(answers.get(key), str) and answers[key].strip()]
        data = {"address": addresses[0]} if addresses else {}
        if answers.get(DELIVERY_CHOICE) in ("pickup", "mail"):
            data["method"] = answers[DELIVERY_CHOICE]
        return data
    return {}


def answer_task(runner: Runner, session: Session, task: Task, user: User, answer: dict) -> Application:
    """Validate the answer by the task's form and the matter's policy (materials, grant,
    四眼), store it under the task's element id, and run the workflow on."""
    application = task.application
    workflow, service_tasks = runner.load(application)
    spiff_task = waiting_spiff_task(workflow, task)
    name = task_forms.form_name(spiff_task.task_spec)
    answer = task_forms.validate_answer(name, answer)
    _check_materials(application, name, answer, spiff_task.data)
    grant = GrantPolicy.of(application.definition.policy, compiled(application.definition).ruleset)
    grant.check(answer)
    end_reads(session)
    if (grant.needs_second_approver(answer) or FIRST_APPROVAL in (task.result or {})) \
            and not second_approval(task, user, answer, runner.clock(), session):
        return application  # the first of two approvals: the task waits for a colleague
    spiff_task.data[name] = answer  # a new dict, not the inherited one: parallel branches merge at the join
    spiff_task.data[task_forms.ANSWERS] = {**spiff_task.data.get(task_forms.ANSWERS, {}), task.element_id: answer}
    if name == "supplement" and application.materials is not None:  # 免证办 record: what came in by hand
        application.materials = {**application.materials, "handed_in": [
            *application.materials.get("handed_in", []), *(m["name"] for m in answer["materials"])]}
    spiff_task.run()
    now = runner.clock()
    task.status, task.completed_at, task.completed_by, task.result = TaskStatus.COMPLETED, now, user.id, answer
    task.assignee_id = task.assignee_id or user.id
    record(session, EventKind.TASK_COMPLETED, user.username, now, application=application,
           data={"task": task.id, "element": task.element_id, name: answer})
    runner.run(session, application, workflow, service_tasks, allow_deferred=False, actor=user.username)
    return application


def waiting_spiff_task(workflow: BpmnWorkflow, task: Task):
    """The workflow's READY task behind a queue task, or Conflict: someone else's action
    (a send-back, a completion) committed since the task row was read moved it on, or
    dropped it from the tree (SpiffWorkflow raises for an id it no longer holds)."""
    if not task.spiff_task_id:  # 转人工处理 of a failed run: no workflow step behind it (engine/oversight/incidents.py)
        raise Conflict(f"该任务是系统异常后的人工处理，待分析员修复后由系统继续办理 (task {task.id} has no workflow step)")
    try:
        spiff_task = workflow.get_task_from_id(UUID(task.spiff_task_id))
    except TaskNotFoundException:
        spiff_task = None
    if spiff_task is None or spiff_task.state != TaskState.READY:
        raise Conflict(f"该任务已不在等待办理 (task {task.id} is no longer waiting)")
    return spiff_task


def earlier_steps(spiff_task) -> list:
    """Completed staff steps on the way to this task, nearest first, one per element:
    where a send-back (退回) may return the workflow."""
    steps, seen = [], {spiff_task.task_spec.bpmn_id}
    node = spiff_task.parent
    while node is not None:
        spec = node.task_spec
        if (getattr(spec, "manual", False) and node.state == TaskState.COMPLETED and not member_of(spec)
                and spec.lane != APPLICANT_LANE and spec.bpmn_id not in seen):
            seen.add(spec.bpmn_id)
            steps.append(node)
        node = node.parent
    return steps


def _check_materials(application: Application, form: str, answer: dict, data: dict) -> None:
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
    return (f"task {task_id} was changed by someone else meanwhile (claimed, released, delegated, completed or "
            "sent back); reload it")
