"""Incidents (Camunda Cockpit's model): a run of an application's workflow that failed.

A failed run never ends an application as ``completed`` and never shows the applicant an
exception: the application turns ``failed``, an incident row records where and why (for
analysts and admins), the matter's department gets a task "转人工处理" in its queue, and the
applicant reads :data:`APPLICANT_NOTICE`. Once the definition is fixed (a new version
deployed), an analyst retries the incident: the workflow resumes from the failed step,
on the newest version when its stored state fits it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.access import require_incident_staff
from engine.definitions.versions import current_definition
from engine.errors import Conflict, NotFound
from engine.events import EventKind, record
from engine.store.models import ACTIVE_TASK, Application, ApplicationStatus, Incident, Task, TaskStatus, User
from engine.running.transaction import end_reads, stale_is_conflict
from engine.sandbox import BudgetExceeded

if TYPE_CHECKING:  # the run imports this module to open incidents
    from engine.running.dispatch import ServiceTasks
    from engine.running.run import Runner

APPLICANT_NOTICE = "您的申请在系统自动办理中遇到问题，已转人工处理，工作人员会尽快办理，无需重新提交。"
MANUAL_TASK_ELEMENT = "incident"  # the element id of the "转人工处理" task of a failed application
MANUAL_TASK_TITLE = "转人工处理（系统自动办理失败）"
MAX_ERROR_CHARS = 2_000


class IncidentKind(StrEnum):
    SCRIPT_ERROR = "script_error"  # a script, condition or service step raised
    BUDGET_EXCEEDED = "budget_exceeded"  # the sandbox's step or size budget, or the run's step budget
    NO_END_EVENT = "no_end_event"  # the workflow stopped with nothing waiting and no end event reached


class IncidentStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Failure:
    """Why a run stopped: what kind, at which element, and the technical error (staff only)."""

    kind: IncidentKind
    element_id: str
    error: str

    @classmethod
    def of(cls, exc: Exception) -> Failure:
        """From what stopped the run (usually SpiffWorkflow's exception wrapping the script's):
        the element it names, and a budget breach told apart from other errors."""
        task_spec = getattr(exc, "task_spec", None) or getattr(getattr(exc, "task", None), "task_spec", None)
        element = getattr(task_spec, "bpmn_id", None) or ""
        cause = exc.__cause__ if isinstance(exc, WorkflowException) and exc.__cause__ is not None else exc
        kind = IncidentKind.BUDGET_EXCEEDED if isinstance(cause, BudgetExceeded) else IncidentKind.SCRIPT_ERROR
        return cls(kind, element, str(exc) if cause is exc else f"{type(cause).__name__}: {cause} ({exc})")


def open_incident(session: Session, application: Application, kind: IncidentKind, element_id: str,
                  error: str, now: datetime, actor: str) -> Incident:
    """Record the failure; the caller marks the application failed in the same transaction."""
    incident = Incident(application=application, matter_code=application.matter_code,
                        definition_version=application.definition.version, element_id=element_id or "",
                        kind=kind, error=error[:MAX_ERROR_CHARS], status=IncidentStatus.OPEN, created_at=now)
    session.add(incident)
    record(session, EventKind.INCIDENT_OPENED, actor, now, {"kind": kind.value, "element": element_id or ""},
           application=application)
    return incident


def open_incidents(session: Session, application_id: int | None = None, limit: int = 100) -> list[Incident]:
    statement = select(Incident).where(Incident.status == IncidentStatus.OPEN)
    if application_id is not None:
        statement = statement.where(Incident.application_id == application_id)
    return list(session.scalars(statement.order_by(Incident.created_at, Incident.id).limit(limit)))


def resolve(incidents: list[Incident], now: datetime, actor: str) -> None:
    for incident in incidents:
        incident.status, incident.resolved_at, incident.resolved_by = IncidentStatus.RESOLVED, now, actor


@dataclass
class Incidents:
    """The analysts' and admins' use cases: list open incidents, retry one."""

    sessions: sessionmaker[Session]
    runner: Runner

    def open(self, user: User, application_id: int | None = None, limit: int = 100) -> list[Incident]:
        require_incident_staff(user)
        with self.sessions() as session:
            return open_incidents(session, application_id, limit)

    def retry(self, user: User, incident_id: int) -> Application:
        """Run the failed step again — on the matter's newest version when one was deployed
        since (the fix) and the stored state fits it, else on the version it started with.
        The incident is resolved; a new failure opens a new one."""
        require_incident_staff(user)
        with self.sessions() as session, stale_is_conflict(session, f"incident {incident_id} was retried meanwhile"):
            incident = session.get(Incident, incident_id)
            if incident is None:
                raise NotFound(f"no incident {incident_id}")
            if incident.status != IncidentStatus.OPEN:
                raise Conflict(f"incident {incident_id} is {incident.status}")
            application, now = incident.application, self.runner.clock()
            workflow, service_tasks = self._load_for_retry(session, application)  # ends the reads
            for failed in workflow.get_tasks(state=TaskState.ERROR):
                workflow.reset_from_task_id(failed.id)
            resolve([incident], now, user.username)
            for task in session.scalars(select(Task).where(Task.application_id == application.id,
                                                          Task.element_id == MANUAL_TASK_ELEMENT,
                                                          Task.status.in_(ACTIVE_TASK))):
                task.status = TaskStatus.CANCELLED
            application.status = ApplicationStatus.RUNNING
            record(session, EventKind.INCIDENT_RETRIED, user.username, now, application=application,
                   data={"incident": incident.id, "version": application.definition.version})
            self.runner.run(session, application, workflow, service_tasks, allow_deferred=True, actor=user.username)
            session.commit()
        self.runner.hand_over(application)
        return application

    def _load_for_retry(self, session: Session, application: Application) -> tuple[BpmnWorkflow, ServiceTasks]:
        """Loads what the run needs, then ends the reads (engine/running/run.py ``end_reads``)."""
        newest = current_definition(session, application.matter_code)
        kept_because = None
        if newest.id != application.definition_id:
            try:
                loaded = self.runner.load(application, newest)
            except (KeyError, WorkflowException) as exc:  # the new version's elements differ: stay on the old one
                kept_because = type(exc).__name__
            else:
                end_reads(session)
                application.definition_id, application.definition = newest.id, newest
                return loaded
        loaded = self.runner.load(application)
        end_reads(session)
        if kept_because:
            record(session, EventKind.INCIDENT_VERSION_KEPT, "engine", self.runner.clock(), application=application,
                   data={"newest": newest.version, "why": kept_because})
        return loaded
