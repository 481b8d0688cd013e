"""Who may take a human task: the applicant's own step, the clerks of a department, named
clerks, or one clerk (受理、审核人).

A task's lane names it (``applicant``; ``department``: the matter's department, so one BPMN —
the comprehensive window — serves any matter; any other name: that department). Camunda
Modeler's attributes on a user task say it too and win over the lane: ``candidateGroups``
(one department, or ``applicant``), ``candidateUsers`` (only these clerks of the task's
department may take it) and ``assignee`` (the task starts claimed by that clerk). Deploy
refuses names that are no department or no clerk of it, so no task waits in a queue no one
reads.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.errors import Problem
from engine.store.models import Matter, Task, TaskStatus, User
from engine.people.organisation import read_departments

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
CAMUNDA_ASSIGNMENT = ("candidateGroups", "candidateUsers", "assignee", "formKey")
APPLICANT_LANE = "applicant"
MATTER_DEPARTMENT_LANE = "department"
CLERK, APPLICANT = "clerk", "applicant"
_EXPRESSION = re.compile(r"[$#]\{")


@dataclass(frozen=True)
class TaskAssignment:
    role: str  # applicant | clerk
    department: str
    candidate_users: tuple[str, ...] = ()  # empty: any clerk of the department
    assignee: str | None = None


def camunda_attributes(node) -> dict[str, str]:
    """Camunda Modeler's assignment attributes of a BPMN element (kept with the task spec)."""
    return {name: node.get(f"{{{CAMUNDA_NS}}}{name}").strip() for name in CAMUNDA_ASSIGNMENT
            if (node.get(f"{{{CAMUNDA_NS}}}{name}") or "").strip()}


def _names(value: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in (value or "").split(",") if name.strip())


def _camunda(task_spec) -> dict[str, str]:
    return (getattr(task_spec, "extensions", None) or {}).get("camunda") or {}


def assignment_of(task_spec, matter_department: str) -> TaskAssignment:
    """Who may take a human task of a matter whose department is ``matter_department``."""
    camunda = _camunda(task_spec)
    groups = _names(camunda.get("candidateGroups"))
    where = groups[0] if groups else task_spec.lane
    if where == APPLICANT_LANE:
        return TaskAssignment(APPLICANT, APPLICANT_LANE)
    department = matter_department if where in (None, "", MATTER_DEPARTMENT_LANE) else where
    return TaskAssignment(CLERK, department, _names(camunda.get("candidateUsers")), camunda.get("assignee"))


@dataclass(frozen=True)
class Staffing:
    """Who can take tasks, as deploy checks them: departments (code -> name) and active
    clerks (username -> department)."""

    departments: dict[str, str]
    clerks: dict[str, str]

    @classmethod
    def of(cls, session: Session) -> Staffing:
        """The catalogue's departments, any a matter in the database names, and the clerks."""
        departments = dict(read_departments())
        for code in session.scalars(select(Matter.department).distinct()):
            departments.setdefault(code, code)
        clerks = dict(session.execute(select(User.username, User.department).where(
            User.role == CLERK, User.disabled.is_(False))).all())
        return cls(departments, clerks)


def check_assignments(staffing: Staffing, specs: list, filename: str, matter_department: str) -> list[Problem]:
    """Deploy-time: every human task's lane, candidate group and users name a department
    and clerks that exist (a task for nobody would wait for ever)."""
    problems = []
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if getattr(task_spec, "manual", False) and getattr(task_spec, "bpmn_id", None):
                problems += [Problem(filename, task_spec.bpmn_id, None, reason)
                             for reason in _assignment_problems(task_spec, matter_department, staffing)]
    return problems


def _assignment_problems(task_spec, matter_department: str, staffing: Staffing) -> list[str]:
    departments, clerks = staffing.departments, staffing.clerks
    camunda = _camunda(task_spec)
    if any(_EXPRESSION.search(value) for value in camunda.values()):
        return ["Camunda expressions (${…}) are not evaluated here: name the department or the clerks"]
    groups = _names(camunda.get("candidateGroups"))
    if len(groups) > 1:
        return [f"candidateGroups names {len(groups)} groups; a task here belongs to one department's queue: "
                f"name one, or split the task per department"]
    named = groups[0] if groups else task_spec.lane
    if named not in (None, "", APPLICANT_LANE, MATTER_DEPARTMENT_LANE) and named not in departments:
        what = "candidate group" if groups else "lane"
        return [f"{what} {named!r} is no department (known: {', '.join(sorted(departments))}; or 'department' "
                f"for the matter's own, 'applicant' for the applicant's step)"]
    assignment = assignment_of(task_spec, matter_department)
    people = [*assignment.candidate_users, *([assignment.assignee] if assignment.assignee else [])]
    if people and assignment.role == APPLICANT:
        return ["the applicant's own step takes no candidateUsers or assignee"]
    return [f"{name!r} is no clerk of {assignment.department} (candidateUsers / assignee name clerks of the "
            f"task's department)" for name in people if clerks.get(name) != assignment.department]


# --- the task index: candidate users stored as ",name,name," (one LIKE finds a clerk's) ------

def encode_users(names: tuple[str, ...]) -> str | None:
    return "," + ",".join(names) + "," if names else None


def may_take(task: Task, user: User) -> bool:
    """Whether the task's candidate users (if it names any) include this clerk."""
    return not task.candidate_users or f",{user.username}," in task.candidate_users


def offered_to(user: User):
    """SQL condition: the tasks whose candidate users (if any) include this clerk."""
    return or_(Task.candidate_users.is_(None), Task.candidate_users.contains(f",{user.username},", autoescape=True))


def assign_named_clerk(session: Session, task: Task, assigned: TaskAssignment) -> None:
    """A task with an assignee starts claimed by that clerk, while they are a clerk of its
    department and region; otherwise it waits in the department's queue like any other."""
    if not assigned.assignee:
        return
    clerk = session.scalars(select(User).where(User.username == assigned.assignee)).first()
    if clerk is not None and clerk.role == CLERK and not clerk.disabled \
            and (clerk.department, clerk.region) == (task.department, task.region):
        task.status, task.assignee_id = TaskStatus.CLAIMED, clerk.id
