"""A matter's policy is versioned with its definition (issue 14): the catalogue's
behavioural keys (here 四眼's grant.second_approver_above) are part of a deployed version
and its checksum, so changing them deploys a new version, and applications already running
keep the policy they started with (they read the live matter row before)."""
from __future__ import annotations

import itertools

from engine.definitions.catalogue import read_catalogue, upload_for, upsert_matter
from tests.integration.helpers import with_silent_source

ELDERLY = next(entry for entry in read_catalogue() if entry["code"] == "elderly_subsidy")
_codes = itertools.count(1)


def scratch(services, shipped: str, drop: tuple[str, ...] = (), **policy) -> tuple[str, dict]:
    """A fresh matter with the catalogue entry of the ``shipped`` one (without the keys in
    ``drop``, with ``policy`` over it) and the upload of its files for the new code."""
    entry = next(e for e in read_catalogue() if e["code"] == shipped)
    code = f"policy_{next(_codes)}"
    with services.sessions() as session:
        upsert_matter(session, {**{k: v for k, v in entry.items() if k not in drop}, "code": code,
                                "name": f"政策测试{code}", **policy})
        session.commit()
    files = upload_for(entry)
    return code, {"matter": code, "bpmn": files.bpmn, "form": files.form,
                  "ruleset": files.ruleset.replace(f"matter: {shipped}", f"matter: {code}")}


def test_a_policy_change_reaches_new_applications_and_not_running_ones(api, services, new_user, resident,
                                                                       applicant_for):
    code, analyst, clerk = f"policy_{next(_codes)}", new_user("analyst"), new_user("clerk", "civil_affairs")
    files = upload_for(ELDERLY)
    body = {"matter": code, "bpmn": files.bpmn, "form": files.form,
            "ruleset": files.ruleset.replace("matter: elderly_subsidy", f"matter: {code}")}

    def deploy(second_approver_above: int) -> dict:
        with services.sessions() as session:
            upsert_matter(session, {**ELDERLY, "code": code, "name": f"政策版本测试{code}",
                                    "grant": {"second_approver_above": second_approver_above}})
            session.commit()
        reply = api.post("/api/definitions", analyst, json=body)
        assert reply.status_code in (200, 201), reply.get_json()
        return reply.get_json()

    undecided = with_silent_source(services, "death_records")  # 在世 unknown: a clerk grants the amount

    def review_task() -> int:
        person = resident(85)
        submitted = undecided.post("/api/applications", applicant_for(person), json={
            "matter": code, "data": {"id_number": person, "phone": "13800138000"}}).get_json()
        return next(t["id"] for t in api.get(f"/api/tasks?matter={code}", clerk).get_json()
                    if t["application_id"] == submitted["id"])

    assert deploy(second_approver_above=200)["version"] == 1
    running = review_task()  # started under "a second clerk above 200"
    assert deploy(second_approver_above=200)["version"] == 1  # the same files and policy: no new version
    assert deploy(second_approver_above=50)["version"] == 2  # the same files, another policy: a new version
    fresh = review_task()
    granted = {"outcome": "approve", "amount": 100}
    kept = api.post(f"/api/tasks/{running}/complete", clerk, json=granted).get_json()
    assert (kept["status"], kept["outcome"]) == ("completed", "approve"), kept  # its own policy: one clerk
    changed = api.post(f"/api/tasks/{fresh}/complete", clerk, json=granted).get_json()
    assert (changed["status"], changed["outcome"]) == ("waiting", None), changed  # the new one: a second clerk


def test_an_operation_needing_a_policy_the_matter_lacks_is_refused_at_deploy(api, services, new_user):
    """credit.check on a matter with no `credit:` deployed, then failed in every application."""
    analyst = new_user("analyst")
    code, body = scratch(services, "publication_retail_check", drop=("credit", "certificate_free"))
    for path, status in (("/api/definitions/validate", 200), ("/api/definitions", 400)):
        reply = api.post(path, analyst, json=body)
        assert reply.status_code == status, reply.get_json()
        reasons = [p["reason"] for p in reply.get_json()["problems"]]
        assert any("'credit.check' needs the matter's 'credit' policy" in r for r in reasons), reasons
        assert any("'materials.fetch' needs the matter's 'certificate_free' policy" in r for r in reasons), reasons


def test_the_commitment_verification_reads_its_days_from_the_versions_policy(clocked, services, new_user, company,
                                                                             applicant_for):
    """告知承诺's verification was a literal `working_days_later(10)` in the BPMN while the
    catalogue's commitment.verify_within_working_days was read by nothing; the BPMN now
    reads policy('commitment', 'verify_within_working_days') of its version."""
    client = clocked.client
    hygiene = next(entry for entry in read_catalogue() if entry["code"] == "hygiene_licence")
    three_days = {**hygiene["commitment"], "verify_within_working_days": 3}
    code, body = scratch(services, "hygiene_licence", commitment=three_days)
    reply = client.post("/api/definitions", new_user("analyst"), json=body)
    assert reply.status_code == 201, reply.get_json()
    credit_code = company("orange")  # orange: 告知承诺 approves at once
    approved = client.post("/api/applications", applicant_for(credit_code), json={"matter": code, "data": {
        "credit_code": credit_code, "phone": "13800138000", "venue_address": "海口市龙华区滨海大道1号",
        "venue_type": "lodging", "area_m2": 1200, "staff_certified": "yes", "hygiene_tested": "yes",
        "commitment": "signed"}}).get_json()
    # 3 working days from Mon 28 Sep 2026: 29, 30 Sep, then 1–7 Oct are National Day: 8 Oct
    assert (approved["outcome"], approved["result"]["verification_due"]) == ("approve", "2026-10-08T09:00:00+08:00")


def test_a_bpmn_reading_a_policy_the_matter_lacks_is_refused_at_deploy(api, services, new_user):
    code, body = scratch(services, "hygiene_licence", drop=("commitment",))
    reply = api.post("/api/definitions", new_user("analyst"), json=body)
    assert reply.status_code == 400, reply.get_json()
    assert [(p["element_id"], "commitment.verify_within_working_days" in p["reason"])
            for p in reply.get_json()["problems"]] == [("Task_grant_on_commitment", True)]


def test_a_policy_is_checked_against_its_schema_at_deploy_naming_each_key(api, services, new_user):
    """A misspelt key was ignored and a wrong type failed at the first application: both are
    refused at deploy (engine/definitions/policy.py), each problem naming its key path."""
    analyst = new_user("analyst")
    code, body = scratch(services, "hygiene_licence", credit={"subject_field": "credit_code", "blocks": "maybe"},
                         comitment={"verify_within_working_days": 10})
    reply = api.post("/api/definitions", analyst, json=body)
    assert reply.status_code == 400, reply.get_json()
    problems = {(p["file"], p["element_id"]): p["reason"] for p in reply.get_json()["problems"]}
    assert problems == {("policy", "credit.blocks"): "Not a valid boolean.",
                        ("policy", "comitment"): "Unknown field."}, problems


def test_an_outcome_outside_the_contract_is_refused_at_deploy_with_its_line(api, services, new_user):
    """The engine records an answer only for approve / reject / revoked: a process setting
    'approved' would have ended every application without one."""
    analyst = new_user("analyst")
    code, body = scratch(services, "elderly_subsidy")
    assert "outcome = 'approve'" in body["bpmn"]
    body["bpmn"] = body["bpmn"].replace("outcome = 'approve'", "outcome = 'approved'", 1)
    reply = api.post("/api/definitions/validate", analyst, json=body)
    problems = reply.get_json()["problems"]
    assert [(p["file"], p["reason"]) for p in problems] == [
        ("process.bpmn", "outcome = 'approved': the outcome a process sets is one of approve, reject, revoked")]
    task_line = next(n for n, line in enumerate(body["bpmn"].splitlines(), 1) if 'id="Task_grant"' in line)
    assert (problems[0]["element_id"], problems[0]["line"]) == ("Task_grant", str(task_line))  # the script task
