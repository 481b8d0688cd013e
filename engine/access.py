"""Who may see or do what with applications and tasks, in one place.

- Applicants see their own applications and those made in their name (engine/people/subjects.py);
  agents (代办点) what they submitted.
- Clerks see the applications their department has a task in, in their region, and work
  the tasks of their own department and region.
- Supervisors see their region's applications (engine/people/regions.py); analysts and admins
  every one, and they alone handle incidents.

"Not yours" is always answered as "not found": nothing is learnt by asking.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.people import regions, subjects
from engine.people.assignment import may_take
from engine.people.authorisations import AGENT_ROLE
from engine import words
from engine.errors import Conflict, Forbidden, NotFound
from engine.store.models import ACTIVE_TASK, Application, Task, TaskStatus, User

SUBMITTERS = ("applicant", AGENT_ROLE)  # people for themselves, outlet staff for those who authorised them
OVERSEERS = ("supervisor", "admin", "analyst")
INCIDENT_STAFF = ("analyst", "admin")


def require_submitter(user: User) -> None:
    if user.role not in SUBMITTERS:
        raise Forbidden("only applicants and the staff of a service outlet (代办点) submit applications")


def require_clerk(user: User) -> None:
    if user.role != "clerk":
        raise Forbidden("only clerks work task queues")


def require_incident_staff(user: User) -> None:
    if user.role not in INCIDENT_STAFF:
        raise Forbidden("incidents are for analysts and admins")


def may_read(user: User, application: Application, session: Session) -> bool:
    if user.role in OVERSEERS:
        return regions.sees_region(user, application.region)
    if user.role in SUBMITTERS:
        return subjects.is_theirs(session, user, application)
    return session.scalars(select(Task.id).where(Task.application_id == application.id,
                                                 Task.department == user.department,
                                                 Task.region == user.region).limit(1)).first() is not None


def task_of_clerk(session: Session, user: User, task_id: int) -> Task:
    """A task of the clerk's own department and region; any other is reported as not found."""
    require_clerk(user)
    task = session.get(Task, task_id)
    if task is None or (task.department, task.region) != (user.department, user.region) or not may_take(task, user):
        raise NotFound(f"no task {task_id} in your queue")
    return task


def may_work_on(task: Task, user: User) -> None:
    """An open task, or one this clerk holds; anything else is someone else's or done."""
    if task.status not in ACTIVE_TASK or (task.status == TaskStatus.CLAIMED and task.assignee_id != user.id):
        raise taken(task)


def taken(task: Task) -> Conflict:
    held = "已被其他工作人员认领" if task.status == TaskStatus.CLAIMED else f"已{words.TASK_STATUS.get(task.status, task.status)}"
    return Conflict(f"该任务{held}，请刷新后查看 (task {task.id} is {task.status})")
