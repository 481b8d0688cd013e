"""高龄老人长寿补贴 end to end through the API: 秒批, rejection, and manual review."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.store.models import Application
from tests.integration.helpers import authorise, decision_of, unknown_resident, with_silent_source

MATTER = "elderly_subsidy"


def form(id_number: str, **extra) -> dict:
    """The form for ``id_number``; the name is left out (秒填 from the population registry)."""
    return {"id_number": id_number, "phone": "13800138000", **extra}


def submit(api, user: str, id_number: str, **headers):
    return api.post("/api/applications", user, headers=headers,
                    json={"matter": MATTER, "data": form(id_number)})


def test_85_year_old_local_resident_is_approved_with_amount_in_the_response(api, resident, applicant_for):
    id_number = resident(85)
    reply = submit(api, applicant_for(id_number), id_number)
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert body["status"] == "completed"
    assert body["outcome"] == "approve"
    assert body["result"]["amount"] == 100
    decision = decision_of(api, body["id"])
    assert decision["outcome"] == "approve"
    assert [r["rule"] for r in decision["reasons"]] == ["band_80_89"]
    assert decision["facts"]["household_local"]["source"] == "population_registry"
    assert decision["facts"]["age"] == {**decision["facts"]["age"], "value": 85, "source": "form", "status": "ok"}


def test_age_bands_set_the_amount(api, resident, applicant_for):
    amounts = {}
    for age in (80, 89, 90, 99, 101):
        id_number = resident(age)
        amounts[age] = submit(api, applicant_for(id_number), id_number).get_json()["result"]["amount"]
    assert amounts == {80: 100, 89: 100, 90: 200, 99: 200, 101: 500}


def test_75_year_old_is_rejected_with_the_rules_message(api, people, applicant_for):
    body = submit(api, applicant_for(people["local_75"]), people["local_75"]).get_json()
    assert body["outcome"] == "reject"
    reasons = decision_of(api, body["id"])["reasons"]
    assert [r["rule"] for r in reasons] == ["under_80"]
    assert "80" in reasons[0]["message"]


def test_each_unmet_condition_rejects_with_its_reason(api, people, applicant_for):
    # the outlet's staff member, authorised on paper by each of them (授权代办); for the
    # deceased, the person they had authorised before (an outlet records none after a death)
    for key, rule in (("nonlocal_88", "not_local"), ("deceased_90", "deceased"),
                      ("receiving_86", "already_receiving")):
        agent = applicant_for(people[key]) if key == "deceased_90" else "agent_post"
        body = submit(api, agent, people[key]).get_json()
        assert body["outcome"] == "reject", key
        assert rule in [r["rule"] for r in decision_of(api, body["id"])["reasons"]], key


def test_nobody_applies_for_an_id_unknown_to_the_registry(api, services, new_user):
    """No account is verified as, and no authorisation given by, a person the population
    registry does not know: the submission is refused and nothing is stored."""
    def count() -> int:
        with services.sessions() as session:
            return session.scalar(select(func.count()).select_from(Application))

    before = count()
    # named, as nothing can fill the name in: the form itself is complete
    data = form(unknown_resident(), applicant_name="张三")
    for caller in (new_user(), "agent_post"):
        reply = api.post("/api/applications", caller, json={"matter": MATTER, "data": data})
        assert reply.status_code == 403, reply.get_json()
        assert reply.get_json()["rule"] == "no_authorisation"
    assert count() == before


def test_a_registry_that_does_not_answer_sends_the_case_to_the_civil_affairs_queue(api, services, resident,
                                                                                   applicant_for, new_user):
    id_number = resident(84)
    applicant = applicant_for(id_number)
    reply = submit(with_silent_source(services, "population_registry"), applicant, id_number)
    assert reply.status_code == 202
    body = reply.get_json()
    assert body["status"] == "waiting" and body["outcome"] is None
    decision = decision_of(api, body["id"])
    assert decision["outcome"] == "manual"
    assert any(r["rule"] == "missing:household_local" for r in decision["reasons"])

    clerk, other_department = new_user("clerk", "civil_affairs"), new_user("clerk", "housing")
    queue = api.get("/api/tasks", clerk).get_json()
    task = next(t for t in queue if t["application_id"] == body["id"])
    assert task["department"] == "civil_affairs" and task["status"] == "open"
    assert all(t["application_id"] != body["id"] for t in api.get("/api/tasks", other_department).get_json())

    done = api.post(f"/api/tasks/{task['id']}/complete", clerk,
                    json={"outcome": "approve", "amount": 100, "comment": "户籍经派出所核实"})
    assert done.status_code == 200, done.get_json()
    final = api.get(f"/api/applications/{body['reference']}", applicant).get_json()
    assert final["status"] == "completed" and final["outcome"] == "approve"
    assert final["result"]["amount"] == 100
    kinds = [e["kind"] for e in final["history"]]
    assert kinds.count("task.completed") == 1 and kinds.count("application.decided") == 1


def test_an_approved_resident_is_not_granted_twice(api, resident, applicant_for, new_user):
    """Not even when someone else applies again for them (授权代办)."""
    id_number = resident(87)
    own, agent = applicant_for(id_number), new_user()
    authorise(api, own, agent, [MATTER])
    first = submit(api, own, id_number).get_json()
    again = submit(api, agent, id_number).get_json()
    assert first["outcome"] == "approve"
    assert again["outcome"] == "reject"
    assert "already_receiving" in [r["rule"] for r in decision_of(api, again["id"])["reasons"]]
