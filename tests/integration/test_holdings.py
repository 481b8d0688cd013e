"""What a repeat application gets (engine/policy/holdings.py): refused naming what is held
(``repeat: reject``, the shipped senior_card), or a re-issue that replaces it."""
from __future__ import annotations

from sqlalchemy import select

from engine.definitions.catalogue import read_catalogue, upload_for, upsert_matter
from engine.store.models import Event
from engine.store.registries import SubsidyRecipient
from tests.integration.helpers import decision_of

SENIOR = next(e for e in read_catalogue() if e["code"] == "senior_card")


def _card(api, applicant: str, matter: str, id_number: str) -> dict:
    """Apply for ``id_number`` (the name is filled from the population registry)."""
    reply = api.post("/api/applications", applicant, json={"matter": matter, "data": {
        "id_number": id_number, "phone": "13800138000"}})
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def _holding(services, id_number: str, matter: str) -> tuple[str, str]:
    with services.sessions() as session:
        row = session.get(SubsidyRecipient, (id_number, matter))
        return row.tracking_no, row.result_no


def test_a_repeat_is_refused_naming_the_card_held(api, services, applicant_for, senior):
    id_number = senior(70)
    first = _card(api, applicant_for(id_number), "senior_card", id_number)
    again = _card(api, applicant_for(id_number), "senior_card", id_number)
    assert (first["outcome"], again["outcome"]) == ("approve", "reject")
    assert first["result_no"] in decision_of(api, again["id"])["reasons"][0]["message"]
    assert [r["by"] for r in again["reasons"]] == ["holding"] and first["result_no"] in again["reasons"][0]["text"]
    assert again["result_no"] is None and "card_no" not in again["result"]
    assert _holding(services, id_number, "senior_card") == (first["tracking_no"], first["result_no"])


def test_a_matter_that_reissues_replaces_the_holding_with_a_new_number(api, services, new_user, applicant_for, senior):
    code = "senior_card_reissue"
    with services.sessions() as session:
        upsert_matter(session, {**SENIOR, "code": code, "repeat": "reissue"})
        session.commit()
    files = upload_for(SENIOR)
    deployed = api.post("/api/definitions", new_user("analyst"), json={
        "matter": code, "bpmn": files.bpmn, "form": files.form,
        "ruleset": files.ruleset.replace("matter: senior_card", f"matter: {code}")})
    assert deployed.status_code in (200, 201), deployed.get_json()
    id_number = senior(70)
    first = _card(api, applicant_for(id_number), code, id_number)
    second = _card(api, applicant_for(id_number), code, id_number)
    assert (first["outcome"], second["outcome"]) == ("approve", "approve")
    assert second["result_no"] != first["result_no"] and second["result"]["card_no"] == second["result_no"]
    assert _holding(services, id_number, code) == (second["tracking_no"], second["result_no"])
    with services.sessions() as session:
        decided = session.scalars(select(Event.data).where(Event.application_id == second["id"],
                                                           Event.kind == "application.decided")).one()
    assert decided["replaces"] == first["result_no"]
