"""授权代办: the register of who may apply in whose name. A principal authorises a person
online; an outlet's staff record a paper authorisation after checking the principal's name
against the population registry; either revokes; an agent asks whether they may apply for
the principal in a matter now, and a refusal names the rule that failed."""
from __future__ import annotations

import itertools
from datetime import date, timedelta, timezone

import pytest
from sqlalchemy import select, update

from engine.people import users
from engine.demo import DEMO_PASSWORD
from engine.store.models import Authorisation, Event
from engine.store.registries import RegistryPerson
from forms.identifiers import make_resident_id

_outlet_staff = itertools.count(1)
YEAR = timedelta(days=365)


@pytest.fixture
def person(applicant_for, resident):
    """A verified person (实名) with an account: (username, resident ID)."""
    def make() -> tuple[str, str]:
        id_number = resident(70)
        return applicant_for(id_number), id_number
    return make


@pytest.fixture
def outlet_staff(services):
    def make(outlet: str = "post_haikou") -> str:
        username = f"agent_{outlet}_{next(_outlet_staff)}"
        with services.sessions() as session:
            users.create_user(session, username, DEMO_PASSWORD, "agent", outlet)
            session.commit()
        return username
    return make


def until(services, days: int = 365) -> str:
    return (services.clock() + timedelta(days=days)).isoformat()


def check(api, agent: str, principal_id: str, matter: str = "elderly_subsidy"):
    return api.get(f"/api/authorisations/check?principal_id_number={principal_id}&matter={matter}", agent)


def test_an_authorisation_given_online_lets_the_agent_act_for_that_matter_only(api, services, person):
    (principal, principal_id), (agent, _) = person(), person()
    given = api.post("/api/authorisations", principal, json={
        "agent": agent, "matters": ["elderly_subsidy"], "valid_to": until(services)})
    assert given.status_code == 201, given.get_json()
    assert given.get_json()["given_by"] == "online" and given.get_json()["in_force"] is True
    assert check(api, agent, principal_id).status_code == 200
    other = check(api, agent, principal_id, "senior_card")
    assert (other.status_code, other.get_json()["rule"]) == (403, "other_matter")
    stranger = check(api, person()[0], principal_id)
    assert (stranger.status_code, stranger.get_json()["rule"]) == (403, "no_authorisation")
    assert [a["id"] for a in api.get("/api/authorisations", agent).get_json()] == [given.get_json()["id"]]
    assert [a["id"] for a in api.get("/api/authorisations", principal).get_json()] == [given.get_json()["id"]]


def test_a_revoked_or_expired_authorisation_says_so(api, services, person):
    (principal, principal_id), (agent, _) = person(), person()
    given = api.post("/api/authorisations", principal, json={"agent": agent, "valid_to": until(services)}).get_json()
    assert check(api, agent, principal_id).status_code == 200  # every matter
    revoked = api.post(f"/api/authorisations/{given['id']}/revoke", principal)
    assert revoked.status_code == 200 and revoked.get_json()["revoked_by"] == principal
    refused = check(api, agent, principal_id)
    assert (refused.status_code, refused.get_json()["rule"]) == (403, "revoked")
    assert refused.get_json()["detail"] == "代办授权已被撤销"

    api.post("/api/authorisations", principal, json={"agent": agent, "valid_to": until(services)})
    with services.sessions() as session:  # a year on, as the clock would have it
        session.execute(update(Authorisation).where(Authorisation.principal_id_number == principal_id,
                                                    Authorisation.revoked_at.is_(None))
                        .values(valid_from=services.clock() - 2 * YEAR, valid_to=services.clock() - YEAR))
        session.commit()
    expired = check(api, agent, principal_id)
    assert (expired.status_code, expired.get_json()["rule"]) == (403, "expired")


def test_only_the_principal_or_the_recording_outlet_revokes(api, services, person):
    (principal, _), (agent, _) = person(), person()
    given = api.post("/api/authorisations", principal, json={"agent": agent, "valid_to": until(services)}).get_json()
    assert api.post(f"/api/authorisations/{given['id']}/revoke", agent).status_code == 404
    assert api.post(f"/api/authorisations/{given['id']}/revoke", person()[0]).status_code == 404


def test_an_outlet_records_a_paper_authorisation_checked_against_the_registry(api, services, resident, outlet_staff):
    principal_id = resident(86)  # no account, no smartphone: the seeds' named user
    with services.sessions() as session:
        name = session.get(RegistryPerson, principal_id).name
    staff, colleague, elsewhere = outlet_staff(), outlet_staff(), outlet_staff("community_haidian")
    paper = {"principal_id_number": principal_id, "principal_name": name, "matters": ["elderly_subsidy"],
             "valid_to": until(services), "document_ref": "海口邮政代办-2026-0042"}
    wrong_name = api.post("/api/authorisations/paper", staff, json={**paper, "principal_name": "张三"})
    assert wrong_name.status_code == 422 and "principal_name" in wrong_name.get_json()["errors"]
    recorded = api.post("/api/authorisations/paper", staff, json=paper)
    assert recorded.status_code == 201, recorded.get_json()
    body = recorded.get_json()
    assert (body["given_by"], body["outlet"], body["recorded_by"], body["document_ref"]) == (
        "paper", "post_haikou", staff, "海口邮政代办-2026-0042")
    assert check(api, colleague, principal_id).status_code == 200  # the outlet's staff, not one clerk
    assert check(api, elsewhere, principal_id).get_json()["rule"] == "no_authorisation"
    with services.sessions() as session:
        given = session.scalars(select(Event).where(Event.kind == "authorisation.given", Event.actor == staff)).one()
        assert given.data["given_by"] == "paper"


@pytest.mark.parametrize("body, field", [
    ({"matters": []}, "matters"),
    ({"matters": ["no_such_matter"]}, "matters"),
    ({"valid_to": "2020-01-01T00:00:00+08:00"}, "valid_to"),
    ({"valid_days": 2000}, "valid_to"),
])
def test_an_authorisation_the_rules_refuse_is_not_recorded(api, services, person, body, field):
    (principal, principal_id), (agent, _) = person(), person()
    if "valid_days" in body:
        body = {"valid_to": until(services, body["valid_days"])}
    reply = api.post("/api/authorisations", principal, json={"agent": agent, "valid_to": until(services), **body})
    assert reply.status_code == 422 and field in reply.get_json()["errors"], reply.get_json()
    with services.sessions() as session:
        assert session.scalars(select(Authorisation).where(
            Authorisation.principal_id_number == principal_id)).first() is None


def test_an_unverified_account_can_neither_give_nor_receive(api, services, new_user, person):
    unverified, (verified, _) = new_user(verified=False), person()
    refused = api.post("/api/authorisations", unverified, json={"agent": verified, "valid_to": until(services)})
    assert refused.status_code == 403
    no_agent = api.post("/api/authorisations", verified, json={"agent": unverified, "valid_to": until(services)})
    assert no_agent.status_code == 422 and "agent" in no_agent.get_json()["errors"]


def test_an_authorisation_given_in_beijing_time_starts_when_it_says(api, services, person):
    """SQLite kept 09:12+08:00 as 09:12 and read it back as UTC: in force 8 hours late."""
    (principal, principal_id), (agent, _) = person(), person()
    beijing = timezone(timedelta(hours=8))
    started = (services.clock() - timedelta(minutes=5)).astimezone(beijing)
    given = api.post("/api/authorisations", principal, json={
        "agent": agent, "valid_from": started.isoformat(), "valid_to": until(services)})
    assert given.status_code == 201, given.get_json()
    assert [a["in_force"] for a in api.get("/api/authorisations", agent).get_json()] == [True]
    assert check(api, agent, principal_id).status_code == 200


def test_an_outlet_normalises_the_id_and_records_nothing_for_the_dead(api, services, people, outlet_staff):
    staff = outlet_staff()
    with services.sessions() as session:  # a fresh person whose ID ends in X, typed with a lower-case x
        id_number = next(candidate for seq in range(1000)
                         if (candidate := make_resident_id("460106", date(1949, 10, 1), f"{seq:03d}")).endswith("X")
                         and session.get(RegistryPerson, candidate) is None)
        session.add(RegistryPerson(id_number=id_number, name="符阿婆", household_local=True, household_region="460100"))
        session.commit()
    lower_x = id_number.replace("X", "x")
    recorded = api.post("/api/authorisations/paper", staff, json={
        "principal_id_number": lower_x, "principal_name": "符阿婆", "valid_to": until(services),
        "document_ref": "海口邮政代办-2026-0501"})
    assert recorded.status_code == 201, recorded.get_json()
    assert check(api, staff, lower_x, "senior_card").status_code == 200  # the same person as with X
    assert check(api, staff, id_number, "no_such_matter").status_code == 404
    paper = {"principal_id_number": people["deceased_90"], "principal_name": "deceased_90",
             "valid_to": until(services), "document_ref": "海口邮政代办-2026-0500"}
    dead = api.post("/api/authorisations/paper", staff, json=paper)
    assert dead.status_code == 422 and list(dead.get_json()["errors"]) == ["principal_id_number"]
