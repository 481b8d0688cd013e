"""The engine's services, as the API and the workers use them: one object per process,
built by the composition root (onewindow/wiring.py) from the settings.

- ``applications``: the applicant's use cases (engine/applications.py)
- ``tasks``: the clerk's (engine/tasks.py)
- ``work``: the worker's (engine/work.py)
- ``incidents``: analysts' and admins' (engine/oversight/incidents.py)
- ``supervision``, ``ratings``: supervisors' (engine/oversight/supervision.py, engine/oversight/ratings.py)
- ``bundles``: bundles and the cart (一件事, 政务超市: engine/bundles/orders.py)
- ``runner``: the one place workflows run (engine/running/run.py), shared by all of them;
  its member steps (engine/bundles/members.py) start member applications through ``applications``
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Mapping

from sqlalchemy.orm import Session, sessionmaker

from engine.applications import Applications
from engine.bundles.members import MemberSteps
from engine.bundles.orders import Bundles
from engine.oversight.calendar import WorkingCalendar, default_calendar
from engine.oversight.incidents import Incidents
from engine.store.models import utcnow
from engine.oversight.ratings import Ratings
from engine.running.run import Runner, WorkQueue
from engine.sources import Source
from engine.oversight.supervision import Supervision
from engine.tasks import Tasks
from engine.work import Work


@dataclass
class Services:
    sessions: sessionmaker[Session]
    sources: Mapping[str, Source]
    queue: WorkQueue
    clock: Callable[[], datetime] = utcnow
    calendar: WorkingCalendar = field(default_factory=default_calendar)
    runner: Runner = field(init=False)
    applications: Applications = field(init=False)
    bundles: Bundles = field(init=False)
    tasks: Tasks = field(init=False)
    work: Work = field(init=False)
    incidents: Incidents = field(init=False)
    supervision: Supervision = field(init=False)
    ratings: Ratings = field(init=False)

    def __post_init__(self) -> None:  # dataclasses.replace(services, clock=…) rebuilds them on that clock
        self.runner = Runner(self.sources, self.queue, self.clock, self.calendar)
        self.applications = Applications(self.sessions, self.runner)
        self.runner.members = MemberSteps(self.applications)
        self.bundles = Bundles(self.sessions, self.applications)
        self.tasks = Tasks(self.sessions, self.runner)
        self.work = Work(self.sessions, self.runner)
        self.incidents = Incidents(self.sessions, self.runner)
        self.supervision = Supervision(self.sessions, self.clock, self.calendar)
        self.ratings = Ratings(self.sessions, self.clock, self.calendar)
