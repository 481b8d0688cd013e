"""Pending work, the worker's use cases: advance an application whose work was handed over
(a deferred source, a fired timer), hand due timers to workers, and re-send work left
pending too long (a dead worker, a lost job). The database is the truth; the queue only a
transport (engine/running/run.py ``WorkQueue``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.bundles.members import pending_members
from engine.running.workflow import workflow_clock
from engine.store.models import Application
from engine.running.run import Runner
from engine.running.transaction import end_reads


@dataclass
class Work:
    sessions: sessionmaker[Session]
    runner: Runner

    def advance(self, application_id: int) -> bool:
        """Run pending work (the RQ job). Safe to run twice: a finished or already
        advanced application is left alone, and a concurrent advance loses on version."""
        with self.sessions() as session:
            application = session.get(Application, application_id)
            if application is None or application.pending_since is None:
                return False
            workflow, service_tasks = self.runner.load(application)
            end_reads(session)
            with workflow_clock(self.runner.clock):
                workflow.refresh_timers()  # a due timer becomes READY and runs below
            try:
                self.runner.run(session, application, workflow, service_tasks, allow_deferred=True, actor="worker")
                members_pending = pending_members(session, application)
                session.commit()
            except StaleDataError:  # another worker advanced it first (or a member ended): its turn
                session.rollback()
                return False
        self.runner.hand_over(application, members_pending)
        return True

    def reconcile(self, older_than: timedelta) -> list[int]:
        """Re-send work that has been pending too long (a dead worker, a lost job)."""
        cutoff = self.runner.clock() - older_than
        with self.sessions() as session:
            ids = list(session.scalars(select(Application.id).where(Application.pending_since <= cutoff)
                                       .order_by(Application.pending_since)))
        for application_id in ids:
            self.runner.queue.enqueue_advance(application_id)
        return ids

    def fire_timers(self) -> list[int]:
        """Hand every application whose next BPMN timer is due to a worker (RQ scheduler job).

        Reads only the indexed ``timer_due_at`` column; marking the work pending first means
        a lost job is re-sent by the reconciler like any other.
        """
        now = self.runner.clock()
        with self.sessions() as session:
            due = list(session.scalars(select(Application.id).where(
                Application.timer_due_at <= now, Application.pending_since.is_(None))))
            if due:
                session.execute(update(Application).where(Application.id.in_(due))
                                .values(pending_since=now, timer_due_at=None))
                session.commit()
        for application_id in due:
            self.runner.queue.enqueue_advance(application_id)
        return due
