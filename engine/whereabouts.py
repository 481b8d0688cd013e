"""Where an application is on its process diagram (办件进度): the BPMN of the version it runs
on, the elements where it is now and those it has passed — what the applicant's page and
the clerk's case page draw, with each lane named for people (the files name lanes by the
department code the engine assigns tasks with). Only for whoever may read the application
(engine/access.py); anyone else is "not found".
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import words
from engine.access import may_read
from engine.definitions.structure import BPMN_NS
from engine.errors import NotFound
from engine.events import EventKind
from engine.people.assignment import MATTER_DEPARTMENT_LANE
from engine.people.organisation import read_departments
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
    return Whereabouts(application.public_ref, application.matter_code, definition.version,
                       lanes_named(definition.bpmn, definition.matter.department),
                       current, [element for element in done if element not in current])


def lanes_named(bpmn: str, matter_department: str) -> str:
    """The BPMN with each lane named as a person reads it: the department's name, 申请人, the
    matter's own department for ``department``; a lane of any other name keeps it."""
    departments = read_departments()
    names = {**departments, **words.LANE, MATTER_DEPARTMENT_LANE: departments.get(matter_department, matter_department)}
    root = etree.fromstring(bpmn.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        if lane.get("name") in names:
            lane.set("name", names[lane.get("name")])
    return etree.tostring(root, encoding="unicode")
