"""电子监察 electronic supervision: the deadline clock, the colour sweep, supervisors' views.

Clerks pause an application's clock for a supplement request or a special procedure
(特别程序) and resume it; the paused working days are added to the deadline. A sweep job
turns applications yellow at 80% of the promised limit and red when overdue, recording
an alert event for each change. Supervisors read overdue and near-due cases, counts per
department and per clerk, and handling times against the promised limit — all from
indexed columns, never from workflows.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from engine.access import task_of_clerk
from engine.oversight.calendar import WorkingCalendar, default_calendar
from engine.oversight.deadlines import PAUSE_REASONS, is_paused, local_day, pause_clock, resume_clock
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.store.models import ACTIVE_TASK, Application, ApplicationStatus, Matter, Task, TaskStatus, User, as_utc, utcnow
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
                raise Conflict("the clock is already paused")
            pause_clock(session, self.calendar, application, self.clock(), reason, note, user.username)
            session.commit()
            return application

    def resume(self, user: User, task_id: int) -> Application:
        """Restart the clock; the deadline moves by the paused working days."""
        with self.sessions() as session:
            application = _open_application_of_task(session, user, task_id)
            if not is_paused(application.clock_pauses):
                raise Conflict("the clock is not paused")
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
        """Open applications of the given colours, soonest due first (overdue / near-due lists)."""
        require_supervisor(user)
        query = (select(Application, Matter.department).join(Matter, Matter.code == Application.matter_code)
                 .where(Application.status.in_(OPEN), Application.colour.in_(colours),
                        in_region(user, Application.region))
                 .order_by(Application.due_at, Application.id).limit(limit))
        if department:
            query = query.where(Matter.department == department)
        with self.sessions() as session:
            return [{"application_id": a.id, "tracking_no": a.tracking_no, "matter": a.matter_code,
                     "department": dept, "colour": a.colour, "due_at": as_utc(a.due_at),
                     "paused": is_paused(a.clock_pauses)}
                    for a, dept in session.execute(query)]

    def counts(self, user: User) -> dict:
        """Open applications per department and colour; open tasks per clerk and colour."""
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
            for username, colour, n in session.execute(
                    select(User.username, Application.colour, func.count())
                    .join(Task, Task.assignee_id == User.id).join(Application, Application.id == Task.application_id)
                    .where(Task.status == TaskStatus.CLAIMED, in_region(user, Application.region))
                    .group_by(User.username, Application.colour)):
                by_clerk[username][colour] = n
        return {"departments": {k: dict(v) for k, v in by_department.items()},
                "clerks": {k: dict(v) for k, v in by_clerk.items()}}

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
        return [{"matter": code, "name": matters[code].name, "completed": len(days),
                 "average_working_days": round(sum(days) / len(days), 2), "promised_days": matters[code].promised_days,
                 "within_limit": sum(d <= matters[code].promised_days for d in days)}
                for code, days in sorted(spans.items())]


def require_supervisor(user: User) -> None:
    """电子监察 and rating statistics are for supervisors (and admins)."""
    if user.role not in ("supervisor", "admin"):
        raise Forbidden("only supervisors read electronic supervision")


def _open_application_of_task(session: Session, user: User, task_id: int) -> Application:
    task = task_of_clerk(session, user, task_id)
    if task.status not in ACTIVE_TASK or task.application.status not in OPEN:
        raise Conflict(f"task {task_id} is {task.status}")
    return task.application
