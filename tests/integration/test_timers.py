"""BPMN timers: the due time is kept in an indexed column and a scheduler job fires it."""
from __future__ import annotations

import time
from pathlib import Path

from engine.definitions.catalogue import upsert_matter
from engine.store.models import Application
from tests.integration.helpers import run_queued_work

FIXTURES = Path(__file__).parent / "fixtures"
RULESET = """matter: waiting_period
facts:
  name: {type: string, source: form}
rules:
  - id: named
    when: {name: {ne: ""}}
    outcome: approve
    message: 已填写
"""
FORM = """{"type": "default", "id": "waiting_period", "components": [
  {"type": "textfield", "key": "name", "label": "姓名", "validate": {"required": true}}]}"""


def test_a_timer_fires_through_the_scheduler_job(api, services, new_user):
    with services.sessions() as session:
        upsert_matter(session, {"code": "waiting_period", "name": "公示期测试", "department": "civil_affairs",
                                "promised_days": 1, "legal_days": 1})
        session.commit()
    deployed = api.post("/api/definitions", new_user("analyst"), json={
        "matter": "waiting_period", "bpmn": (FIXTURES / "waiting_period.bpmn").read_text(encoding="utf-8"),
        "ruleset": RULESET, "form": FORM})
    assert deployed.status_code == 201, deployed.get_json()

    body = api.post("/api/applications", new_user(), json={"matter": "waiting_period", "data": {"name": "周九"}}).get_json()
    assert body["status"] == "waiting"
    with services.sessions() as session:
        due = session.get(Application, body["id"]).timer_due_at
    assert due is not None
    assert body["id"] not in services.work.fire_timers()  # not due yet
    time.sleep(1.2)
    assert body["id"] in services.work.fire_timers()
    run_queued_work(services)
    with services.sessions() as session:
        done = session.get(Application, body["id"])
        assert (done.status, done.outcome, done.timer_due_at) == ("completed", "approve", None)
    assert body["id"] not in services.work.fire_timers()
