"""A run that fails: an incident for staff, 转人工处理 for the applicant, a retry after the fix.

Each test deploys its own matter (a copy of 高龄补贴 under a fresh code) so that a broken
version never becomes the current version of a shipped matter for other tests.
"""
from __future__ import annotations

import itertools
import json

import pytest
from sqlalchemy import select

from engine.definitions.catalogue import read_catalogue, upload_for, upsert_matter
from engine.oversight.incidents import APPLICANT_NOTICE, MANUAL_TASK_ELEMENT
from engine.running.run import AUDITED_STEPS
from engine.store.models import Event, Incident

ELDERLY = next(e for e in read_catalogue() if e["code"] == "elderly_subsidy")
GOOD_STEP = "amount = decision['values'].get('amount', 0)"
_unique = itertools.count(1)


@pytest.fixture
def scratch_matter(services):
    """A fresh matter code with the elderly subsidy's catalogue entry (its own department
    queue is civil_affairs), and a function deploying its files with a step replaced."""
    code = f"scratch_{next(_unique)}_{id(services) % 1000}"
    with services.sessions() as session:
        upsert_matter(session, {**ELDERLY, "code": code, "name": f"测试事项{code}"})
        session.commit()
    files = upload_for(ELDERLY)

    def body(step: str = GOOD_STEP) -> dict:
        assert GOOD_STEP in files.bpmn
        return {"matter": code, "bpmn": files.bpmn.replace(GOOD_STEP, step),
                "ruleset": files.ruleset.replace("matter: elderly_subsidy", f"matter: {code}"), "form": files.form}
    return code, body


def _deploy(api, analyst: str, body: dict) -> int:
    reply = api.post("/api/definitions", analyst, json=body)
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()["version"]


def _apply(api, applicant: str, code: str, id_number: str) -> dict:
    """Apply for ``id_number`` (the name is filled from the population registry)."""
    reply = api.post("/api/applications", applicant, json={"matter": code, "data": {
        "id_number": id_number, "phone": "13800138000"}})
    assert reply.status_code in (201, 202), reply.get_json()
    return reply.get_json()


def test_a_failing_step_opens_an_incident_and_the_applicant_reads_only_the_neutral_notice(
        api, services, new_user, resident, applicant_for, scratch_matter):
    code, body = scratch_matter
    analyst, clerk, id_number = new_user("analyst"), new_user("clerk", "civil_affairs"), resident(85)
    applicant = applicant_for(id_number)
    _deploy(api, analyst, body("amount = 1 // 0"))
    submitted = _apply(api, applicant, code, id_number)

    assert submitted["status"] == "failed" and submitted["outcome"] is None
    assert submitted["notice"] == APPLICANT_NOTICE
    seen = json.dumps(api.get(f"/api/applications/{submitted['reference']}", applicant).get_json(), ensure_ascii=False)
    for internal in ("ZeroDivision", "Traceback", "Sandbox", "division", "Error"):
        assert internal not in seen, internal

    incidents = api.get(f"/api/incidents?application={submitted['id']}", analyst).get_json()
    assert [(i["kind"], i["element_id"], i["status"]) for i in incidents] == [("script_error", "Task_grant", "open")]
    assert "ZeroDivisionError" in incidents[0]["error"]
    assert api.get("/api/incidents", applicant).status_code == 403
    assert api.get("/api/incidents", clerk).status_code == 403
    queue = [t for t in api.get("/api/tasks", clerk).get_json() if t["application_id"] == submitted["id"]]
    assert [t["element_id"] for t in queue] == [MANUAL_TASK_ELEMENT]
    # the clerk opens it (no form: the analyst fixes the definition and retries); doing it is refused
    manual = queue[0]["id"]
    opened = api.get(f"/api/tasks/{manual}", clerk)
    assert opened.status_code == 200 and opened.get_json()["form"] is None, opened.get_json()
    api.post(f"/api/tasks/{manual}/claim", clerk)
    for action, answer in (("complete", {"outcome": "approve"}), ("send-back", {"to": "Task_grant", "reason": "退回"})):
        refused = api.post(f"/api/tasks/{manual}/{action}", clerk, json=answer)
        assert refused.status_code == 409 and "系统异常" in refused.get_json()["detail"], (action, refused.get_json())


def test_a_retry_after_the_fix_runs_the_failed_step_on_the_new_version(api, services, new_user, resident,
                                                                       applicant_for, scratch_matter):
    code, body = scratch_matter
    analyst, clerk, id_number = new_user("analyst"), new_user("clerk", "civil_affairs"), resident(85)
    applicant = applicant_for(id_number)
    broken = _deploy(api, analyst, body("amount = 1 // 0"))
    failed = _apply(api, applicant, code, id_number)
    incident = api.get(f"/api/incidents?application={failed['id']}", analyst).get_json()[0]

    still_broken = api.post(f"/api/incidents/{incident['id']}/retry", analyst)
    assert still_broken.status_code == 200 and still_broken.get_json()["status"] == "failed"
    fixed = _deploy(api, analyst, body())
    assert fixed == broken + 1
    newest = api.get(f"/api/incidents?application={failed['id']}", analyst).get_json()
    assert len(newest) == 1 and newest[0]["id"] != incident["id"]  # the first retry's failure is a new one
    retried = api.post(f"/api/incidents/{newest[0]['id']}/retry", analyst)
    assert retried.status_code == 200, retried.get_json()
    done = retried.get_json()
    assert (done["status"], done["outcome"], done["definition_version"]) == ("completed", "approve", fixed)
    assert done["result"]["amount"] == 100 and done["result"]["notice_no"] == done["result_no"]
    assert api.get(f"/api/incidents?application={failed['id']}", analyst).get_json() == []
    assert api.post(f"/api/incidents/{newest[0]['id']}/retry", analyst).status_code == 409
    assert not [t for t in api.get("/api/tasks", clerk).get_json() if t["application_id"] == failed["id"]]
    with services.sessions() as session:
        statuses = session.scalars(select(Incident.status).where(Incident.application_id == failed["id"])).all()
    assert sorted(statuses) == ["resolved", "resolved"]


def test_an_unknown_incident_is_not_found(api, new_user):
    assert api.post("/api/incidents/2147483647/retry", new_user("admin")).status_code == 404


def test_a_flow_loop_past_spiffworkflows_depth_limit_ends_at_its_end_event(api, new_user, resident,
                                                                          applicant_for, scratch_matter):
    """Before: a 600-turn script loop ended ``completed`` with no outcome (SpiffWorkflow's
    task iterator gave up at depth 1000). The engine keeps the tree bounded, so the loop
    runs to its end event, and completes only there."""
    from tests.unit.test_loops import counting_loop

    code, body = scratch_matter
    loop = counting_loop(2_000).replace("i = 0", "i = 0\noutcome = 'approve'\nresult = {'turns': 0}") \
        .replace('<bpmn:endEvent id="end"/>', '<bpmn:scriptTask id="tally"><bpmn:script>result = {\'turns\': i}'
                 '</bpmn:script></bpmn:scriptTask><bpmn:endEvent id="end"/>') \
        .replace('targetRef="end"', 'targetRef="tally"')
    loop = loop.replace("</bpmn:process>", '<bpmn:sequenceFlow id="f_end" sourceRef="tally" targetRef="end"/>'
                                           "</bpmn:process>")
    _deploy(api, new_user("analyst"), {**body(), "bpmn": loop})
    id_number = resident(85)
    done = _apply(api, applicant_for(id_number), code, id_number)
    assert (done["status"], done["outcome"]) == ("completed", "approve"), done  # unbounded: failed, no_end_event
    assert done["result"]["turns"] == 2_000


def test_a_flow_loop_that_never_exits_stops_at_the_runs_step_budget_into_an_incident(api, services, new_user, resident,
                                                                                    applicant_for, scratch_matter):
    from tests.unit.test_loops import counting_loop

    code, body = scratch_matter
    analyst = new_user("analyst")
    _deploy(api, analyst, {**body(), "bpmn": counting_loop(10**9)})
    id_number = resident(85)
    failed = _apply(api, applicant_for(id_number), code, id_number)
    assert (failed["status"], failed["notice"]) == ("failed", APPLICANT_NOTICE)
    incident = api.get(f"/api/incidents?application={failed['id']}", analyst).get_json()[0]
    assert incident["kind"] == "budget_exceeded" and incident["element_id"] in ("step", "more", "init")
    with services.sessions() as session:
        audited = session.scalars(select(Event.data).where(Event.application_id == failed["id"],
                                                           Event.kind == "steps")).one()
    assert len(audited["steps"]) == AUDITED_STEPS and audited["more"] > 20_000
