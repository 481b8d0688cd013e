"""四减 (four reductions): for every matter and bundle, the pre-reform figures the catalogue
records (``baseline``) beside today's — time, steps, materials, trips.

- **time** (减时间): the legal and promised limits, and the measured handling time in
  working days (average and 90th percentile) from each finished application's audit
  events, submission (``application.submitted``) to answer (``application.decided``);
  the same day counts 0 (即收即办).
- **steps** (减环节): the staff steps the BPMN has (user and manual tasks not the
  applicant's; a bundle adds its members'), and the staff tasks each finished application
  measured completed.
- **materials** (减材料): the materials the catalogue requires in every case, and what
  applicants measured handed in: materials only the applicant can give (source
  ``applicant``) plus any 免证办 could not fetch and had to ask for (``handed_in``).
- **trips** (减跑动): visits the handling depth requires — 0 for 全程网办, otherwise 1
  (最多跑一次) — and the visits measured: deliveries picked up at a window.

A bundle's figures count its members': its applications' members' tasks, materials and
visits; its baseline is its own, or the sum of its members'.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass
from datetime import datetime
from statistics import mean
from typing import Callable, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bundles.policy import BundlePolicy, member_of
from engine.definitions.versions import current_definition, current_definitions
from engine.events import EventKind
from engine.oversight.calendar import WorkingCalendar
from engine.oversight.deadlines import local_day
from engine.people.assignment import APPLICANT_LANE, CLERK
from engine.running.compiled import spec_of
from engine.running.workflow import restored_specs
from engine.store.models import (Application, ApplicationStatus, Event, Matter, ServiceDefinition, Task, TaskStatus,
                                 as_utc)

ONLINE = "全程网办"  # a handling depth naming it needs no visit
PICKUP = "pickup"  # a delivery handed over at a window: one visit
APPLICANT_SOURCE = "applicant"  # a material only the applicant can give


@dataclass(frozen=True)
class FourReductions:
    matter: str
    name: str
    kind: str  # matter | bundle
    finished: int  # finished applications measured
    baseline_days: int | None
    legal_days: int
    promised_days: int
    average_days: float | None
    p90_days: int | None
    baseline_steps: int | None
    steps: int
    average_steps: float | None
    baseline_materials: int | None
    materials: int
    average_materials: float | None
    baseline_trips: int | None
    trips: int
    average_trips: float | None

    def as_row(self) -> dict:
        return asdict(self)


COLUMNS = list(FourReductions.__dataclass_fields__)
# The CSV's headings, for the people who open it in a spreadsheet (the JSON keeps the keys).
HEADINGS = {
    "matter": "事项编码", "name": "名称", "kind": "类型（事项/一件事）", "finished": "已办结件数",
    "baseline_days": "改革前时限（工作日）", "legal_days": "法定时限（工作日）", "promised_days": "承诺时限（工作日）",
    "average_days": "实测平均用时（工作日）", "p90_days": "实测90%用时（工作日）",
    "baseline_steps": "改革前环节", "steps": "现在的环节", "average_steps": "实测平均环节",
    "baseline_materials": "改革前材料（份）", "materials": "现在须提交材料（份）", "average_materials": "实测平均提交材料（份）",
    "baseline_trips": "改革前跑动（次）", "trips": "现在最多跑动（次）", "average_trips": "实测平均跑动（次）",
}
KINDS = {"matter": "事项", "bundle": "一件事"}


def as_csv(rows: list[dict]) -> str:
    """The figures as CSV with Chinese headings, UTF-8 with a BOM so spreadsheet programs
    read the Chinese."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([HEADINGS[column] for column in COLUMNS])
    for row in rows:
        writer.writerow([KINDS.get(row[column], row[column]) if column == "kind" else row[column] for column in COLUMNS])
    return out.getvalue()


@dataclass(frozen=True)
class Scope:
    """Which applications are measured: a region's (a supervisor's own), and those submitted
    in [since, until)."""

    region: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self) -> list:
        return [*([Application.region == self.region] if self.region else []),
                *([Application.created_at >= self.since] if self.since else []),
                *([Application.created_at < self.until] if self.until else [])]


def four_reductions(session: Session, calendar: WorkingCalendar, matter: str | None = None,
                    scope: Scope = Scope(), on_each: Callable[[], None] = lambda: None) -> list[FourReductions]:
    """The figures of one matter or of every deployed one, measured over ``scope``."""
    codes = [matter] if matter else list(session.scalars(select(Matter.code).order_by(Matter.code)))
    figures = []
    for code in codes:
        definition = current_definition(session, code, required=matter is not None)
        policy = BundlePolicy.of(definition.policy) if definition is not None else None
        if definition is not None and not (policy and policy.cart):  # a cart's figures are its matters'
            figures.append(_figures(session, calendar, session.get(Matter, code), definition, scope))
        on_each()
    return figures


def count_matters(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Matter))


def _figures(session: Session, calendar: WorkingCalendar, matter: Matter, definition: ServiceDefinition,
             scope: Scope) -> FourReductions:
    bundle = BundlePolicy.of(definition.policy)
    members = [session.get(Matter, code) for code in (bundle.matters if bundle else [])]
    definitions = {matter.code: definition, **current_definitions(session, [m.code for m in members])}
    finished = session.scalars(select(Application).where(
        Application.matter_code == matter.code, Application.status == ApplicationStatus.COMPLETED,
        *scope.where())).all()
    with_members = {a.id: [a, *_members(session, a)] if bundle else [a] for a in finished}
    days = _handling_days(session, calendar, finished)
    return FourReductions(
        matter=matter.code, name=matter.name, kind="bundle" if bundle else "matter", finished=len(finished),
        baseline_days=_baseline(matter, members, "days"), legal_days=matter.legal_days,
        promised_days=matter.promised_days, average_days=_average(days),
        p90_days=_p90(days),
        baseline_steps=_baseline(matter, members, "steps"),
        steps=sum(staff_steps(definitions[m.code]) for m in [matter, *members]),
        average_steps=_average([_staff_tasks(session, apps) for apps in with_members.values()]),
        baseline_materials=_baseline(matter, members, "materials"),
        materials=len({name for m in [matter, *members] for name in required_materials(m)}),
        average_materials=_average([len(set().union(*(handed_in(a) for a in apps)))  # a bundle's: each once
                                    for apps in with_members.values()]),
        baseline_trips=_baseline(matter, members, "trips"),
        trips=0 if ONLINE in (matter.elements or {}).get("handling_depth", "") else 1,
        average_trips=_average([_visits(session, apps) for apps in with_members.values()]))


def staff_steps(definition: ServiceDefinition) -> int:
    """The staff steps of a version's BPMN: user and manual tasks not in the applicant's
    lane, member steps (a bundle's) not counted — their matters count their own."""
    spec, subprocesses = restored_specs(spec_of(definition))
    return sum(1 for process in [spec, *subprocesses.values()] for task_spec in process.task_specs.values()
               if getattr(task_spec, "manual", False) and task_spec.lane != APPLICANT_LANE
               and not member_of(task_spec))


def required_materials(matter: Matter) -> list[str]:
    """Materials every application needs: required, and not only in some scenario."""
    return [m["name"] for m in (matter.elements or {}).get("materials", [])
            if m.get("required", True) and not m.get("when")]


def handed_in(application: Application) -> set[str]:
    """The materials this applicant handed in: those only an applicant can give, and those
    免证办 could not fetch and had to ask for."""
    policy = application.definition.policy or {}
    own = {m["name"] for m in policy.get("materials", []) if m.get("required", True) and not m.get("when")
           and m.get("source") == APPLICANT_SOURCE}
    return own | set((application.materials or {}).get("handed_in", []))


def _members(session: Session, bundle: Application) -> list[Application]:
    return list(session.scalars(select(Application).where(Application.bundle_id == bundle.id)))


def _handling_days(session: Session, calendar: WorkingCalendar, applications: list[Application]) -> list[int]:
    """Working days from submission to the (first) answer, from the audit events."""
    if not applications:
        return []
    moments: dict[int, dict[str, object]] = {}
    ids = [a.id for a in applications]
    for start in range(0, len(ids), 500):
        for event in session.scalars(select(Event).where(
                Event.application_id.in_(ids[start:start + 500]),
                Event.kind.in_([EventKind.SUBMITTED, EventKind.DECIDED])).order_by(Event.id)):
            moments.setdefault(event.application_id, {}).setdefault(event.kind, as_utc(event.at))
    return [calendar.working_days_between(local_day(seen[EventKind.SUBMITTED]), local_day(seen[EventKind.DECIDED]))
            for seen in moments.values() if EventKind.SUBMITTED in seen and EventKind.DECIDED in seen]


def _staff_tasks(session: Session, applications: Iterable[Application]) -> int:
    ids = [a.id for a in applications]
    return len(list(session.scalars(select(Task.id).where(Task.application_id.in_(ids),
                                                         Task.status == TaskStatus.COMPLETED,
                                                         Task.candidate_role == CLERK))))


def _visits(session: Session, applications: Iterable[Application]) -> int:
    ids = [a.id for a in applications]
    return sum(1 for result in session.scalars(select(Task.result).where(
        Task.application_id.in_(ids), Task.status == TaskStatus.COMPLETED)) if (result or {}).get("method") == PICKUP)


def _baseline(matter: Matter, members: list[Matter], key: str) -> int | None:
    own = ((matter.elements or {}).get("baseline") or {}).get(key)
    if own is not None or not members:
        return own
    values = [((m.elements or {}).get("baseline") or {}).get(key) for m in members]
    return None if any(v is None for v in values) else sum(values)


def _average(values: list[int]) -> float | None:
    return round(mean(values), 2) if values else None


def _p90(values: list[int]) -> int | None:
    """The nearest-rank 90th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
