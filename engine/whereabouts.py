"""Where an application is on its process diagram (办件进度): the BPMN of the version it runs
on, the elements where it is now and those it has passed — what the applicant's page and
the clerk's case page draw. Only for whoever may read the application (engine/access.py);
anyone else is "not found".
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import may_read
from engine.errors import NotFound
from engine.events import EventKind
from engine.store.models import ACTIVE_TASK, Application, Event, Task, User


@dataclass(frozen=True)
class Whereabouts:
    """An application on its diagram: the BPMN of the version it runs on, the elements where
    it is now (a person's step waiting, work waiting for a source) and those it has passed."""

    reference: str
    matter: str
    definition_version: int
    bpmn: str
    current: list[str]
    done: list[str]


def whereabouts(session: Session, user: User, application_id: int) -> Whereabouts:
    """Where the application is, for whoever may read it (engine/access.py); else NotFound."""
    application = session.get(Application, application_id)
    if application is None or not may_read(user, application, session):
        raise NotFound("no such application")
    current = list(dict.fromkeys(session.scalars(select(Task.element_id).where(
        Task.application_id == application_id, Task.status.in_(ACTIVE_TASK)).order_by(Task.id))))
    done: dict[str, None] = {}
    events = session.scalars(select(Event).where(
        Event.application_id == application_id,
        Event.kind.in_([EventKind.STEPS, EventKind.TASK_COMPLETED, EventKind.WORK_DEFERRED])).order_by(Event.id))
    deferred = None
    for event in events:
        if event.kind == EventKind.STEPS:
            done.update((step["element"], None) for step in event.data.get("steps", []) if step.get("element"))
        elif event.kind == EventKind.TASK_COMPLETED and event.data.get("element"):
            done[event.data["element"]] = None
        elif event.kind == EventKind.WORK_DEFERRED:
            deferred = event.data.get("element")
    if application.pending_since is not None and deferred:
        current.append(deferred)
    definition = application.definition
    return Whereabouts(application.public_ref, application.matter_code, definition.version, definition.bpmn,
                       current, [element for element in done if element not in current])
