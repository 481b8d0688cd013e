"""电子监察 electronic supervision: the deadline clock, the colour sweep, supervisors' views.

Clerks pause an application's clock for a supplement request or a special procedure
(特别程序) and resume it; the paused working days are added to the deadline. A sweep job
turns applications yellow at 80% of the promised limit and red when overdue, recording
an alert event for each change. Supervisors read overdue and near-due cases, counts per
department and per clerk, handling times against the promised limit and how many runs
failed (incidents, counted) — all from indexed columns, never from workflows. Every answer
names matters, departments and clerks as a person reads them, beside their codes.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from engine.access import task_of_clerk
from engine.oversight.calendar import WorkingCalendar, default_calendar
from engine.oversight.incidents import IncidentStatus
from engine.oversight.deadlines import PAUSE_REASONS, is_paused, local_day, pause_clock, resume_clock
from engine import words
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.store.models import (ACTIVE_TASK, Application, ApplicationStatus, Incident, Matter, Task, TaskStatus, User,
                                 as_utc, utcnow)
from engine.people.organisation import department_name, department_names
from engine.people.regions import in_region
from engine.events import EventKind, record

OPEN = (ApplicationStatus.RUNNING, ApplicationStatus.WAITING)


@dataclass
class Supervision:
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime] = utcnow
    calendar: WorkingCalendar = field(default_factory=default_calendar)

    # --- the clock (clerks) ------------------------------------------------------------

    def pause(self, user: User, task_id: int, reason: str, note: str = "") -> Application:
        """Stop the application's clock (补正, 特别程序); it stays stopped until resumed."""
        if reason not in PAUSE_REASONS:
            raise InvalidInput("unknown pause reason", {"reason": [f"one of {', '.join(PAUSE_REASONS)}"]})
        with self.sessions() as session:
            application = _open_application_of_task(session, user, task_id)
            if is_paused(application.clock_pauses):
                raise Conflict("计时已经暂停 (the clock is already paused)")
            pause_clock(session, self.calendar, application, self.clock(), reason, note, user.username)
            session.commit()
            return application

    def resume(self, user: User, task_id: int) -> Application:
        """Restart the clock; the deadline moves by the paused working days."""
        with self.sessions() as session:
            application = _open_application_of_task(session, user, task_id)
            if not is_paused(application.clock_pauses):
                raise Conflict("计时没有暂停 (the clock is not paused)")
            resume_clock(session, self.calendar, application, self.clock(), user.username)
            session.commit()
            return application

    # --- the sweep (RQ scheduler job) ----------------------------------------------------

    def sweep(self) -> list[dict]:
        """Turn applications yellow or red as their time is used; one alert event per change."""
        now = self.clock()
        changes = []
        with self.sessions() as session:
            for colour, reached in (("red", Application.due_at <= now),
                                    ("yellow", (Application.yellow_at <= now) & (Application.due_at > now))):
                rows = session.execute(select(Application.id, Application.colour).where(
                    Application.status.in_(OPEN), Application.colour != colour, reached)).all()
                for application_id, before in rows:
                    changes.append({"application": application_id, "from": before, "to": colour})
                    record(session, EventKind.SUPERVISION_ALERT, "supervision", now, {"from": before, "to": colour},
                           application_id=application_id)
                if rows:
                    session.execute(update(Application).where(Application.id.in_([r[0] for r in rows]))
                                    .values(colour=colour), execution_options={"synchronize_session": False})
            session.commit()
        return changes

    # --- supervisors ---------------------------------------------------------------------

    def cases(self, user: User, colours: tuple[str, ...], department: str | None = None,
              limit: int = 100) -> list[dict]:
        """Open applications of the given colours, soonest due first (overdue / near-due lists),
        with the matter's and department's names, the clerks holding its open tasks, and the
        working days past its due date."""
        require_supervisor(user)
        query = (select(Application, Matter).join(Matter, Matter.code == Application.matter_code)
                 .where(Application.status.in_(OPEN), Application.colour.in_(colours),
                        in_region(user, Application.region))
                 .order_by(Application.due_at, Application.id).limit(limit))
        if department:
            query = query.where(Matter.department == department)
        today = local_day(self.clock())
        with self.sessions() as session:
            rows = session.execute(query).all()
            clerks = _clerks_of(session, [a.id for a, _ in rows])
        return [{"application_id": a.id, "tracking_no": a.tracking_no, "matter": a.matter_code,
                 "matter_name": matter.name, "department": matter.department,
                 "department_name": department_name(matter.department), "colour": a.colour,
                 "due_at": as_utc(a.due_at), "paused": is_paused(a.clock_pauses),
                 "days_overdue": self._days_overdue(a.due_at, today), "clerks": clerks.get(a.id, [])}
                for a, matter in rows]

    def _days_overdue(self, due_at: datetime | None, today) -> int:
        """Working days after the last allowed day (the due moment is the end of that day)."""
        if due_at is None:
            return 0
        last_day = local_day(as_utc(due_at) - timedelta(microseconds=1))
        return self.calendar.working_days_between(last_day, today)

    def counts(self, user: User) -> dict:
        """Open applications per department and colour; open tasks per clerk and colour; and
        the names of the departments and clerks counted."""
        require_supervisor(user)
        with self.sessions() as session:
            by_department: dict = defaultdict(Counter)
            for dept, colour, n in session.execute(
                    select(Matter.department, Application.colour, func.count())
                    .join(Matter, Matter.code == Application.matter_code)
                    .where(Application.status.in_(OPEN), in_region(user, Application.region))
                    .group_by(Matter.department, Application.colour)):
                by_department[dept][colour] = n
            by_clerk: dict = defaultdict(Counter)
            clerk_names: dict[str, str] = {}
            for username, display_name, colour, n in session.execute(
                    select(User.username, User.display_name, Application.colour, func.count())
                    .join(Task, Task.assignee_id == User.id).join(Application, Application.id == Task.application_id)
                    .where(Task.status == TaskStatus.CLAIMED, in_region(user, Application.region))
                    .group_by(User.username, User.display_name, Application.colour)):
                by_clerk[username][colour] = n
                clerk_names[username] = display_name or username
        return {"departments": {k: dict(v) for k, v in by_department.items()},
                "clerks": {k: dict(v) for k, v in by_clerk.items()},
                "department_names": department_names(by_department),
                "clerk_names": clerk_names, "colour_names": dict(words.COLOUR)}

    def incidents(self, user: User) -> list[dict]:
        """Open incidents (failed runs) of the supervisor's region, counted per matter and
        kind — how many cases went to manual handling, not their errors (those are for
        analysts and admins, who fix the definitions)."""
        require_supervisor(user)
        with self.sessions() as session:
            rows = session.execute(
                select(Matter.code, Matter.name, Matter.department, Incident.kind, func.count(),
                       func.min(Incident.created_at))
                .join(Application, Application.id == Incident.application_id)
                .join(Matter, Matter.code == Application.matter_code)
                .where(Incident.status == IncidentStatus.OPEN, in_region(user, Application.region))
                .group_by(Matter.code, Matter.name, Matter.department, Incident.kind)
                .order_by(Matter.code, Incident.kind)).all()
        return [{"matter": code, "matter_name": name, "department": dept, "department_name": department_name(dept),
                 "kind": kind, "open": n, "oldest_at": as_utc(oldest)}
                for code, name, dept, kind, n, oldest in rows]

    def handling(self, user: User) -> list[dict]:
        """Average handling time per matter, in working days, against its promised limit."""
        require_supervisor(user)
        with self.sessions() as session:
            matters = {m.code: m for m in session.scalars(select(Matter))}
            done = session.execute(select(Application.matter_code, Application.created_at, Application.completed_at)
                                   .where(Application.status == ApplicationStatus.COMPLETED,
                                          in_region(user, Application.region))).all()
        spans: dict = defaultdict(list)
        for code, created, completed in done:
            spans[code].append(self.calendar.working_days_between(local_day(as_utc(created)),
                                                                  local_day(as_utc(completed))))
        return [{"matter": code, "name": matters[code].name, "department": matters[code].department,
                 "department_name": department_name(matters[code].department), "completed": len(days),
                 "average_working_days": round(sum(days) / len(days), 2), "promised_days": matters[code].promised_days,
                 "within_limit": sum(d <= matters[code].promised_days for d in days)}
                for code, days in sorted(spans.items())]


def _clerks_of(session: Session, application_ids: list[int]) -> dict[int, list[dict]]:
    """Who holds each application's open tasks (claimed ones): username and display name."""
    held: dict[int, list[dict]] = defaultdict(list)
    for start in range(0, len(application_ids), 500):
        for application_id, username, display_name in session.execute(
                select(Task.application_id, User.username, User.display_name)
                .join(User, User.id == Task.assignee_id)
                .where(Task.application_id.in_(application_ids[start:start + 500]), Task.status.in_(ACTIVE_TASK))
                .order_by(Task.id)):
            clerk = {"username": username, "name": display_name or username}
            if clerk not in held[application_id]:
                held[application_id].append(clerk)
    return held


def require_supervisor(user: User) -> None:
    """电子监察 and rating statistics are for supervisors (and admins)."""
    if user.role not in ("supervisor", "admin"):
        raise Forbidden("only supervisors read electronic supervision")


def _open_application_of_task(session: Session, user: User, task_id: int) -> Application:
    task = task_of_clerk(session, user, task_id)
    if task.status not in ACTIVE_TASK or task.application.status not in OPEN:
        raise Conflict(f"该任务已{words.TASK_STATUS.get(task.status, task.status)} (task {task_id} is {task.status})")
    return task.application
