"""Deploying definitions: refusals name the element, versions are immutable."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.definitions.catalogue import read_catalogue, upload_for
from engine.store.models import ServiceDefinition
from tests.integration.helpers import with_silent_source

ELDERLY = next(e for e in read_catalogue() if e["code"] == "elderly_subsidy")


def upload(**changes) -> dict:
    files = upload_for(ELDERLY)
    body = {"matter": "elderly_subsidy", "bpmn": files.bpmn, "ruleset": files.ruleset, "form": files.form}
    return {**body, **changes}


def count_definitions(services) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(ServiceDefinition))


@pytest.mark.parametrize("bad_script", ["result = __import__('os').getcwd()", "outcome = ().__class__",
                                        "x = ().__class__.__base__.__subclasses__()", "open('/etc/passwd')"])
def test_a_script_outside_the_sandbox_is_refused_naming_the_element(api, services, new_user, bad_script):
    bpmn = upload()["bpmn"].replace("outcome = 'reject'\nresult = {}", bad_script)
    before = count_definitions(services)
    reply = api.post("/api/definitions", new_user("analyst"), json=upload(bpmn=bpmn))
    assert reply.status_code == 400, reply.get_json()
    problems = reply.get_json()["problems"]
    assert [(p["file"], p["element_id"]) for p in problems] == [("process.bpmn", "Task_refuse")]
    assert count_definitions(services) == before


def test_a_condition_outside_the_sandbox_is_refused(api, services, new_user):
    bpmn = upload()["bpmn"].replace("decision['outcome'] == 'reject'", "().__class__.__base__ is None")
    reply = api.post("/api/definitions", new_user("analyst"), json=upload(bpmn=bpmn))
    assert reply.status_code == 400
    assert reply.get_json()["problems"][0]["element_id"] in ("Gateway_outcome", "Flow_reject")


def test_a_rule_set_with_a_typo_in_a_fact_name_is_refused_naming_the_rule(api, new_user):
    ruleset = upload()["ruleset"].replace("{age: {lt: 80}}", "{agee: {lt: 80}}")
    assert ruleset != upload()["ruleset"]
    reply = api.post("/api/definitions", new_user("analyst"), json=upload(ruleset=ruleset))
    assert reply.status_code == 400
    problem = reply.get_json()["problems"][0]
    assert problem["element_id"] == "under_80" and "agee" in problem["reason"]


def test_malformed_xml_and_entities_are_refused(api, new_user):
    analyst = new_user("analyst")
    broken = api.post("/api/definitions", analyst, json=upload(bpmn="<bpmn:definitions"))
    assert broken.status_code == 400 and "line" in broken.get_json()["problems"][0]
    xxe = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    refused = api.post("/api/definitions", analyst, json=upload(bpmn=xxe))
    assert refused.status_code == 400 and "DOCTYPE" in refused.get_json()["problems"][0]["reason"]


def test_same_files_again_is_not_a_new_version(api, new_user):
    reply = api.post("/api/definitions", new_user("analyst"), json=upload())
    assert reply.status_code == 200 and reply.get_json()["created"] is False


def test_running_applications_keep_their_version(api, services, new_user, resident, applicant_for):
    clerk, analyst, id_number = new_user("clerk", "civil_affairs"), new_user("analyst"), resident(85)
    applicant, data = applicant_for(id_number), {"id_number": id_number, "phone": "13600136000"}
    silent = with_silent_source(services, "death_records")  # 在世 unknown: both applications wait for a clerk
    waiting = silent.post("/api/applications", applicant, json={"matter": "elderly_subsidy", "data": data}).get_json()
    old_version = waiting["definition_version"]
    new_bpmn = upload()["bpmn"].replace('name="核定补贴"', 'name="核定补贴（新版）"')
    deployed = api.post("/api/definitions", analyst, json=upload(bpmn=new_bpmn))
    assert deployed.status_code == 201 and deployed.get_json()["version"] == old_version + 1
    fresh = silent.post("/api/applications", applicant, json={"matter": "elderly_subsidy", "data": data}).get_json()
    assert fresh["definition_version"] == old_version + 1
    task = next(t for t in api.get("/api/tasks", clerk).get_json() if t["application_id"] == waiting["id"])
    done = api.post(f"/api/tasks/{task['id']}/complete", clerk, json={"outcome": "approve", "amount": 100}).get_json()
    assert done["definition_version"] == old_version and done["outcome"] == "approve"


def test_every_shipped_matter_is_deployed(api, new_user):
    deployed = {d["matter"] for d in api.get("/api/definitions", new_user("analyst")).get_json()}
    assert {e["code"] for e in read_catalogue()} <= deployed


CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'


@pytest.mark.parametrize("change, element, says", [
    (lambda b: b.replace('StartEvent_submitted', 'Start'),
     "Start", "reserved"),
    (lambda b: b.replace("outcome = 'reject'\nresult = {}", ""), "Task_refuse", "no script"),
    (lambda b: b.replace('<bpmn:scriptTask id="Task_refuse"', '<bpmn:scriptTask id="Task_refuse" scriptFormat="groovy"'),
     "Task_refuse", "not groovy"),
    (lambda b: b.replace('<bpmn:serviceTask id="Task_decide"',
                         f'<bpmn:serviceTask {CAMUNDA} camunda:class="gov.Decide" id="Task_decide"'),
     "Task_decide", "camunda:class"),
    (lambda b: b.replace('<bpmn:startEvent id="StartEvent_submitted" name="申请已提交">',
                         '<bpmn:startEvent id="StartEvent_submitted" name="申请已提交">'
                         '<bpmn:messageEventDefinition id="M1"/>'),
     "StartEvent_submitted", "messageEventDefinition"),
])
def test_what_cannot_run_here_is_refused_naming_the_element_and_what_to_use(api, new_user, change, element, says):
    bpmn = change(upload()["bpmn"])
    assert bpmn != upload()["bpmn"]
    reply = api.post("/api/definitions", new_user("analyst"), json=upload(bpmn=bpmn))
    assert reply.status_code == 400, reply.get_json()
    problems = reply.get_json()["problems"]
    assert any(p["element_id"] == element and says in p["reason"] and p.get("line") for p in problems), problems


def test_a_process_that_never_sets_an_outcome_deploys_with_a_warning(api, new_user):
    bpmn = upload()["bpmn"].replace("outcome = 'approve'", "granted = True").replace("outcome = 'reject'", "granted = False")
    assert "outcome =" not in bpmn
    reply = api.post("/api/definitions", new_user("analyst"), json=upload(bpmn=bpmn))
    assert reply.status_code == 201, reply.get_json()
    assert any("no script sets 'outcome'" in w["reason"] for w in reply.get_json()["warnings"])
    shipped = api.post("/api/definitions", new_user("analyst"), json=upload())
    assert not any("outcome" in w["reason"] for w in shipped.get_json()["warnings"])
