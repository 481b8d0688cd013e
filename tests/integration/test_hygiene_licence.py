"""公共场所卫生许可 through the API: credit tiers decide the path, 告知承诺 approves at once
and a BPMN timer (fired by the scheduler job, run by the worker) brings the verification;
a false commitment revokes the licence and takes 告知承诺 away from the operator."""
from __future__ import annotations

import pytest

from tests.integration.helpers import decision_of, run_queued_work


def apply(client, applicant: str, credit_code: str, commitment: str = "signed", **overrides):
    """Apply for the company; its name is left out (秒填 from the market-entity registry)."""
    data = {"credit_code": credit_code, "phone": "13800138000",
            "venue_address": "海口市龙华区滨海大道1号", "venue_type": "lodging", "area_m2": 1200,
            "staff_certified": "yes", "hygiene_tested": "yes", "commitment": commitment, **overrides}
    return client.post("/api/applications", applicant, json={"matter": "hygiene_licence", "data": data})


def health_task(client, clerk: str, application_id: int) -> dict | None:
    return next((t for t in client.get("/api/tasks", clerk).get_json() if t["application_id"] == application_id), None)


# 10 working days from Mon 28 Sep 2026: 29, 30 Sep, [1–7 Oct off], 8, 9, 10 (Sat make-up), 12–16 Oct
TEN_DAYS = "2026-10-16T16:00:00+00:00"
SEVEN_DAYS = "2026-10-13T16:00:00+00:00"  # red fast lane: 10 cut by 30% = 7 working days, to 13 Oct


@pytest.mark.parametrize(("tier", "debtor", "status", "outcome", "due_at", "path_message"), [
    ("red", False, 201, "approve", SEVEN_DAYS, None),
    ("orange", False, 201, "approve", TEN_DAYS, None),
    ("blue", False, 202, None, TEN_DAYS, None),
    (None, False, 202, None, TEN_DAYS, None),  # no credit record: blue
    ("black", False, 202, None, TEN_DAYS, "信用等级为黑色，转人工审核"),
    ("blue", True, 202, None, TEN_DAYS, "失信被执行人，转人工审核"),
])
def test_each_credit_tier_takes_its_path_with_its_time_limit(clocked, company, applicant_for, new_user, tier, debtor,
                                                             status, outcome, due_at, path_message):
    client, _, _ = clocked
    clerk = new_user("clerk", "health")
    code = company(tier, debtor)
    reply = apply(client, applicant_for(code), code)
    body = reply.get_json()
    assert reply.status_code == status, body
    assert (body["outcome"], body["due_at"]) == (outcome, due_at)
    credit = _credit_of(client, new_user("supervisor"), body["id"])
    assert credit["tier"] == (tier or "blue")
    assert credit["sources"]["credit_registry"]["status"] == "ok" and credit["sources"]["credit_registry"]["read_at"]
    if outcome == "approve":  # 告知承诺: approved in the request, verification ahead
        assert body["status"] == "waiting" and body["result"]["on_commitment"] is True
        assert decision_of(client, body["id"])["credit"]["tier"] == tier
        assert health_task(client, clerk, body["id"]) is None
    else:  # normal handling or manual review: a health clerk decides
        assert health_task(client, clerk, body["id"])["title"] == "卫生许可审查"
        assert body["status"] == "waiting"
    if path_message:
        assert path_message in credit["message"]
    else:
        assert credit["path"] == "normal"


def _credit_of(client, supervisor: str, application_id: int) -> dict:
    """The credit check as recorded in the application's history (its step result)."""
    trail = client.get(f"/api/events?application_id={application_id}&kind=credit.checked", supervisor).get_json()
    assert len(trail) == 1
    return trail[0]["data"]


def test_a_declined_commitment_is_normal_handling_even_for_a_red_tier(clocked, company, applicant_for):
    client, _, _ = clocked
    code = company("red")
    reply = apply(client, applicant_for(code), code, commitment="declined")
    assert reply.status_code == 202 and reply.get_json()["outcome"] is None


def test_notify_and_commit_verification_fires_by_timer_and_a_false_commitment_revokes(clocked, company, applicant_for,
                                                                                      new_user):
    client, clock, timed = clocked
    code = company("orange")
    operator, clerk, supervisor = applicant_for(code), new_user("clerk", "health"), new_user("supervisor")
    approved = apply(client, operator, code).get_json()
    assert (approved["outcome"], approved["result"]["verification_due"]) == ("approve", "2026-10-16T09:00:00+08:00")

    clock.set(2026, 10, 15, 17, 0)
    assert approved["id"] not in timed.work.fire_timers()  # not due yet
    clock.set(2026, 10, 16, 9, 30)
    assert approved["id"] in timed.work.fire_timers()  # the scheduler job's call
    run_queued_work(timed)  # the worker (RQ on PostgreSQL + Redis) advances it
    verify = health_task(client, clerk, approved["id"])
    assert verify["title"] == "告知承诺核查"
    detail = client.get(f"/api/tasks/{verify['id']}", clerk).get_json()
    assert detail["form"]["id"] == "verification" and detail["form"]["type"] == "default"  # form-js schema
    client.post(f"/api/tasks/{verify['id']}/claim", clerk)
    assert client.post(f"/api/tasks/{verify['id']}/complete", clerk,
                       json={"method": "site_visit", "passed": False}).status_code == 422
    done = client.post(f"/api/tasks/{verify['id']}/complete", clerk, json={
        "method": "site_visit", "passed": False, "findings": "现场无集中空调检测报告，从业人员3人无健康证明"})
    assert done.status_code == 200, done.get_json()
    revoked = client.get(f"/api/applications/{approved['reference']}", operator).get_json()
    assert (revoked["status"], revoked["outcome"]) == ("completed", "revoked")
    assert revoked["result"]["revoked_for"].startswith("现场无集中空调检测报告")
    lowered = client.get(f"/api/events?application_id={approved['id']}&kind=credit.lowered", supervisor).get_json()
    assert (lowered[0]["data"]["from"], lowered[0]["data"]["to"]) == ("orange", "blue")

    # the same operator's next 告知承诺 is refused the commitment path: normal handling
    again = apply(client, operator, code)
    assert again.status_code == 202, again.get_json()
    assert _credit_of(client, supervisor, again.get_json()["id"])["tier"] == "blue"
    assert health_task(client, clerk, again.get_json()["id"])["title"] == "卫生许可审查"


def test_a_kept_commitment_closes_the_case_approved(clocked, company, applicant_for, new_user):
    client, clock, timed = clocked
    clerk = new_user("clerk", "health")
    code = company("red")
    approved = apply(client, applicant_for(code), code).get_json()
    clock.set(2026, 10, 16, 9, 30)
    timed.work.fire_timers()
    run_queued_work(timed)
    verify = health_task(client, clerk, approved["id"])
    client.post(f"/api/tasks/{verify['id']}/claim", clerk)
    assert client.post(f"/api/tasks/{verify['id']}/complete", clerk,
                       json={"method": "document", "passed": True}).status_code == 200
    final = client.get(f"/api/applications/{approved['id']}", clerk).get_json()
    assert (final["status"], final["outcome"]) == ("completed", "approve")
