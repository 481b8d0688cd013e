"""好差评 service ratings: the applicant rates a finished application on five levels.

The bottom two levels are bad reviews (差评): each opens a rectification (整改) for the
department that handled the matter, due in a set number of working days, which the
supervisor follows. Ratings are counted per matter and per department. What the use cases
answer names matters and departments as a person reads them, beside their codes.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from engine.people import subjects
from engine.oversight.calendar import WorkingCalendar, default_calendar
from engine.oversight.deadlines import deadline_for
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.store.models import Application, ApplicationStatus, Matter, Rating, Rectification, RectificationStatus, User, utcnow
from engine.people.regions import in_region
from engine.oversight.supervision import require_supervisor
from engine.people.organisation import department_name, department_names
from engine.events import EventKind, record

LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD_LEVELS = (1, 2)
RECTIFICATION_DAYS = 5  # working days a department has to answer a bad review


@dataclass
class Ratings:
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime] = utcnow
    calendar: WorkingCalendar = field(default_factory=default_calendar)
    rectification_days: int = RECTIFICATION_DAYS

    def rate(self, user: User, application_id: int, level: int, comment: str = "") -> dict:
        """Once per finished application, by its applicant."""
        if level not in LEVELS:
            raise InvalidInput("unknown rating level", {"level": ["1 (非常不满意) … 5 (非常满意)"]})
        with self.sessions() as session:
            application = session.get(Application, application_id)
            if application is None or user.role != "applicant" or not subjects.is_about(session, user, application):
                raise NotFound("no such application of yours")
            if application.status != ApplicationStatus.COMPLETED:
                raise Conflict("办结后才能评价 (only a finished application can be rated)")
            now = self.clock()
            department = session.get(Matter, application.matter_code).department
            rating = Rating(application_id=application.id, matter_code=application.matter_code,
                            department=department, level=level, comment=comment, created_at=now)
            session.add(rating)
            try:
                session.flush()
            except IntegrityError as exc:
                raise Conflict("这件申请已经评价过了 (this application has been rated already)") from exc
            record(session, EventKind.RATING, user.username, now, {"level": level, "label": LEVELS[level]},
                   application_id=application.id)
            if level in BAD_LEVELS:
                self._open_rectification(session, rating, now)
            session.commit()
            return _rating_view(rating, _matter_names(session, [rating.matter_code]))

    def _open_rectification(self, session: Session, rating: Rating, now: datetime) -> None:
        deadline = deadline_for(self.calendar, now, self.rectification_days, [])
        rectification = Rectification(rating_id=rating.id, department=rating.department,
                                      due_at=deadline.due_at, created_at=now)
        session.add(rectification)
        session.flush()
        record(session, EventKind.RECTIFICATION_OPENED, "supervision", now, application_id=rating.application_id,
               data={"rectification": rectification.id, "department": rating.department,
                     "due_at": deadline.due_at.isoformat()})

    def rectifications(self, user: User, status: str = RectificationStatus.OPEN) -> list[dict]:
        """Supervisors see every department's of their region (admins: every region's);
        clerks their own department's in their region."""
        if user.role not in ("clerk", "supervisor", "admin"):
            raise Forbidden("only clerks and supervisors see rectifications")
        query = (select(Rectification).join(Rating, Rating.id == Rectification.rating_id)
                 .join(Application, Application.id == Rating.application_id)
                 .where(Rectification.status == status, in_region(user, Application.region))
                 .order_by(Rectification.due_at))
        if user.role == "clerk":
            query = query.where(Rectification.department == user.department)
        with self.sessions() as session:
            found = list(session.scalars(query))
            names = _matter_names(session, [r.rating.matter_code for r in found])
        return [_rectification_view(r, names) for r in found]

    def resolve(self, user: User, rectification_id: int, answer: str) -> dict:
        """The department's answer to a bad review closes the rectification."""
        if not answer.strip():
            raise InvalidInput("an answer is required", {"answer": ["整改说明不能为空 required"]})
        with self.sessions() as session:
            rectification = session.get(Rectification, rectification_id)
            if (rectification is None or user.role != "clerk" or rectification.department != user.department
                    or session.get(Application, rectification.rating.application_id).region != user.region):
                raise NotFound(f"no rectification {rectification_id} for your department")
            if rectification.status != RectificationStatus.OPEN:
                raise Conflict("这项整改已经办结 (this rectification is closed already)")
            now = self.clock()
            rectification.status, rectification.answer = RectificationStatus.RESOLVED, answer
            rectification.resolved_at, rectification.resolved_by = now, user.username
            record(session, EventKind.RECTIFICATION_RESOLVED, user.username, now,
                   {"rectification": rectification.id}, application_id=rectification.rating.application_id)
            session.commit()
            return _rectification_view(rectification, _matter_names(session, [rectification.rating.matter_code]))

    def statistics(self, user: User) -> dict:
        """Counts per level and the share of good reviews, per matter and per department;
        and the names of the matters and departments counted."""
        require_supervisor(user)
        with self.sessions() as session:
            rows = session.execute(select(Rating.matter_code, Rating.department, Rating.level)
                                   .join(Application, Application.id == Rating.application_id)
                                   .where(in_region(user, Application.region))).all()
            matter_names = _matter_names(session, [m for m, _, _ in rows])
        return {"matters": _summarise((m, level) for m, _, level in rows),
                "departments": _summarise((d, level) for _, d, level in rows),
                "matter_names": matter_names, "department_names": department_names(sorted({d for _, d, _ in rows}))}


def _matter_names(session: Session, codes) -> dict[str, str]:
    wanted = sorted(set(codes))
    found = {code: name for code, name in session.execute(select(Matter.code, Matter.name)
                                                          .where(Matter.code.in_(wanted)))} if wanted else {}
    return {code: found.get(code, code) for code in wanted}


def _rating_view(rating: Rating, matter_names: dict[str, str]) -> dict:
    return {"id": rating.id, "application_id": rating.application_id, "matter_code": rating.matter_code,
            "matter_name": matter_names.get(rating.matter_code, rating.matter_code),
            "department": rating.department, "department_name": department_name(rating.department),
            "level": rating.level, "comment": rating.comment, "created_at": rating.created_at}


def _rectification_view(rectification: Rectification, matter_names: dict[str, str]) -> dict:
    return {"id": rectification.id, "rating": _rating_view(rectification.rating, matter_names),
            "department": rectification.department, "department_name": department_name(rectification.department),
            "status": rectification.status, "due_at": rectification.due_at, "created_at": rectification.created_at,
            "resolved_at": rectification.resolved_at, "resolved_by": rectification.resolved_by,
            "answer": rectification.answer}


def _summarise(pairs) -> dict:
    levels: dict = defaultdict(Counter)
    for key, level in pairs:
        levels[key][level] += 1
    return {key: {"count": sum(c.values()), "levels": {LEVELS[n]: c[n] for n in sorted(LEVELS, reverse=True)},
                  "bad": sum(c[n] for n in BAD_LEVELS),
                  "satisfaction": round(sum(c[n] for n in (3, 4, 5)) / sum(c.values()), 3)}
            for key, c in sorted(levels.items())}
