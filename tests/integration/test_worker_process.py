"""The periodic jobs run by the real processes, with no job function called by the test.

On PostgreSQL + Redis: two ``onewindow worker``s (each one's cron process enqueues the
jobs, the workers run them) fire a BPMN timer, re-send the job a SIGKILLed worker lost
(done once), turn a deadline yellow, and /healthz reports each job's last run; a worker
whose cron process dies stops with one line and exit 1, and a SIGTERMed worker stops
cleanly (exit 0).
On the embedded default (SQLite): ``onewindow serve`` does the same from its own thread.

ONEWINDOW_PERIODIC_SCALE=0.01 runs every job each second (免申即享 every 36 s) so the
waits stay short; every process started here is stopped in a ``finally``.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from api import create_app
from onewindow.cli import main as cli
from engine.people import users
from engine.definitions.catalogue import upsert_matter
from engine.store.db import make_engine, make_session_factory, upgrade
from engine.demo import DEMO_PASSWORD, demo_people
from engine.store.models import Application, Event, PeriodicJobRun, utcnow
from engine.oversight.periodic import JOBS
from tests.integration.helpers import ApiClient
from tests.integration.services import free_port
from tests.integration.test_concurrent_approvals import give_identity
from tests.integration.test_timers import FIXTURES, FORM, RULESET
from tests.integration.test_worker import DEFERRED, application, events, rental_filing, submit_rental
from onewindow.wiring import build_services

BACKEND = os.environ.get("ONEWINDOW_TEST_BACKEND", "sqlite")
ONEWINDOW = str(Path(sys.executable).parent / "onewindow")
SCALE = {"ONEWINDOW_PERIODIC_SCALE": "0.01", "ONEWINDOW_RECONCILE_AFTER": "1"}
# test_timers' matter, its rule set worded apart: a version of its own whichever test deploys first
WAITING_PERIOD = {"matter": "waiting_period", "bpmn": (FIXTURES / "waiting_period.bpmn").read_text(encoding="utf-8"),
                  "ruleset": RULESET.replace("已填写", "已填写（定时任务）"), "form": FORM}
JOB_NAMES = {job.name for job in JOBS}
AGENT = "agent_post"  # the demo outlet's staff: the demo residents authorised it on paper (授权代办)
_unique = itertools.count(1)

needs_workers = pytest.mark.skipif(BACKEND != "postgres", reason=(
    "onewindow worker needs real PostgreSQL + Redis; on the embedded default `serve` runs the jobs "
    "(test_serve_runs_the_periodic_jobs_itself)"))
embedded_only = pytest.mark.skipif(BACKEND != "sqlite", reason=(
    "starts `onewindow serve` on its own SQLite file, once per CI run: in the SQLite backend's run"))


# --- processes ------------------------------------------------------------------------

@dataclass
class Started:
    popen: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, wait: float = 20) -> int:
        """Signal the whole process group (the worker, its cron, RQ's scheduler); SIGKILL if
        it does not stop in time. Returns the exit code."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, sig)
                return self.popen.wait(wait)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return self.popen.wait(10)


def start(tmp_path: Path, name: str, args: list[str], env: dict) -> Started:
    log = tmp_path / f"{name}-{next(_unique)}.log"
    with log.open("wb") as handle:
        popen = subprocess.Popen([ONEWINDOW, *args], env={**os.environ, **env}, stdout=handle,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    return Started(popen, log)


def wait_for(condition, seconds: float, what: str, process: Started | None = None):
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if result:
            return result
        if process is not None and process.popen.poll() is not None:
            raise AssertionError(f"the process exited ({process.popen.returncode}) before {what}:\n"
                                 + process.output()[-3000:])
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}"
                                 + (f":\n{process.output()[-3000:]}" if process else ""))
        time.sleep(0.1)


def wait_for_quietly(condition, seconds: float) -> bool:
    """Whether the condition came true within the time (for a test to assert later)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _children(pid: int) -> dict[int, str]:
    """A process's children and their command lines (Linux /proc)."""
    found = {}
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with contextlib.suppress(OSError):
            found[int(child)] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for PID 1 to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _make_user(services, role: str = "applicant", department: str | None = None) -> str:
    """A fresh account; an applicant is a verified person (实名认证) of the population registry."""
    name = f"process_{role}_{next(_unique)}_{os.getpid()}"
    with services.sessions() as session:
        user = users.create_user(session, name, DEMO_PASSWORD, role, department)
        if role == "applicant":
            give_identity(session, user)
        session.commit()
    return name


def _near_due_case(people: dict[str, str]) -> dict:
    """A case that waits for a clerk: the demo tenant named as the landlord of the demo
    landlord's flat (owner mismatch), filed by the outlet both authorised."""
    return {"matter": "rental_filing", "data": rental_filing(people["tenant"], people["landlord"])}


def _runs(sessions) -> dict[str, int]:
    with sessions() as session:
        return dict(session.execute(select(PeriodicJobRun.name, PeriodicJobRun.runs)).all())


def _colour(sessions, application_id: int) -> str:
    with sessions() as session:
        return session.get(Application, application_id).colour


def _alerts(sessions, application_id: int) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Event).where(
            Event.application_id == application_id, Event.kind == "supervision.alert"))


def _make_near_due(sessions, application_id: int) -> None:
    """Its yellow line in the past (its deadline still ahead): the next sweep turns it yellow."""
    with sessions() as session:
        session.execute(update(Application).where(Application.id == application_id)
                        .values(yellow_at=utcnow() - timedelta(minutes=1)))
        session.commit()


# --- PostgreSQL + Redis: onewindow worker -----------------------------------------------

@pytest.fixture(scope="module")
def worked(settings, services, people, tmp_path_factory):
    """A job lost with a SIGKILLed worker, a waiting timer and a near-due case; then two
    fresh workers that only their own crons drive."""
    from rq.registry import StartedJobRegistry

    from worker.queues import QUEUE_NAME

    if BACKEND != "postgres":
        pytest.skip("needs PostgreSQL + Redis")
    logs = tmp_path_factory.mktemp("workers")
    env = {"ONEWINDOW_DATABASE_URL": settings.database_url, "ONEWINDOW_REDIS_URL": settings.redis_url, **SCALE}
    deferred = build_services(replace(settings, source_options=DEFERRED))
    started = StartedJobRegistry(QUEUE_NAME, connection=deferred.queue.queue.connection)
    earlier = set(started.get_job_ids())  # a worker killed by an earlier test leaves its job listed
    lost = submit_rental(deferred, people, AGENT)
    doomed = start(logs, "doomed", ["worker"], {**env, "ONEWINDOW_SOURCES": json.dumps(
        {"property_registry": {"delay": 30, "timeout": 40}})})
    workers = [doomed]
    try:
        try:
            wait_for(lambda: set(started.get_job_ids()) - earlier, 30, "the doomed worker to start the job", doomed)
            time.sleep(1)  # inside the slow registry read, before any commit
            children = _children(doomed.popen.pid)
        finally:
            doomed.popen.kill()  # the worker alone, as the OOM killer would: its children live on
            doomed.popen.wait(10)
        orphaned_cron = [pid for pid, command in children.items() if "spawn_main" in command]
        for pid, command in children.items():
            if "onewindow" in command:  # RQ's own scheduler process does not notice (not ours to test)
                os.kill(pid, signal.SIGKILL)
        assert application(services, lost["id"]).pending_since is not None
        # The orphan enqueues until it notices; the later tests must be driven by fresh crons only.
        orphan_stopped = wait_for_quietly(lambda: not any(map(_running, orphaned_cron)), 30)

        api = ApiClient(create_app(services))
        with services.sessions() as session:
            upsert_matter(session, {"code": "waiting_period", "name": "公示期测试", "department": "civil_affairs",
                                    "promised_days": 1, "legal_days": 1})
            session.commit()
        deployed = api.post("/api/definitions", _make_user(services, "analyst"), json=WAITING_PERIOD)
        assert deployed.status_code in (200, 201), deployed.get_json()
        timer = api.post("/api/applications", _make_user(services), json={"matter": "waiting_period",
                                                                        "data": {"name": "周九"}}).get_json()
        assert timer["status"] == "waiting", timer
        near_due = api.post("/api/applications", AGENT, json=_near_due_case(people)).get_json()
        assert near_due["status"] == "waiting" and near_due.get("colour", "green") == "green", near_due
        _make_near_due(services.sessions, near_due["id"])

        survivor = start(logs, "survivor", ["worker"], env)
        workers.append(survivor)
        second = start(logs, "second", ["worker"], env)  # production runs several workers, each with a cron
        workers.append(second)
        yield SimpleNamespace(worker=survivor, second=second, lost=lost["id"], timer=timer["id"],
                              near_due=near_due["id"], env=env, orphaned_cron=orphaned_cron,
                              orphan_stopped=orphan_stopped)
    finally:
        for process in reversed(workers):
            process.stop(signal.SIGKILL if process is doomed else signal.SIGTERM)  # the doomed: what is left
        deferred.sessions.kw["bind"].dispose()


@needs_workers
def test_the_workers_cron_fires_a_bpmn_timer(services, worked):
    wait_for(lambda: application(services, worked.timer).status == "completed", 60,
             "the timer's application to complete", worked.worker)
    done = application(services, worked.timer)
    assert (done.outcome, done.timer_due_at, done.pending_since) == ("approve", None, None)


@needs_workers
def test_the_reconciler_resends_the_job_a_killed_worker_lost_and_it_is_done_once(services, worked):
    wait_for(lambda: application(services, worked.lost).status == "completed", 60,
             "the lost application to complete", worked.worker)
    assert application(services, worked.lost).outcome == "approve"
    assert events(services, worked.lost, "application.decided") == 1
    with services.sessions() as session:
        runs = session.scalars(select(Event.data).where(Event.application_id == worked.lost, Event.kind == "steps"))
        assert len([s for run in runs for s in run["steps"] if s["element"] == "Task_decide"]) == 1
    assert _runs(services.sessions).get("reconcile", 0) >= 1


@needs_workers
def test_the_deadline_sweep_turns_a_case_yellow(services, worked):
    wait_for(lambda: _colour(services.sessions, worked.near_due) == "yellow", 60, "the case to turn yellow",
             worked.worker)
    assert _alerts(services.sessions, worked.near_due) == 1


@needs_workers
def test_healthz_and_worker_check_report_each_jobs_last_run(services, worked, monkeypatch):
    from redis import Redis

    from engine.oversight.periodic import periodic_jobs
    from worker.main import live_crons

    redis = Redis.from_url(worked.env["ONEWINDOW_REDIS_URL"])
    wait_for(lambda: live_crons(redis, periodic_jobs()), 60, "a live cron", worked.worker)
    wait_for(lambda: all(_runs(services.sessions).get(name, 0) >= 1 for name in JOB_NAMES), 60,
             "every periodic job to have run", worked.worker)
    app = create_app(services)
    app.extensions["onewindow.started_at"] = utcnow() - timedelta(hours=4)  # no grace: fresh runs only
    reply = app.test_client().get("/healthz")
    assert reply.status_code == 200, reply.get_json()
    listed = {job["name"]: job for job in reply.get_json()["jobs"]}
    assert set(listed) == JOB_NAMES
    for job in listed.values():
        assert job["runs"] >= 1 and job["last_run_at"] and job["duration_ms"] is not None, job
        assert job["outcome"] == "ok" and not job["stale"], job

    import onewindow.wiring

    monkeypatch.setattr(onewindow.wiring, "process_services", lambda: services)
    # Judged on production's intervals (a cron is live if it beat within 15 s): the workers' 1 s
    # intervals gave a 3 s window that a heartbeat missed now and then under the whole suite (any
    # scale below 0.2 gives the same, since an interval is at least 1 s). A dead cron still shows.
    monkeypatch.delenv("ONEWINDOW_PERIODIC_SCALE", raising=False)
    check = CliRunner().invoke(cli, ["worker", "--check"])
    assert check.exit_code == 0, check.output
    assert "cron " in check.output and "none running" not in check.output
    assert all(f"run {name}" in check.output for name in JOB_NAMES)


@needs_workers
def test_the_cron_process_of_a_sigkilled_worker_stops_too(worked):
    """Else two crons would enqueue for one worker after a restart, and one for none."""
    assert len(worked.orphaned_cron) == 1
    assert worked.orphan_stopped, f"the orphaned cron process {worked.orphaned_cron[0]} still runs after 30 s"


@needs_workers
def test_a_worker_whose_cron_process_dies_stops_with_one_line_and_exit_1(worked):
    """Runs last: it ends the module's worker."""
    from redis import Redis
    from rq.cron import CronScheduler

    redis = Redis.from_url(worked.env["ONEWINDOW_REDIS_URL"])

    def cron_child() -> int | None:
        for cron in CronScheduler.all(redis):
            stat = Path(f"/proc/{cron.pid}/stat")
            if stat.exists() and int(stat.read_text().rsplit(")", 1)[1].split()[1]) == worked.worker.popen.pid:
                return cron.pid
        return None

    os.kill(wait_for(cron_child, 30, "the worker's cron process", worked.worker), signal.SIGKILL)
    assert worked.worker.popen.wait(20) == 1
    errors = [line for line in worked.worker.output().splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith("Error: the cron process stopped (exit code -9)"), errors
    assert "the worker stopped too" in errors[0]


def test_a_cron_process_that_cannot_start_reports_one_line_and_exits_1(monkeypatch):
    """What the worker prints when its cron cannot start (here: no Redis where it looks)."""
    import multiprocessing

    import worker.main

    monkeypatch.setattr(worker.main, "_stop_with_parent", lambda parent: None)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    receive, send = multiprocessing.Pipe(duplex=False)
    try:
        with pytest.raises(SystemExit) as exited:
            worker.main._run_cron(f"redis://127.0.0.1:{free_port()}/0", send, os.getppid())
    finally:
        for sig, handler in handlers.items():  # CronScheduler.start installs its own
            signal.signal(sig, handler)
    assert exited.value.code == 1
    line = receive.recv()
    assert line.startswith("ConnectionError: ") and "\n" not in line, line


@needs_workers
def test_a_sigterm_stops_the_worker_and_its_cron_cleanly(worked):
    wait_for(lambda: "registering birth" in worked.second.output(), 30, "the cron process to start", worked.second)
    assert worked.second.stop(signal.SIGTERM) == 0, worked.second.output()[-2000:]
    assert "Error" not in worked.second.output()


# --- the embedded default: onewindow serve ----------------------------------------------

def _http(base: str, method: str, path: str, token: str | None = None, body: dict | None = None):
    request = urllib.request.Request(base + path, method=method, data=None if body is None else
                                     json.dumps(body).encode(), headers={"Content-Type": "application/json",
                                                                         **({"Authorization": f"Bearer {token}"}
                                                                            if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def answering(base: str):
    """A wait_for condition: /healthz's (status, body) once the server at ``base`` answers."""
    def probe():
        try:
            return _http(base, "GET", "/healthz")
        except OSError:
            return None
    return probe


def _login(base: str, username: str) -> str:
    status, body = _http(base, "POST", "/api/auth/login", body={"username": username, "password": DEMO_PASSWORD})
    assert status == 200, body
    return body["token"]


@embedded_only
def test_serve_runs_the_periodic_jobs_itself(tmp_path):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    upgrade(url)
    database = make_engine(url)
    sessions = make_session_factory(database)
    with sessions() as session:  # a matter whose approval waits out a 1-second BPMN timer
        upsert_matter(session, {"code": "waiting_period", "name": "公示期测试", "department": "civil_affairs",
                                "promised_days": 1, "legal_days": 1})
        session.commit()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"ONEWINDOW_DATABASE_URL": url, "ONEWINDOW_REDIS_URL": "", **SCALE}
    server = start(tmp_path, "serve", ["serve", "--port", str(port)], env)
    try:
        wait_for(answering(base), 60, "serve to answer", server)

        status, body = _http(base, "POST", "/api/definitions", _login(base, "analyst"), WAITING_PERIOD)
        assert status == 201, body
        alice = _login(base, "alice")
        status, timer = _http(base, "POST", "/api/applications", alice,
                              {"matter": "waiting_period", "data": {"name": "周九"}})
        assert (status, timer["status"]) == (202, "waiting"), timer
        status, near_due = _http(base, "POST", "/api/applications", _login(base, AGENT),
                                 _near_due_case(demo_people(date.today())))  # serve loaded the demo data
        assert near_due["status"] == "waiting", near_due
        _make_near_due(sessions, near_due["id"])

        wait_for(lambda: _http(base, "GET", f"/api/applications/{timer['reference']}", alice)[1]["status"] == "completed",
                 30, "the timer to fire in serve", server)
        assert _http(base, "GET", f"/api/applications/{timer['reference']}", alice)[1]["outcome"] == "approve"
        wait_for(lambda: _colour(sessions, near_due["id"]) == "yellow", 30, "the case to turn yellow", server)
        assert _alerts(sessions, near_due["id"]) == 1

        def every_job_ran():
            status, body = _http(base, "GET", "/healthz")
            return (status, body) if all(job["runs"] >= 1 for job in body["jobs"]) else None
        status, health = wait_for(every_job_ran, 30, "every job's first run in /healthz", server)
        assert status == 200 and health["status"] == "ok", health
        assert {job["name"] for job in health["jobs"]} == JOB_NAMES
        for job in health["jobs"]:
            assert job["last_run_at"] and job["outcome"] == "ok" and job["interval_s"] >= 1, job
    finally:
        server.stop()
        database.dispose()


@needs_workers
def test_a_real_worker_settles_a_bundle_when_its_member_is_decided(settings, services, resident, applicant_for,
                                                                    tmp_path):
    """一件事 as it runs: the licence decided by a clerk through the API hands the bundle to a
    real ``onewindow worker``, which starts the four steps that needed the licence — the two
    instant ones are approved there and then."""
    from tests.integration.test_bundles import startup_form, status

    env = {"ONEWINDOW_DATABASE_URL": settings.database_url, "ONEWINDOW_REDIS_URL": settings.redis_url, **SCALE}
    api = ApiClient(create_app(services))
    id_number = resident(33)
    applicant = applicant_for(id_number)
    body = api.post("/api/bundles/business_startup/applications", applicant,
                    json={"data": startup_form(id_number)}).get_json()
    worker = start(tmp_path, "bundle-worker", ["worker"], env)
    try:
        registration = next(m for m in status(api, applicant, body["reference"])["members"]
                            if m["matter"] == "company_registration")
        with services.sessions() as session:
            member_id = session.scalars(select(Application.id).where(
                Application.tracking_no == registration["tracking_no"])).one()
        task = next(t for t in api.get("/api/tasks", "clerk_market").get_json() if t["application_id"] == member_id)
        assert api.post(f"/api/tasks/{task['id']}/complete", "clerk_market",
                        json={"outcome": "approve"}).status_code == 200

        expected = {"company_registration": "done", "seal_engraving": "done", "housing_fund_registration": "done",
                    "invoice_application": "in_progress", "social_insurance_registration": "in_progress"}

        def settled():
            return {m["matter"]: m["state"] for m in status(api, applicant, body["reference"])["members"]} == expected
        wait_for(settled, 60, "the worker to start the members the licence unblocked", worker)
    finally:
        assert worker.stop() == 0
