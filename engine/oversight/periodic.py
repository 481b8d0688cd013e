"""The periodic jobs: one table, read by both run modes, and the record of their runs.

Production runs them from the cron process of ``onewindow worker`` (RQ's CronScheduler
enqueues each one, a worker runs it); the embedded default runs them from a thread of
``onewindow serve``. Both run every job through ``run_recorded``, which writes its last
run into ``periodic_job_run``; ``health`` reads that table back for ``/healthz`` and
``onewindow worker --check``.

Staleness: a job is stale when ``now - max(its last finished run, since) > 3 × interval``,
where ``since`` is when the observer began watching (the API process's start; for
``worker --check`` the oldest live cron process's start; ``None`` when unknown). So a job
that never ran, or last ran before a restart, gets three of its intervals of grace after
the observer starts — a fresh deployment is not 503 for an hourly job, and the 5-second
timer job still reports a dead worker within 15 seconds of the API starting.

``ONEWINDOW_PERIODIC_SCALE`` (a positive number, default 1) multiplies every interval
(at least 1 second each); the tests run the real processes with it at 0.01.

Nothing here imports Flask or RQ.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from engine.config import SettingsError, load_settings
from engine.store.models import JobOutcome, PeriodicJobRun, as_utc, utcnow

if TYPE_CHECKING:
    from engine.services import Services

SCALE_VARIABLE = "ONEWINDOW_PERIODIC_SCALE"
STALE_AFTER_INTERVALS = 3
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: Callable[[Services], Any]
    interval: int  # seconds between runs (after ONEWINDOW_PERIODIC_SCALE)
    timeout: int  # seconds one run may take (RQ's job_timeout)
    what: str

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=STALE_AFTER_INTERVALS * self.interval)


def fire_timers(services: Services) -> list[int]:
    """Hand every application whose next BPMN timer is due to a worker."""
    return services.work.fire_timers()


def sweep_deadlines(services: Services) -> list[dict]:
    """电子监察: turn applications yellow or red as their promised time is used."""
    return services.supervision.sweep()


def reconcile(services: Services) -> list[int]:
    """Re-send every application whose pending work is older than ONEWINDOW_RECONCILE_AFTER."""
    return services.work.reconcile(timedelta(seconds=load_settings().reconcile_after_seconds))


def proactive_benefits(services: Services) -> list[dict]:
    """免申即享: apply for the residents the rules find eligible who have not applied."""
    from engine.policy.proactive import scan_all

    return [{"matter": r.matter, "started": r.started, "not_eligible": r.not_eligible} for r in scan_all(services)]


JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("fire_timers", fire_timers, 5, 120, "fire due BPMN timers"),
    PeriodicJob("sweep_deadlines", sweep_deadlines, 60, 300, "电子监察: deadlines turn yellow and red"),
    PeriodicJob("reconcile", reconcile, 30, 120, "re-send pending work a lost job or a dead worker left"),
    PeriodicJob("proactive_benefits", proactive_benefits, 3600, 1800, "免申即享: apply for the eligible"),
)


def periodic_jobs(environ: Mapping[str, str] = os.environ) -> tuple[PeriodicJob, ...]:
    """The table with its intervals scaled by ONEWINDOW_PERIODIC_SCALE (read here only)."""
    raw = environ.get(SCALE_VARIABLE) or "1"
    try:
        scale = float(raw)
    except ValueError:
        scale = 0.0
    if not scale > 0:
        raise SettingsError(f"{SCALE_VARIABLE}={raw!r}: a positive number, e.g. 1 (0.01 in the tests)")
    return tuple(replace(job, interval=max(1, round(job.interval * scale))) for job in JOBS)


def job_named(name: str, jobs: Iterable[PeriodicJob] | None = None) -> PeriodicJob:
    for job in periodic_jobs() if jobs is None else jobs:
        if job.name == name:
            return job
    raise LookupError(f"no periodic job named {name!r}")


# --- running and recording --------------------------------------------------------------

def run_recorded(job: PeriodicJob, services: Services) -> Any:
    """Run one job and record it (start, duration, ok or failed with the error's first
    line, run count). A failure is logged and re-raised (RQ marks the job failed; the
    embedded loop goes on to the next round).

    A run starts only if no run of the job started in the last half interval, claimed in
    the database: several workers' cron processes (or a backed-up queue) do not make a
    job run several times per interval. A skipped run returns None and records nothing.
    """
    started = utcnow()
    if not _claim(services.sessions, job, started):
        log.debug("periodic job %s skipped: another run started less than %ss ago", job.name, job.interval / 2)
        return None
    clock = time.monotonic()
    try:
        result = job.run(services)
    except Exception as exc:
        duration_ms = round((time.monotonic() - clock) * 1000)
        detail = _first_line(exc)
        log.error("periodic job %s failed after %d ms: %s", job.name, duration_ms, detail, exc_info=True)
        _finish(services.sessions, job.name, started, duration_ms, JobOutcome.FAILED, detail)
        raise
    _finish(services.sessions, job.name, started, round((time.monotonic() - clock) * 1000), JobOutcome.OK,
            _summary(result))
    return result


def _claim(sessions: sessionmaker[Session], job: PeriodicJob, now: datetime) -> bool:
    with sessions() as session:
        claimed = session.execute(
            update(PeriodicJobRun)
            .where(PeriodicJobRun.name == job.name,
                   PeriodicJobRun.started_at <= now - timedelta(seconds=job.interval / 2))
            .values(started_at=now), execution_options={"synchronize_session": False}).rowcount
        if not claimed:
            if session.get(PeriodicJobRun, job.name) is not None:
                return False
            session.add(PeriodicJobRun(name=job.name, started_at=now, finished_at=None, duration_ms=None,
                                       outcome=JobOutcome.RUNNING, detail="", runs=0))
        try:
            session.commit()
        except IntegrityError:  # another process recorded the job's first run at the same moment
            return False
    return True


def _finish(sessions: sessionmaker[Session], name: str, started: datetime, duration_ms: int,
            outcome: str, detail: str) -> None:
    with sessions() as session:
        session.execute(update(PeriodicJobRun).where(PeriodicJobRun.name == name).values(
            finished_at=started + timedelta(milliseconds=duration_ms),
            duration_ms=duration_ms, outcome=outcome, detail=detail[:500], runs=PeriodicJobRun.runs + 1),
            execution_options={"synchronize_session": False})
        session.commit()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _summary(result: Any) -> str:
    return f"{len(result)} item(s)" if isinstance(result, (list, tuple, dict)) else ""


# --- health -----------------------------------------------------------------------------

@dataclass(frozen=True)
class JobHealth:
    job: PeriodicJob
    last_run_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    outcome: str | None  # ok | failed | None (never finished)
    detail: str
    runs: int
    running: bool
    stale: bool
    reason: str

    def as_dict(self) -> dict:
        return {"name": self.job.name, "interval_s": self.job.interval, "timeout_s": self.job.timeout,
                "last_run_at": _iso(self.last_run_at), "finished_at": _iso(self.finished_at),
                "duration_ms": self.duration_ms, "outcome": self.outcome, "detail": self.detail,
                "runs": self.runs, "running": self.running,
                "stale_after_s": int(self.job.stale_after.total_seconds()), "stale": self.stale,
                "reason": self.reason}


@dataclass(frozen=True)
class Health:
    jobs: list[JobHealth]

    @property
    def healthy(self) -> bool:
        return not any(j.stale for j in self.jobs)

    def as_dict(self) -> dict:
        return {"status": "ok" if self.healthy else "stale",
                "stale": [j.job.name for j in self.jobs if j.stale],
                "failed": [j.job.name for j in self.jobs if j.outcome == JobOutcome.FAILED],
                "jobs": [j.as_dict() for j in self.jobs]}


def health(sessions: sessionmaker[Session], jobs: Iterable[PeriodicJob], since: datetime | None,
           now: datetime | None = None) -> Health:
    """Each job's last run and whether it is stale (the rule is in the module docstring).
    One query on the table's primary key."""
    jobs = list(jobs)
    now = now or utcnow()
    with sessions() as session:
        rows = {row.name: row for row in session.scalars(
            select(PeriodicJobRun).where(PeriodicJobRun.name.in_([job.name for job in jobs])))}
    return Health([_judge(job, rows.get(job.name), as_utc(since), now) for job in jobs])


def _judge(job: PeriodicJob, row: PeriodicJobRun | None, since: datetime | None, now: datetime) -> JobHealth:
    started = as_utc(row.started_at) if row else None
    finished = as_utc(row.finished_at) if row else None
    watched_from = max((moment for moment in (finished, since) if moment is not None), default=None)
    limit = int(job.stale_after.total_seconds())
    if watched_from is None:
        stale, reason = True, "has never finished a run"
    elif now - watched_from <= job.stale_after:
        stale, reason = False, ""
    elif finished is None or (since is not None and since > finished):
        stale, reason = True, f"no run finished in the {_ago(now - since)} since start (limit {limit}s)"
    else:
        stale, reason = True, f"last run finished {_ago(now - finished)} ago (limit {limit}s)"
    ran = row is not None and row.runs > 0
    return JobHealth(job=job, last_run_at=started, finished_at=finished,
                     duration_ms=row.duration_ms if ran else None, outcome=row.outcome if ran else None,
                     detail=row.detail if ran else "", runs=row.runs if row else 0,
                     running=started is not None and (finished is None or started > finished),
                     stale=stale, reason=reason)


def _ago(delta: timedelta) -> str:
    return f"{int(delta.total_seconds())}s"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
