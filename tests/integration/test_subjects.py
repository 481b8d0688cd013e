"""Subject binding (engine/people/subjects.py): an application is accepted only for the caller, a
company the caller acts for, or a person who authorised the caller for the matter (授权代办);
names come from the registry (秒填) and are checked, not trusted. The principal sees, rates
and is told of everything done in their name; the agent sees only what they submitted."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from engine.people import users
from engine.demo import DEMO_PASSWORD
from engine.store.models import Application
from engine.store.registries import CompanyRecord, RegistryPerson, SubsidyRecipient
from tests.integration.helpers import unknown_resident

_staff = itertools.count(1)
STAFF_REASON = "核对申请人身份：工单 2026-0451"


def publication(credit_code: str) -> dict:
    """出版物零售业务年度核验 for the company; its name and legal representative left to the registry."""
    return {"matter": "publication_retail_check", "data": {
        "credit_code": credit_code, "phone": "13800138000", "business_address": "海口市龙华区国贸路1号",
        "report_year": 2025, "business_area_m2": 120, "annual_sales": 85.5, "staff_count": 6, "penalties": 0,
        "truthful": True}}


def elderly(id_number: str, **extra) -> dict:
    return {"matter": "elderly_subsidy", "data": {"id_number": id_number, "phone": "13800138000", **extra}}


def submit(api, user: str, body: dict):
    return api.post("/api/applications", user, json=body)


def registry_name(services, id_number: str) -> str:
    with services.sessions() as session:
        return session.get(RegistryPerson, id_number).name


def until(services, days: int = 365) -> str:
    return (services.clock() + timedelta(days=days)).isoformat()


@pytest.fixture
def outlet_staff(services):
    """A fresh staff member of the post office's service station (role agent)."""
    def make() -> str:
        username = f"subjects_outlet_{next(_staff)}"
        with services.sessions() as session:
            users.create_user(session, username, DEMO_PASSWORD, "agent", "post_haikou")
            session.commit()
        return username
    return make


def test_a_strangers_id_is_refused_before_anything_is_started_or_revealed(api, services, new_user, resident):
    """The reported defect: a fresh applicant applied with a stranger's ID and a made-up
    name and got 201 approve, the stranger entering the benefit register."""
    stranger = resident(85)
    reply = submit(api, new_user(), elderly(stranger, applicant_name="随便填"))
    body = reply.get_json()
    assert (reply.status_code, body["rule"]) == (403, "no_authorisation"), body
    assert "applicant_name" not in str(body)  # refused before the name is compared: no probing names
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Application)
                              .where(Application.subject_id == stranger)) == 0
        assert session.get(SubsidyRecipient, (stranger, "elderly_subsidy")) is None


def test_an_account_without_identity_cannot_apply(api, new_user, resident):
    reply = submit(api, new_user(verified=False), elderly(resident(85)))
    assert (reply.status_code, reply.get_json()["rule"]) == (403, "identity_not_verified")


def test_the_name_comes_from_the_registry_and_a_wrong_one_is_refused(api, services, resident, applicant_for):
    mine = resident(85)
    wrong = submit(api, applicant_for(mine), elderly(mine, applicant_name="张三"))
    assert wrong.status_code == 422 and list(wrong.get_json()["errors"]) == ["applicant_name"], wrong.get_json()
    reply = submit(api, applicant_for(mine), elderly(mine))
    body = reply.get_json()
    assert reply.status_code == 201 and body["outcome"] == "approve", body
    assert body["form_data"]["applicant_name"] == registry_name(services, mine)
    assert (body["applied_as"], body["authorisation_id"]) == ("self", None)


def test_bob_cannot_apply_for_someone_else_twenty_times(api, people, senior):
    """The reported defect: bob applied 20 times for senior_card for someone else, each approved."""
    someone = senior(66)
    refused = [submit(api, "bob", {"matter": "senior_card", "data": {"id_number": someone, "phone": "13800138000"}})
               for _ in range(3)]
    assert {(r.status_code, r.get_json()["rule"]) for r in refused} == {(403, "no_authorisation")}


def test_an_agent_applies_for_the_principal_who_sees_rates_and_revokes(api, services, resident, applicant_for,
                                                                       new_user):
    principal_id = resident(85)
    principal, agent, stranger = applicant_for(principal_id), new_user(), new_user()
    given = api.post("/api/authorisations", principal, json={
        "agent": agent, "matters": ["elderly_subsidy"], "valid_to": until(services)}).get_json()
    reply = submit(api, agent, elderly(principal_id))
    body = reply.get_json()
    assert reply.status_code == 201 and body["outcome"] == "approve", body
    assert (body["applied_as"], body["authorisation_id"]) == ("authorisation", given["id"])
    reference = body["reference"]
    assert reference in [a["reference"] for a in api.get("/api/applications", principal).get_json()]
    assert reference in [a["reference"] for a in api.get("/api/applications", agent).get_json()]
    assert api.get(f"/api/applications/{reference}", principal).status_code == 200
    assert api.get(f"/api/applications/{reference}", stranger).status_code == 404
    assert api.post(f"/api/applications/{reference}/rating", agent, json={"level": 1}).status_code == 404  # not theirs
    assert api.post(f"/api/applications/{reference}/rating", principal, json={"level": 5}).status_code == 201
    other_matter = submit(api, agent, {"matter": "senior_card", "data": {
        "id_number": principal_id, "phone": "13800138000"}})
    assert (other_matter.status_code, other_matter.get_json()["rule"]) == (403, "other_matter")
    assert api.post(f"/api/authorisations/{given['id']}/revoke", principal).status_code == 200
    revoked = submit(api, agent, elderly(principal_id))
    assert (revoked.status_code, revoked.get_json()["rule"]) == (403, "revoked")
    assert reference in [a["reference"] for a in api.get("/api/applications", principal).get_json()]


def test_outlet_staff_apply_for_an_elder_who_authorised_the_outlet_on_paper(api, services, resident, outlet_staff):
    principal_id = resident(90)  # no account, no smartphone: the seeds' named user of 授权代办
    staff, colleague = outlet_staff(), outlet_staff()
    refused = submit(api, staff, elderly(principal_id))
    assert (refused.status_code, refused.get_json()["rule"]) == (403, "no_authorisation")
    paper = api.post("/api/authorisations/paper", staff, json={
        "principal_id_number": principal_id, "principal_name": registry_name(services, principal_id),
        "valid_to": until(services), "document_ref": "海口邮政代办-2026-0107"})
    assert paper.status_code == 201, paper.get_json()
    reply = submit(api, colleague, elderly(principal_id))  # the outlet's staff, not only who recorded it
    body = reply.get_json()
    assert reply.status_code == 201 and body["result"]["amount"] == 200, body
    assert body["applied_as"] == "authorisation"
    assert [a["reference"] for a in api.get("/api/applications", colleague).get_json()] == [body["reference"]]
    assert api.get(f"/api/applications/{body['reference']}", staff).status_code == 404  # not theirs to see


def test_a_company_applies_through_its_legal_representative_or_a_handler(api, services, company, applicant_for,
                                                                         new_user):
    credit_code = company()
    body = publication(credit_code)
    data = body["data"]
    outsider = submit(api, new_user(), body)
    assert (outsider.status_code, outsider.get_json()["rule"]) == (403, "not_company_role")
    representative, handler = applicant_for(credit_code), new_user()
    wrong = submit(api, representative, {**body, "data": {**data, "company_name": "别的公司"}})
    assert wrong.status_code == 422 and list(wrong.get_json()["errors"]) == ["company_name"]
    assert api.post(f"/api/companies/{credit_code}/handlers", representative,
                    json={"username": handler}).status_code == 201
    reply = submit(api, handler, body)
    made = reply.get_json()
    assert reply.status_code in (201, 202) and made["applied_as"] == "company_role", made
    assert made["form_data"]["company_name"].startswith("测试企业")
    assert made["form_data"]["legal_representative"] == registry_name(
        services, _legal_representative(services, credit_code))
    assert made["reference"] in [a["reference"] for a in api.get("/api/applications", representative).get_json()]
    other_company = company()
    elsewhere = new_user()
    assert api.post(f"/api/companies/{other_company}/handlers", applicant_for(other_company),
                    json={"username": elsewhere}).status_code == 201
    wrong_company = submit(api, elsewhere, body)  # a handler, but of another company
    assert (wrong_company.status_code, wrong_company.get_json()["rule"]) == (403, "not_company_role")


def test_a_former_legal_representative_no_longer_acts_for_the_company(api, services, company, applicant_for,
                                                                     resident):
    """法定代表人 is the registry's word: after a change there, the old role is over."""
    credit_code, successor = company(), resident(50)
    former = applicant_for(credit_code)
    with services.sessions() as session:
        record = session.get(CompanyRecord, credit_code)
        record.legal_rep_id_number = successor
        record.legal_rep_name = session.get(RegistryPerson, successor).name
        session.commit()
    reply = submit(api, former, publication(credit_code))
    assert (reply.status_code, reply.get_json()["rule"]) == (403, "not_company_role"), reply.get_json()
    handler = api.post(f"/api/companies/{credit_code}/handlers", former, json={"username": applicant_for(resident(40))})
    assert handler.status_code == 403


def _legal_representative(services, credit_code: str) -> str:
    with services.sessions() as session:
        return session.get(CompanyRecord, credit_code).legal_rep_id_number


def test_either_party_of_a_rental_files_and_nobody_else(api, people, applicant_for, new_user):
    rental = {"matter": "rental_filing", "data": {
        "landlord_id_number": people["landlord"], "landlord_name": "landlord", "tenant_id_number": people["tenant"],
        "property_cert_no": "琼(2024)海口市不动产权第0000001号", "address": "海口市龙华区滨海大道1号",
        "start_date": "2026-01-01", "end_date": "2026-12-31", "monthly_rent": 2500, "phone": "13800138000"}}
    outsider = submit(api, new_user(), rental)
    assert (outsider.status_code, outsider.get_json()["rule"]) == (403, "no_authorisation")
    reply = submit(api, applicant_for(people["tenant"]), rental)
    body = reply.get_json()
    assert reply.status_code in (201, 202) and body["applied_as"] == "self", body
    assert (body["form_data"]["landlord_name"], body["form_data"]["tenant_name"]) == ("landlord", "tenant")


def test_a_party_learns_nothing_of_the_other_partys_registry_record(api, people, applicant_for):
    """The registry fills in the filer's own name only: a tenant naming anyone's ID as
    landlord got that person's name back, and "required" for an ID the registry lacks."""
    tenant = applicant_for(people["tenant"])
    answers = {}
    for case, landlord_id, name in (("no name", people["local_85"], None), ("wrong name", people["local_85"], "张三"),
                                    ("unknown id", unknown_resident(), "张三")):
        data = {**{"landlord_id_number": landlord_id, "tenant_id_number": people["tenant"],
                   "property_cert_no": "琼(2024)海口市不动产权第0000001号", "address": "海口市龙华区滨海大道1号",
                   "start_date": "2026-01-01", "end_date": "2026-12-31", "monthly_rent": 2500,
                   "phone": "13800138000"}, **({"landlord_name": name} if name else {})}
        reply = submit(api, tenant, {"matter": "rental_filing", "data": data})
        assert reply.status_code == 422, (case, reply.get_json())
        answers[case] = reply.get_json()["errors"]
    assert list(answers["no name"]) == ["landlord_name"] and "local_85" not in str(answers["no name"])
    assert answers["wrong name"] == answers["unknown id"] == {"landlord_name": ["与身份证号码的登记信息不一致，请核对"]}


def test_who_looked_at_my_data_follows_the_principal_not_the_agent(api, services, resident, applicant_for, new_user):
    principal_id = resident(85)
    principal, agent = applicant_for(principal_id), new_user()
    api.post("/api/authorisations", principal, json={"agent": agent, "valid_to": until(services)})
    application = submit(api, agent, elderly(principal_id)).get_json()
    looked = api.post(f"/api/applications/{application['id']}/personal-data", "supervisor",
                      json={"reason": STAFF_REASON})
    assert looked.status_code == 200, looked.get_json()
    seen = api.get("/api/me/data-access", principal).get_json()
    assert [(entry["reference"], entry["reason"]) for entry in seen] == [(application["reference"], STAFF_REASON)]
    assert api.get("/api/me/data-access", agent).get_json() == []


def test_an_expired_authorisation_is_refused_naming_the_rule(clocked, resident, applicant_for, new_user):
    client, clock = clocked.client, clocked.clock
    principal_id = resident(85)
    principal, agent = applicant_for(principal_id), new_user()
    given = client.post("/api/authorisations", principal, json={
        "agent": agent, "matters": ["elderly_subsidy"], "valid_to": (clock() + timedelta(days=2)).isoformat()})
    assert given.status_code == 201, given.get_json()
    clock.now += timedelta(days=3)
    expired = submit(client, agent, elderly(principal_id))
    assert (expired.status_code, expired.get_json()["rule"]) == (403, "expired")


def test_twenty_applications_for_one_senior_card_give_one_card(api, senior, applicant_for):
    holder = senior(66)
    replies = [submit(api, applicant_for(holder), {"matter": "senior_card", "data": {
        "id_number": holder, "phone": "13800138000"}}).get_json() for _ in range(20)]
    assert [r["outcome"] for r in replies] == ["approve"] + ["reject"] * 19, replies[:2]
    assert len({r["result_no"] for r in replies if r["result_no"]}) == 1


def test_a_stranger_cannot_tell_a_registered_id_from_an_unknown_one(api, new_user, resident):
    """The name is filled from the registry only once the caller may apply: before, a name
    left out showed "required" for an unknown ID and passed for a registered one."""
    stranger = new_user()
    answers = [submit(api, stranger, elderly(id_number)) for id_number in (resident(85), unknown_resident())]
    assert [a.status_code for a in answers] == [403, 403]
    assert len({(a.get_json()["rule"], a.get_json()["detail"]) for a in answers}) == 1


def test_an_agent_hands_in_supplements_only_while_authorised(api, resident, applicant_for, new_user):
    """补正 after the principal revoked the authorisation is refused to the agent (it went
    through and resumed the case); the principal hands it in themselves."""
    principal_id = resident(70)
    principal, agent, window = applicant_for(principal_id), new_user(), new_user("clerk", "front_desk")
    in_a_month = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
    given = api.post("/api/authorisations", principal, json={"agent": agent, "valid_to": in_a_month})
    case = submit(api, agent, {"matter": "road_occupation", "data": {
        "id_number": principal_id, "phone": "13800138000", "location": "龙华区滨海大道100号北侧人行道",
        "purpose": "施工材料临时堆放", "start_date": "2026-10-12", "end_date": "2026-11-10", "area_m2": 40,
        "materials_provided": ["临时占用城市道路申请书"], "delivery_method": "pickup"}}).get_json()
    intake = next(t for t in api.get("/api/tasks", window).get_json() if t["application_id"] == case["id"])
    assert api.post(f"/api/tasks/{intake['id']}/claim", window).status_code == 200
    assert api.post(f"/api/tasks/{intake['id']}/complete", window, json={
        "outcome": "supplement", "missing_materials": ["交通安全保障方案"]}).status_code == 200
    assert api.post(f"/api/authorisations/{given.get_json()['id']}/revoke", principal).status_code == 200
    handed_in = {"materials": [{"name": "交通安全保障方案", "reference": "upload-7"}]}
    refused = api.post(f"/api/applications/{case['reference']}/supplement", agent, json=handed_in)
    assert (refused.status_code, refused.get_json()["rule"]) == (403, "authorisation_ended")
    assert api.post(f"/api/applications/{case['reference']}/supplement", principal, json=handed_in).status_code == 200


def test_a_handler_applies_for_a_road_occupation_in_a_units_name(api, resident, applicant_for):
    """临时占道: the applicant may be a unit (申请人（单位）名称) with the handler's ID; the
    registry offers the handler's name when the field is left empty, but does not overrule a unit's."""
    handler = resident(40)
    reply = submit(api, applicant_for(handler), {"matter": "road_occupation", "data": {
        "applicant_name": "海口市政工程公司", "id_number": handler, "phone": "13800138000", "location": "滨海大道100号",
        "purpose": "管道维修", "start_date": "2026-10-12", "end_date": "2026-10-14", "area_m2": 12,
        "materials_provided": ["临时占用城市道路申请书"], "delivery_method": "pickup"}})
    assert reply.status_code == 202 and reply.get_json()["form_data"]["applicant_name"] == "海口市政工程公司"
