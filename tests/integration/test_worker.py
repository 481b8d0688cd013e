"""Work that waits: a slow source read by a worker, lost jobs and killed workers.

Nothing is lost (the application row keeps the pending work until it is done) and
nothing is done twice (the version column lets only one advance commit).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api import create_app
from engine.store.models import Application, Event
from tests.integration.helpers import ApiClient, decision_of, demo_name, run_queued_work
from onewindow.wiring import build_services

DEFERRED = {"property_registry": {"deferred": True}}
OWN_FLAT = "琼(2024)海口市不动产权第0000001号"  # the demo landlord's flat (engine/demo.py)


class LostJobs:
    """A transport that drops every job, as a crashed Redis or a flushed queue would."""

    def __init__(self) -> None:
        self.dropped: list[int] = []

    def enqueue_advance(self, application_id: int) -> None:
        self.dropped.append(application_id)


@pytest.fixture
def deferred_services(settings, services):
    """The same database, with the property registry slow enough to be read by workers only."""
    return build_services(replace(settings, source_options=DEFERRED))


def events(services, application_id: int, kind: str) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(Event).where(
            Event.application_id == application_id, Event.kind == kind))


def application(services, application_id: int) -> Application:
    with services.sessions() as session:
        return session.get(Application, application_id)


def rental_filing(landlord: str, tenant: str) -> dict:
    """A filing (房屋租赁登记备案) of the demo landlord's own flat, naming both parties as the
    registry does. Anyone but the owner named as landlord is an owner mismatch, which waits
    for a housing clerk."""
    return {"landlord_id_number": landlord, "tenant_id_number": tenant, "property_cert_no": OWN_FLAT,
            "landlord_name": demo_name(landlord), "tenant_name": demo_name(tenant),
            "address": "海口市龙华区滨海大道1号", "start_date": "2026-12-01", "end_date": "2027-11-30",
            "monthly_rent": 3000, "phone": "13900139000"}


def submit_rental(services, people, applicant: str) -> dict:
    """The demo landlord's filing of their flat, by ``applicant`` (a party, or someone they authorised)."""
    client = ApiClient(create_app(services))
    reply = client.post("/api/applications", applicant, json={
        "matter": "rental_filing", "data": rental_filing(people["landlord"], people["tenant"])})
    assert reply.status_code == 202, reply.get_json()
    return reply.get_json()


def test_a_slow_source_is_read_by_a_worker(deferred_services, people, applicant_for):
    body = submit_rental(deferred_services, people, applicant_for(people["landlord"]))
    # answered before the rules ran (a worker may run them at any moment now): nothing decided, nothing explained
    assert (body["status"], body["decision"], body["reasons"]) == ("running", None, [])
    run_queued_work(deferred_services)
    done = application(deferred_services, body["id"])
    assert (done.status, done.outcome, done.pending_since) == ("completed", "approve", None)
    assert events(deferred_services, body["id"], "work.deferred") == 1


def test_a_lost_job_is_recovered_by_the_reconciler(settings, services, deferred_services, people, applicant_for):
    lost = LostJobs()
    deferred_services = replace(deferred_services, queue=lost)
    body = submit_rental(deferred_services, people, applicant_for(people["landlord"]))
    assert lost.dropped == [body["id"]]
    assert application(services, body["id"]).status == "running"
    assert body["id"] in services.work.reconcile(timedelta(0))
    run_queued_work(services)
    assert application(services, body["id"]).outcome == "approve"
    assert events(services, body["id"], "application.decided") == 1


def _worker(settings, delay: float) -> subprocess.Popen:
    env = {**os.environ, "ONEWINDOW_DATABASE_URL": settings.database_url,
           "ONEWINDOW_REDIS_URL": settings.redis_url,
           "ONEWINDOW_SOURCES": json.dumps({"property_registry": {"delay": delay, "timeout": delay + 10}})}
    command = [str(Path(sys.executable).parent / "onewindow"), "worker"]
    return subprocess.Popen(command, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.skipif(os.environ.get("ONEWINDOW_TEST_BACKEND", "sqlite") != "postgres",
                    reason="needs a worker process on real Redis; the embedded default has none")
def test_a_worker_killed_mid_job_loses_nothing_and_does_nothing_twice(settings, services, deferred_services,
                                                                      people, applicant_for):
    from rq.registry import StartedJobRegistry

    from worker.queues import QUEUE_NAME

    body = submit_rental(deferred_services, people, applicant_for(people["landlord"]))
    redis = deferred_services.queue.queue.connection
    started = StartedJobRegistry(QUEUE_NAME, connection=redis)
    doomed = _worker(settings, delay=30)
    try:
        _wait_for(lambda: started.count > 0, 30, "the worker to start the job")
        time.sleep(1)  # inside the slow registry read, before any commit
    finally:
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
    stuck = application(services, body["id"])
    assert stuck.status == "running" and stuck.pending_since is not None
    assert events(services, body["id"], "application.decided") == 0

    assert body["id"] in services.work.reconcile(timedelta(0))
    survivor = _worker(settings, delay=0)
    try:
        _wait_for(lambda: application(services, body["id"]).status == "completed", 60, "the application to finish")
    finally:
        os.killpg(survivor.pid, signal.SIGTERM)
        survivor.wait(20)
    assert application(services, body["id"]).outcome == "approve"
    assert events(services, body["id"], "application.decided") == 1
    with services.sessions() as session:
        runs = session.scalars(select(Event.data).where(Event.application_id == body["id"], Event.kind == "steps"))
        decide_steps = [s for run in runs for s in run["steps"] if s["element"] == "Task_decide"]
    assert len(decide_steps) == 1


def test_a_source_that_does_not_answer_in_time_gives_manual_not_reject(settings, services, resident, applicant_for):
    slow = build_services(replace(settings, source_options={"population_registry": {"delay": 1.0, "timeout": 0.2}}))
    client = ApiClient(create_app(slow))
    id_number = resident(85)
    body = client.post("/api/applications", applicant_for(id_number), json={"matter": "elderly_subsidy", "data": {
        "id_number": id_number, "phone": "13500135000"}}).get_json()
    decision = decision_of(client, body["id"])
    assert decision["outcome"] == "manual" and body["status"] == "waiting"
    assert decision["facts"]["household_local"]["status"] == "unavailable"
    assert "missing:household_local" in [r["rule"] for r in decision["reasons"]]
