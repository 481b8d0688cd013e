"""老年人优待证 through the API: instant (秒批) and certificate-free (免证办) — the ID card
and photo come from the e-licence library; the applicant is asked only for what it lacks."""
from __future__ import annotations

import re

from tests.integration.helpers import decision_of, with_silent_source

MATTER = "senior_card"
ID_CARD, PHOTO = "居民身份证", "近期免冠证件照"


def submit(client, user: str, id_number: str):
    """Apply for ``id_number``; the name is left out (秒填 from the population registry)."""
    return client.post("/api/applications", user, json={"matter": MATTER, "data": {
        "id_number": id_number, "phone": "13800138000"}})


def open_steps(client, user: str, reference: str) -> list[tuple[str, str]]:
    detail = client.get(f"/api/applications/{reference}", user).get_json()
    return [(s["title"], s["candidate_role"]) for s in detail["steps"] if s["status"] in ("open", "claimed")]


def test_all_materials_in_the_library_card_issued_at_once_without_uploads(api, senior, applicant_for):
    id_number = senior(65)
    applicant = applicant_for(id_number)
    reply = submit(api, applicant, id_number)
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert (body["status"], body["outcome"]) == ("completed", "approve")
    assert re.fullmatch(r"YDZ\d{4}\d{7}", body["result"]["card_no"])  # numbered by the engine
    assert [r["rule"] for r in decision_of(api, body["id"])["reasons"]] == ["eligible"]
    materials = body["materials"]
    assert materials["library"] == "ok" and materials["requested"] == [] and materials["avoided"] == 2
    assert sorted((m["name"], m["licence_no"]) for m in materials["fetched"]) == [
        (ID_CARD, f"resident_id_card-{id_number}"), (PHOTO, f"id_photo-{id_number}")]
    detail = api.get(f"/api/applications/{body['reference']}", applicant).get_json()
    assert detail["steps"] == []  # nothing asked of anyone
    assert "materials.fetched" in [e["kind"] for e in detail["history"]]


def test_a_photo_missing_from_the_library_is_the_only_thing_asked_for(api, senior, applicant_for):
    id_number = senior(70, licences=("resident_id_card",))
    applicant = applicant_for(id_number)
    reply = submit(api, applicant, id_number)
    assert reply.status_code == 202, reply.get_json()
    body = reply.get_json()
    assert (body["status"], body["outcome"], decision_of(api, body["id"])) == ("waiting", None, None)
    assert body["materials"]["requested"] == [PHOTO]
    assert [m["name"] for m in body["materials"]["fetched"]] == [ID_CARD] and body["materials"]["avoided"] == 1
    assert open_steps(api, applicant, body["reference"]) == [("申请人补交材料", "applicant")]
    assert body["due_at"] is None and body["clock_pauses"][0]["reason"] == "supplement"

    path = f"/api/applications/{body['reference']}/supplement"
    wrong = api.post(path, applicant, json={"materials": [{"name": ID_CARD, "reference": "upload-1"}]})
    assert wrong.status_code == 422 and PHOTO in str(wrong.get_json()["errors"])
    handed_in = api.post(path, applicant, json={"materials": [{"name": PHOTO, "reference": "upload-2"}]})
    assert handed_in.status_code == 200, handed_in.get_json()
    final = handed_in.get_json()
    assert (final["status"], final["outcome"]) == ("completed", "approve")
    assert re.fullmatch(r"YDZ\d{4}\d{7}", final["result"]["card_no"])
    assert final["due_at"] is not None and final["clock_pauses"][0]["end"] is not None


def test_under_60_is_refused_with_the_rules_message(api, senior, applicant_for):
    id_number = senior(59)
    body = submit(api, applicant_for(id_number), id_number).get_json()
    assert (body["status"], body["outcome"]) == ("completed", "reject")
    decision = decision_of(api, body["id"])
    assert [r["rule"] for r in decision["reasons"]] == ["under_60"]
    assert body["result"]["reasons"] == [decision["reasons"][0]["message"]]
    assert "60" in body["result"]["reasons"][0]


def test_non_local_resident_is_refused(api, senior, applicant_for):
    id_number = senior(72, local=False)
    body = submit(api, applicant_for(id_number), id_number).get_json()
    assert body["outcome"] == "reject"
    assert [r["rule"] for r in decision_of(api, body["id"])["reasons"]] == ["not_local"]


def test_a_resident_the_registry_cannot_verify_goes_to_a_civil_affairs_clerk(api, services, senior, applicant_for,
                                                                             new_user):
    id_number = senior(84)
    applicant = applicant_for(id_number)
    reply = submit(with_silent_source(services, "population_registry"), applicant, id_number)
    assert reply.status_code == 202
    body = reply.get_json()
    decision = decision_of(api, body["id"])
    assert decision["outcome"] == "manual"
    assert "missing:household_local" in [r["rule"] for r in decision["reasons"]]

    clerk = new_user("clerk", "civil_affairs")
    task = next(t for t in api.get("/api/tasks", clerk).get_json() if t["application_id"] == body["id"])
    assert task["title"] == "人工审核（民政）"
    done = api.post(f"/api/tasks/{task['id']}/complete", clerk, json={"outcome": "approve", "comment": "户籍已核实"})
    assert done.status_code == 200, done.get_json()
    final = api.get(f"/api/applications/{body['reference']}", applicant).get_json()
    assert (final["status"], final["outcome"]) == ("completed", "approve")
    assert re.fullmatch(r"YDZ\d{4}\d{7}", final["result"]["card_no"])


def test_a_library_that_does_not_answer_asks_for_the_materials_and_refuses_nobody(services, senior, applicant_for):
    client = with_silent_source(services, "licence_library")
    id_number = senior(66)
    applicant = applicant_for(id_number)
    reply = submit(client, applicant, id_number)
    assert reply.status_code == 202, reply.get_json()
    body = reply.get_json()
    assert body["outcome"] is None
    assert body["materials"]["library"] == "unavailable"
    assert sorted(body["materials"]["requested"]) == sorted([ID_CARD, PHOTO]) and body["materials"]["avoided"] == 0
    handed_in = client.post(f"/api/applications/{body['reference']}/supplement", applicant, json={"materials": [
        {"name": ID_CARD, "reference": "upload-1"}, {"name": PHOTO, "reference": "upload-2"}]})
    assert handed_in.status_code == 200, handed_in.get_json()
    assert handed_in.get_json()["outcome"] == "approve"
