"""城乡居民基本养老保险待遇领取 end to end through the API: a DMN table decides (秒批),
rejects with the table's message, and sends what it cannot verify to a clerk."""
from __future__ import annotations

from tests.integration.helpers import decision_of, with_silent_source

MATTER = "resident_pension"


def submit(api, user: str, id_number: str, years: int = 20):
    """Apply for ``id_number``; the name is left out (秒填 from the population registry)."""
    return api.post("/api/applications", user, json={"matter": MATTER, "data": {
        "id_number": id_number, "phone": "13800138000", "contribution_years": years}})


def rules_of(decision: dict) -> list[str]:
    return [reason["rule"] for reason in decision["reasons"]]


def test_the_catalogue_entry_is_a_matter_with_its_guide(api):
    body = api.get(f"/api/matters/{MATTER}").get_json()
    assert body["name"] == "城乡居民基本养老保险待遇领取"
    assert body["guide"]["conditions"] == ["年满60周岁", "本地户籍", "累计缴费满15年"]
    assert {c.get("key") for c in body["form"]["components"]} >= {"id_number", "contribution_years"}


def test_a_local_65_year_old_with_20_years_is_approved_by_the_table(api, resident, applicant_for):
    id_number = resident(65)
    reply = submit(api, applicant_for(id_number), id_number, years=20)
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert (body["status"], body["outcome"]) == ("completed", "approve")
    assert body["result"]["payment"] == "monthly"
    decision = decision_of(api, body["id"])
    assert rules_of(decision) == ["eligible"]
    facts = decision["facts"]
    assert facts["household_local"]["source"] == "population_registry" and facts["household_local"]["value"] is True
    assert (facts["age"]["value"], facts["age"]["source"]) == (65, "form")
    assert facts["contribution_years"]["value"] == 20 and facts["household_local"]["read_at"]
    assert decision["ruleset"]["matter"] == MATTER and len(decision["ruleset"]["checksum"]) == 64


def test_each_unmet_condition_rejects_with_the_tables_message(api, resident, applicant_for):
    cases = [(resident(55), 20, ["under_60"], "未满60周岁"),
             (resident(70, local=False), 20, ["not_local"], "非本地户籍"),
             (resident(70), 14, ["short_contribution"], "不足15年"),
             (resident(58, local=False), 3, ["under_60", "not_local", "short_contribution"], "未满60周岁")]
    for id_number, years, rules, words in cases:
        body = submit(api, applicant_for(id_number), id_number, years).get_json()
        assert (body["status"], body["outcome"]) == ("completed", "reject"), body
        decision = decision_of(api, body["id"])
        assert rules_of(decision) == rules
        assert words in decision["reasons"][0]["message"]


def test_a_registry_that_does_not_answer_sends_the_case_to_a_social_security_clerk(api, services, resident,
                                                                                   applicant_for, new_user):
    id_number = resident(70)
    applicant = applicant_for(id_number)
    reply = submit(with_silent_source(services, "population_registry"), applicant, id_number, years=30)
    assert reply.status_code == 202, reply.get_json()
    body = reply.get_json()
    decision = decision_of(api, body["id"])
    assert body["status"] == "waiting" and decision["outcome"] == "manual"
    assert rules_of(decision) == ["missing:household_local"]
    assert decision["facts"]["household_local"]["status"] == "unavailable"

    clerk = new_user("clerk", "social_security")
    task = next(t for t in api.get("/api/tasks", clerk).get_json() if t["application_id"] == body["id"])
    done = api.post(f"/api/tasks/{task['id']}/complete", clerk, json={"outcome": "approve", "comment": "户籍已核实"})
    assert done.status_code == 200, done.get_json()
    final = api.get(f"/api/applications/{body['reference']}", applicant).get_json()
    assert (final["status"], final["outcome"]) == ("completed", "approve")


def test_an_under_60_applicant_is_rejected_even_when_the_registry_cannot_answer(services, resident, applicant_for):
    """A reject row on a verified fact still decides; the unverifiable fact only adds a reason."""
    id_number = resident(40)
    silent = with_silent_source(services, "population_registry")
    body = submit(silent, applicant_for(id_number), id_number).get_json()
    assert body["outcome"] == "reject"
    assert rules_of(decision_of(silent, body["id"])) == ["under_60", "missing:household_local"]
