"""The periodic jobs' run records and health (engine/oversight/periodic.py): every run recorded, ok or
failed; a job is stale when neither its last finished run nor the observer's start lies
within three of its intervals; /healthz answers 503 naming the stale job.

The real processes that run these jobs are started in test_worker_process.py.
"""
from __future__ import annotations

import itertools
import logging
import os
from datetime import timedelta

import pytest
from click.testing import CliRunner

from api import create_app
from onewindow.cli import main as cli
from engine.store.models import PeriodicJobRun, utcnow
from engine.oversight.periodic import JOBS, PeriodicJob, health, periodic_jobs, run_recorded

_unique = itertools.count(1)


def _job(run, interval: int = 0) -> PeriodicJob:
    """A job of its own (the suite shares one database); interval 0: no claim gap."""
    return PeriodicJob(f"test_job_{next(_unique)}", run, interval, 10, "a test job")


def _row(services, name: str) -> PeriodicJobRun | None:
    with services.sessions() as session:
        return session.get(PeriodicJobRun, name)


def _record(services, name: str, finished_ago: float | None, outcome: str = "ok") -> None:
    """Write a job's last run as if it had finished ``finished_ago`` seconds ago."""
    now = utcnow()
    with services.sessions() as session:
        finished = None if finished_ago is None else now - timedelta(seconds=finished_ago)
        session.merge(PeriodicJobRun(name=name, started_at=finished or now, finished_at=finished, duration_ms=5,
                                     outcome=outcome, detail="", runs=1 if finished else 0))
        session.commit()


def test_a_run_is_recorded_with_its_start_duration_outcome_and_count(services):
    job = _job(lambda built: [1, 2, 3])
    before = utcnow()
    assert run_recorded(job, services) == [1, 2, 3]
    first = _row(services, job.name)
    assert (first.outcome, first.runs, first.detail) == ("ok", 1, "3 item(s)")
    assert first.duration_ms >= 0 and first.started_at.replace(tzinfo=None) >= before.replace(tzinfo=None)
    run_recorded(job, services)
    assert _row(services, job.name).runs == 2


def test_a_failed_run_is_recorded_logged_and_raised(services, caplog):
    def broken(built):
        raise RuntimeError("the registry is down\nsecond line of detail")

    job = _job(broken)
    with caplog.at_level(logging.ERROR, logger="engine.oversight.periodic"), pytest.raises(RuntimeError):
        run_recorded(job, services)
    row = _row(services, job.name)
    assert (row.outcome, row.detail, row.runs) == ("failed", "RuntimeError: the registry is down", 1)
    assert row.finished_at is not None
    assert any(job.name in r.getMessage() and r.exc_info for r in caplog.records)


def test_a_second_run_within_half_an_interval_is_skipped(services):
    """Several workers' cron processes (or a backed-up queue) run a job once per interval."""
    calls = []
    job = _job(lambda built: calls.append(1), interval=60)
    run_recorded(job, services)
    assert run_recorded(job, services) is None
    assert (len(calls), _row(services, job.name).runs) == (1, 1)


def test_staleness_is_three_intervals_from_the_last_run_or_the_observers_start(services):
    fresh, old, never = _job(None, 10), _job(None, 10), _job(None, 10)
    _record(services, fresh.name, finished_ago=29)
    _record(services, old.name, finished_ago=31)
    now = utcnow()

    # the observer has watched for a minute: judged by their runs alone
    watched = health(services.sessions, [fresh, old, never], since=now - timedelta(seconds=60), now=now)
    report = {j.job.name: j for j in watched.jobs}
    assert [report[j.name].stale for j in (fresh, old, never)] == [False, True, True]
    assert "last run finished 31s ago" in report[old.name].reason
    assert "since start" in report[never.name].reason

    # the observer started 20 s ago: a job that never ran, or ran long ago, still has grace
    report = health(services.sessions, [fresh, old, never], since=now - timedelta(seconds=20), now=now)
    assert report.healthy
    # no observer start known (worker --check with no cron running): never run is stale
    assert [j.stale for j in health(services.sessions, [fresh, never], since=None, now=now).jobs] == [False, True]


def test_an_hourly_job_is_not_stale_on_a_fresh_deployment(services):
    hourly = _job(None, 3600)
    now = utcnow()
    assert health(services.sessions, [hourly], since=now - timedelta(hours=2), now=now).healthy
    assert not health(services.sessions, [hourly], since=now - timedelta(hours=3, seconds=1), now=now).healthy


def test_healthz_lists_each_job_and_answers_503_naming_the_stale_one(services):
    app = create_app(services)
    for job in JOBS:
        _record(services, job.name, finished_ago=1)
    reply = app.test_client().get("/healthz")
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert body["status"] == "ok" and body["stale"] == []
    listed = {j["name"]: j for j in body["jobs"]}
    assert set(listed) == {job.name for job in JOBS}
    for job in periodic_jobs():
        assert listed[job.name]["interval_s"] == job.interval
        assert listed[job.name]["outcome"] == "ok" and listed[job.name]["last_run_at"]
        assert listed[job.name]["duration_ms"] == 5

    timers = next(job for job in periodic_jobs() if job.name == "fire_timers")
    _record(services, "fire_timers", finished_ago=3 * timers.interval + 5, outcome="failed")
    app.extensions["onewindow.started_at"] = utcnow() - timedelta(hours=4)  # watched long enough
    reply = app.test_client().get("/healthz")
    assert reply.status_code == 503
    body = reply.get_json()
    assert (body["status"], body["stale"], body["failed"]) == ("stale", ["fire_timers"], ["fire_timers"])
    assert {j["name"]: j["stale"] for j in body["jobs"]}["fire_timers"] is True
    assert len(body["jobs"]) == len(JOBS)


def test_worker_check_prints_the_table_and_fails_when_stale(services, monkeypatch):
    import onewindow.wiring
    import worker.main

    monkeypatch.setattr(onewindow.wiring, "process_services", lambda: services)
    monkeypatch.setattr(worker.main, "live_crons", lambda redis, jobs: [])  # whatever other tests left
    for job in JOBS:
        _record(services, job.name, finished_ago=1)
    result = CliRunner().invoke(cli, ["worker", "--check"])
    for job in periodic_jobs():
        assert f"job {job.name}" in result.output and f"run {job.name}" in result.output
    if os.environ.get("ONEWINDOW_REDIS_URL"):  # no cron process runs here: not healthy
        assert result.exit_code == 1 and "none running" in result.output
    else:  # embedded: `serve` runs the jobs; the table alone decides
        assert result.exit_code == 0, result.output
    _record(services, "sweep_deadlines", finished_ago=4 * 3600)
    result = CliRunner().invoke(cli, ["worker", "--check"])
    assert result.exit_code == 1 and "STALE" in result.output


def test_the_scale_shortens_every_interval_to_at_least_a_second():
    scaled = {job.name: job.interval for job in periodic_jobs({"ONEWINDOW_PERIODIC_SCALE": "0.01"})}
    assert scaled == {"fire_timers": 1, "sweep_deadlines": 1, "reconcile": 1, "proactive_benefits": 36}
    assert [job.interval for job in periodic_jobs({})] == [job.interval for job in JOBS]
    with pytest.raises(ValueError):
        periodic_jobs({"ONEWINDOW_PERIODIC_SCALE": "0"})
