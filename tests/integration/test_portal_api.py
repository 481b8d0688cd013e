"""The applicant portal's own API (api/portal.py, engine/portal.py): 秒填 before the form is
filled — for yourself, a company you act for, the principal of your authorisation, nobody
else —, and where an application is on its diagram, for whoever may read it."""
from __future__ import annotations

import pytest
from lxml import etree

from tests.integration.helpers import authorise
from tests.integration.test_comprehensive_window import complete, open_task
from tests.integration.test_comprehensive_window import submit as submit_window

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def own_id(api, user: str) -> str:
    return api.get("/api/me/identity", user).get_json()["resident_id"]


def test_prefill_gives_the_callers_own_id_and_registry_name(api, resident, applicant_for):
    id_number = resident(85)
    applicant = applicant_for(id_number)
    reply = api.get("/api/matters/elderly_subsidy/prefill", applicant)
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    name = api.get("/api/me/identity", applicant).get_json()["full_name"]
    assert body == {"matter": "elderly_subsidy", "subject": id_number,
                    "data": {"id_number": id_number, "applicant_name": name}}
    # what it filled is what the submission accepts, the phone being the applicant's to give
    submitted = api.post("/api/applications", applicant, json={
        "matter": "elderly_subsidy", "data": {**body["data"], "phone": "13800138000"}})
    assert submitted.status_code == 201 and submitted.get_json()["outcome"] == "approve"


def test_prefill_for_a_company_the_caller_represents(api, company, applicant_for):
    credit_code = company(tier="blue")
    representative = applicant_for(credit_code)
    reply = api.get(f"/api/matters/hygiene_licence/prefill?subject={credit_code}", representative)
    assert reply.status_code == 200, reply.get_json()
    data = reply.get_json()["data"]
    assert data["credit_code"] == credit_code and data["company_name"].startswith("测试企业")


def test_an_agent_gets_the_principals_values_by_authorisation(api, resident, applicant_for, new_user):
    principal_id = resident(88)
    principal = applicant_for(principal_id)
    agent = new_user()
    granted = authorise(api, principal, agent, ["elderly_subsidy"])
    reply = api.get(f"/api/matters/elderly_subsidy/prefill?authorisation={granted['id']}", agent)
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["data"]["id_number"] == principal_id
    by_subject = api.get(f"/api/matters/elderly_subsidy/prefill?subject={principal_id}", agent)
    assert by_subject.get_json() == reply.get_json()
    # not for another matter than the authorisation's, and not by the principal's own authorisation id
    assert api.get(f"/api/matters/senior_card/prefill?authorisation={granted['id']}", agent).status_code == 404
    assert api.get(f"/api/matters/elderly_subsidy/prefill?authorisation={granted['id']}",
                   principal).status_code == 404


def test_nobody_learns_anothers_registry_values(api, resident, applicant_for, new_user):
    stranger_id = resident(85)
    applicant_for(stranger_id)
    other = new_user()
    for query in (f"subject={stranger_id}", "authorisation=1", "authorisation=2147483647",
                  "subject=91460100MA5T000011"):
        reply = api.get(f"/api/matters/elderly_subsidy/prefill?{query}", other)
        assert reply.status_code == 404, (query, reply.get_json())
        assert stranger_id not in reply.get_data(as_text=True)


def test_prefill_refuses_unknown_matters_junk_and_the_unverified(api, new_user):
    applicant = new_user()
    assert api.get("/api/matters/no_such_matter/prefill", applicant).status_code == 404
    for junk in ("authorisation=abc", "authorisation=0", "authorisation=99999999999", "subject=" + "x" * 40,
                 "subject="):
        assert api.get(f"/api/matters/elderly_subsidy/prefill?{junk}", applicant).status_code == 422, junk
    unverified = new_user(verified=False)
    reply = api.get("/api/matters/elderly_subsidy/prefill", unverified)
    assert reply.status_code == 403 and reply.get_json()["rule"] == "identity_not_verified"
    assert api.get("/api/matters/elderly_subsidy/prefill").status_code == 401
    assert api.get("/api/matters/elderly_subsidy/prefill", "clerk_civil").status_code == 403


@pytest.fixture
def window_staff(new_user) -> dict[str, str]:
    return {"window": new_user("clerk", "front_desk"), "reviewer": new_user("clerk", "housing")}


def test_the_diagram_shows_where_the_application_is_and_where_it_has_been(api, new_user, window_staff):
    applicant = new_user()
    application = submit_window(api, applicant)
    reference = application["reference"]
    reply = api.get(f"/api/applications/{reference}/diagram", applicant)
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert (body["current"], body["matter"], body["reference"]) == (["Task_intake"], "road_occupation", reference)
    assert "StartEvent_submitted" in body["done"] and "Task_intake" not in body["done"]
    tree = etree.fromstring(body["bpmn"].encode())
    ids = {node.get("id") for node in tree.iter(f"{BPMN}userTask")}
    assert {"Task_intake", "Task_review"} <= ids
    assert tree.find(".//{http://www.omg.org/spec/BPMN/20100524/DI}BPMNDiagram") is not None  # drawable

    complete(api, window_staff["window"], open_task(api, window_staff["window"], application["id"])["id"],
             outcome="accept")
    moved = api.get(f"/api/applications/{reference}/diagram", applicant).get_json()
    assert moved["current"] == ["Task_review"]
    assert {"StartEvent_submitted", "Task_intake"} <= set(moved["done"])
    # the clerk whose department has a task in it reads it too
    assert api.get(f"/api/applications/{application['id']}/diagram", window_staff["reviewer"]).status_code == 200


def test_an_instant_decision_has_passed_its_end(api, resident, applicant_for):
    id_number = resident(90)
    applicant = applicant_for(id_number)
    done = api.post("/api/applications", applicant, json={
        "matter": "elderly_subsidy", "data": {"id_number": id_number, "phone": "13800138000"}}).get_json()
    body = api.get(f"/api/applications/{done['reference']}/diagram", applicant).get_json()
    assert body["current"] == []
    assert {"StartEvent_submitted", "Task_decide", "Task_grant", "EndEvent_decided"} <= set(body["done"])
    assert "Task_review" not in body["done"]


def test_nobody_else_sees_the_diagram(api, new_user):
    applicant, other = new_user(), new_user()
    application = submit_window(api, applicant)
    for who, path in ((other, application["reference"]), (other, str(application["id"])),
                      ("clerk_civil", application["reference"])):
        assert api.get(f"/api/applications/{path}/diagram", who).status_code == 404, who
    assert api.get(f"/api/applications/{application['reference']}/diagram").status_code == 401
    for junk in ("nope", "0", "99999999999", "x" * 64):
        assert api.get(f"/api/applications/{junk}/diagram", applicant).status_code == 404, junk
    assert api.get(f"/api/applications/{'x' * 65}/diagram", applicant).status_code == 404
