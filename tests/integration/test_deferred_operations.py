"""``deferred`` holds for every operation, not only a rule set's facts: a credit registry or
an e-licence library configured as slow is read by a worker, never inside the request
(engine/operations/: each operation names the sources it reads; engine/sources/ reads them).

Every read of the wrapped source records the thread it ran on: the request runs on the
test's own thread, the embedded worker on its work thread; an RQ worker (PostgreSQL runs)
builds its own services from the environment and never touches the wrapper at all.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from api import create_app
from engine.definitions.catalogue import upsert_matter
from engine.sources import Source, SourceRecord
from tests.integration.helpers import ApiClient, run_queued_work

MATTER = "publication_retail_check"  # credit.check, then materials.fetch (BPMN Task_credit, Task_fetch)


@dataclass
class SlowSource:
    """A real adapter, configured ``deferred``, that records which thread read it."""

    inner: Source
    threads: list[str] = field(default_factory=list)
    deferred: bool = True

    @property
    def name(self) -> str:
        return self.inner.name

    def lookup(self, key: str) -> SourceRecord:
        self.threads.append(threading.current_thread().name)
        return self.inner.lookup(key)


def _submit(client: ApiClient, applicant: str, credit_code: str):
    return client.post("/api/applications", applicant, json={"matter": MATTER, "data": {
        "credit_code": credit_code, "phone": "13800138000", "business_address": "海口市龙华区国贸路1号",
        "report_year": 2025, "business_area_m2": 120, "annual_sales": 85.5, "staff_count": 6, "penalties": 0,
        "truthful": True}})


@pytest.mark.parametrize("slow_source, element", [
    ("credit_registry", "Task_credit"),  # credit.check
    ("licence_library", "Task_fetch"),  # materials.fetch
])
def test_a_deferred_source_of_a_service_operation_is_read_by_a_worker(services, company, applicant_for,
                                                                      slow_source, element):
    slow = SlowSource(services.sources[slow_source])
    deferring = replace(services, sources={**services.sources, slow_source: slow})
    client = ApiClient(create_app(deferring))
    credit_code = company("red")
    applicant = applicant_for(credit_code)

    reply = _submit(client, applicant, credit_code)
    assert reply.status_code == 202, reply.get_json()  # handed to a worker, not decided in the request
    body = reply.get_json()
    assert body["status"] == "running" and body["outcome"] is None
    assert threading.current_thread().name not in slow.threads  # the request never read it

    run_queued_work(deferring)
    done = client.get(f"/api/applications/{body['reference']}", applicant).get_json()
    assert (done["status"], done["outcome"]) == ("completed", "approve"), done
    assert threading.current_thread().name not in slow.threads
    deferred = [e["data"] for e in done["history"] if e["kind"] == "work.deferred"]
    assert deferred == [{"element": element, "sources": [slow_source]}]
    kinds = [e["kind"] for e in done["history"]]
    assert "credit.checked" in kinds and "materials.fetched" in kinds
    assert done["materials"]["avoided"] == 2  # the library was read, by the worker


# --- 退回 hands deferred work over at once ---------------------------------------------------

RULESET = """matter: {matter}
facts:
  alive: {{type: boolean, label: 健在, source: death_records, key: id_number, field: alive}}
rules:
  - id: alive
    when: {{alive: {{eq: true}}}}
    outcome: approve
    message: 健在
"""
FORM = """{"type": "default", "id": "send_back_test", "components": [
  {"type": "textfield", "key": "id_number", "label": "身份证号", "validate": {"required": true}}]}"""


class KeptJobs:
    """A transport that keeps what it is handed (a worker would take it from here)."""

    def __init__(self) -> None:
        self.handed: list[int] = []

    def enqueue_advance(self, application_id: int) -> None:
        self.handed.append(application_id)


def test_a_send_back_hands_the_work_still_waiting_for_a_worker_over_at_once(services, new_user, resident):
    matter = "send_back_beside_slow_check"
    with services.sessions() as session:
        upsert_matter(session, {"code": matter, "name": "退回测试", "department": "civil_affairs",
                                "promised_days": 5, "legal_days": 20})
        session.commit()
    kept = KeptJobs()
    deferring = replace(services, queue=kept, sources={
        **services.sources, "death_records": SlowSource(services.sources["death_records"])})
    client = ApiClient(create_app(deferring))
    bpmn = (Path(__file__).parent / "fixtures" / "modellers" / f"{matter}.bpmn").read_text(encoding="utf-8")
    deployed = client.post("/api/definitions", new_user("analyst"), json={"matter": matter, "files": {
        f"{matter}.bpmn": bpmn, "rules.yaml": RULESET.format(matter=matter), "form.json": FORM}})
    assert deployed.status_code == 201, deployed.get_json()
    clerk = new_user("clerk", "civil_affairs")

    submitted = client.post("/api/applications", new_user(), json={"matter": matter,
                                                                  "data": {"id_number": resident(70)}})
    assert submitted.status_code == 202, submitted.get_json()
    application_id = submitted.get_json()["id"]
    assert kept.handed == [application_id]  # the check waits for a worker (none takes it here)

    def waiting_task(element: str) -> dict:
        task, = [t for t in client.get("/api/tasks", clerk).get_json() if t["application_id"] == application_id]
        assert task["element_id"] == element
        return task

    intake = waiting_task("Task_intake")
    assert client.post(f"/api/tasks/{intake['id']}/complete", clerk, json={"outcome": "approve"}).status_code == 200
    assert kept.handed == [application_id] * 2  # the run after the completion defers the check again
    sent_back = client.post(f"/api/tasks/{waiting_task('Task_review')['id']}/send-back", clerk,
                            json={"to": "Task_intake", "reason": "身份证明模糊，请重新受理"})
    assert sent_back.status_code == 200, sent_back.get_json()
    assert kept.handed == [application_id] * 3  # handed over by the send-back itself, not the reconciler
    waiting_task("Task_intake")
