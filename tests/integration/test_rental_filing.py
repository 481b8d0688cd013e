"""房屋租赁备案: smart approval against the property registry, clerk review otherwise."""
from __future__ import annotations

from tests.integration.helpers import decision_of, demo_name

MATTER = "rental_filing"
OWN_FLAT = "琼(2024)海口市不动产权第0000001号"
SEIZED_FLAT = "琼(2024)海口市不动产权第0000002号"


def rental(people, landlord: str, cert_no: str = OWN_FLAT, **extra) -> dict:
    """A lease of ``landlord`` to the demo tenant, naming both parties as the registry does
    (it fills in only the filer's own). Either party may file it: ``landlord``'s own account,
    the tenant's, or the outlet's staff (agent_post) for the demo people who authorised it."""
    return {"landlord_id_number": landlord, "tenant_id_number": people["tenant"], "property_cert_no": cert_no,
            "landlord_name": demo_name(landlord), "tenant_name": demo_name(people["tenant"]),
            "address": "海口市龙华区滨海大道1号", "start_date": "2026-12-01", "end_date": "2027-11-30",
            "monthly_rent": 3000, "phone": "13900139000", **extra}


def test_matching_owner_is_filed_without_a_human(api, people, applicant_for, new_user):
    reply = api.post("/api/applications", applicant_for(people["landlord"]),
                     json={"matter": MATTER, "data": rental(people, people["landlord"])})
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert body["outcome"] == "approve"
    assert body["result"]["filing_no"].startswith("ZLBA-")
    assert decision_of(api, body["id"])["facts"]["owner_matches"]["source"] == "property_registry"
    history = api.get(f"/api/applications/{body['id']}", new_user("supervisor")).get_json()["history"]
    assert "task.created" not in [e["kind"] for e in history]


def test_owner_mismatch_lands_in_the_housing_queue_with_the_reason(api, people, applicant_for, new_user):
    reply = api.post("/api/applications", applicant_for(people["tenant"]),
                     json={"matter": MATTER, "data": rental(people, people["tenant"])})
    assert reply.status_code == 202
    body = reply.get_json()
    assert [r["rule"] for r in decision_of(api, body["id"])["reasons"]] == ["owner_mismatch"]
    clerk = new_user("clerk", "housing")
    task = next(t for t in api.get("/api/tasks", clerk).get_json() if t["application_id"] == body["id"])
    assert task["element_id"] == "Task_review"
    seen_by_clerk = api.get(f"/api/applications/{body['id']}", clerk).get_json()
    assert "不一致" in seen_by_clerk["decision"]["reasons"][0]["message"]
    done = api.post(f"/api/tasks/{task['id']}/complete", clerk, json={"outcome": "reject", "comment": "出租人非权利人"})
    assert done.get_json()["outcome"] == "reject"


def test_seized_property_goes_to_review(api, people, applicant_for):
    body = api.post("/api/applications", applicant_for(people["landlord"]),
                    json={"matter": MATTER, "data": rental(people, people["landlord"], SEIZED_FLAT)}).get_json()
    assert body["status"] == "waiting"
    assert [r["rule"] for r in decision_of(api, body["id"])["reasons"]] == ["seized"]


def test_end_before_start_is_rejected(api, people, applicant_for):
    data = rental(people, people["landlord"], start_date="2027-01-01", end_date="2026-12-01")
    body = api.post("/api/applications", applicant_for(people["tenant"]),
                    json={"matter": MATTER, "data": data}).get_json()
    assert body["outcome"] == "reject"
    assert [r["rule"] for r in decision_of(api, body["id"])["reasons"]] == ["bad_dates"]
