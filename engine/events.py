"""The audit log's vocabulary (电子监察): every kind of event the engine appends, and the
one way to append one.

People's own account changes keep their enums beside the rules that make them
(``AccountEvent``, ``IdentityEvent``, ``CompanyRoleEvent``, ``AuthorisationEvent``); every
other event — an application's life, its tasks, deadlines, incidents, ratings — is named
here. ``event.kind`` holds up to 40 characters.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from engine.store.models import Application, Event


class EventKind(StrEnum):
    SUBMITTED = "application.submitted"
    DECIDED = "application.decided"
    STEPS = "steps"  # the BPMN elements one run passed, one row per run
    WORK_DEFERRED = "work.deferred"
    TASK_CREATED = "task.created"
    TASK_CLAIMED = "task.claimed"
    TASK_RELEASED = "task.released"
    TASK_DELEGATED = "task.delegated"
    TASK_COMPLETED = "task.completed"
    TASK_FIRST_APPROVAL = "task.first_approval"
    TASK_SENT_BACK = "task.sent_back"
    CLOCK_PAUSED = "clock.paused"
    CLOCK_RESUMED = "clock.resumed"
    CREDIT_CHECKED = "credit.checked"
    CREDIT_FAST_LANE = "credit.fast_lane"
    CREDIT_LOWERED = "credit.lowered"
    MATERIALS_FETCHED = "materials.fetched"
    INCIDENT_OPENED = "incident.opened"
    INCIDENT_RETRIED = "incident.retried"
    INCIDENT_VERSION_KEPT = "incident.version_kept"
    DEFINITION_DEPLOYED = "definition.deployed"
    NOTIFICATION_QUEUED = "notification.queued"
    SUPERVISION_ALERT = "supervision.alert"
    RATING = "rating"
    RECTIFICATION_OPENED = "rectification.opened"
    RECTIFICATION_RESOLVED = "rectification.resolved"
    PERSONAL_DATA_VIEWED = "personal_data.viewed"
    BUNDLE_MEMBER_STARTED = "bundle.member_started"  # 一件事: a member application started
    BUNDLE_MEMBER_NOT_STARTED = "bundle.member_not_started"  # … could not start (its form, its subject)
    BUNDLE_MEMBER_ANSWERED = "bundle.member_answered"  # a member step completed with the member's answer
    BUNDLE_STOPPED = "bundle.stopped"  # a refusal stopped the rest (on_refusal: stop)
    MEMBER_WITHDRAWN = "application.withdrawn"  # a member stopped by its bundle
    LOGIN = "login"
    LOGIN_FAILED = "login.failed"


def record(session: Session, kind: StrEnum, actor: str, at: datetime | None = None, data: dict | None = None,
           application: Application | None = None, application_id: int | None = None) -> Event:
    """Append one event. ``application`` (an object not yet flushed) lets a new application
    and its first events reach the database in one flush; otherwise ``application_id``."""
    event = Event(kind=str(kind), actor=actor[:64], data=data or {})
    if at is not None:
        event.at = at
    if application is not None:
        event.application = application
    else:
        event.application_id = application_id
    session.add(event)
    return event
