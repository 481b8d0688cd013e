"""Privacy by need (issue 13): analysts, supervisors and admins see personal answers masked
in every listing and detail; the full data takes a stated reason, which the applicant sees
in GET /api/me/data-access; clerks see their department's cases only; applicants name
their applications by a random reference, never by the sequential id."""
from __future__ import annotations

import re
from datetime import date

import pytest

from engine.people import identity, users
from engine.definitions.versions import current_definition
from engine.demo import DEMO_PASSWORD, photo_licence_no
from engine.store.registries import RegistryPerson
from forms.identifiers import is_valid_resident_id, make_resident_id
from tests.integration.helpers import with_silent_source
from tests.integration import test_incidents
from tests.integration.test_tasks import task_of

RESIDENT_IDS = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9X](?![0-9A-Za-z])")
PHONES = re.compile(r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])")
PHONE, BANK_ACCOUNT = "13700137000", "6222020200112233445"
STAFF = ("analyst", "supervisor", "admin")
REASON = "核查补贴发放账户：申请人来电反映未到账"
LISTINGS = [  # every GET that returns application data to staff, by role allowed
    "/api/applications/{id}", "/api/applications/{reference}", "/api/events", "/api/events?application_id={id}",
    "/api/incidents", "/api/supervision/overdue", "/api/supervision/near-due", "/api/supervision/counts",
    "/api/supervision/handling", "/api/rectifications?status=open", "/api/rectifications?status=resolved",
    "/api/ratings/statistics", "/api/definitions",
]
scratch_matter = test_incidents.scratch_matter  # a fixture: a fresh matter to deploy a failing step to
ANSWERED = {"analyst": 4, "supervisor": len(LISTINGS) - 1, "admin": len(LISTINGS)}  # supervisors: no incidents


def texts(value) -> list[str]:
    """Every string in a JSON document, keys included, and every number as text."""
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [key, *texts(item)]]
    if isinstance(value, list):
        return [text for item in value for text in texts(item)]
    return [value] if isinstance(value, str) else [str(value)] if isinstance(value, (int, float)) else []


def unmasked(document, *values: str) -> list[str]:
    """Texts holding a resident ID (a valid one: a tracking number may be 18 digits too), a
    mobile number or one of ``values`` in full."""
    return [text for text in texts(document)
            if any(is_valid_resident_id(found) for found in RESIDENT_IDS.findall(text))
            or PHONES.search(text) or any(v in text for v in values)]


@pytest.fixture(scope="module")
def case(api, services) -> dict:
    """A waiting elderly-subsidy application with a bank account (在世 unknown: the death
    register does not answer), its civil-affairs clerk's comment quoting the phone, and a
    finished one of the same person rated badly with the phone in the comment."""
    id_number = make_resident_id("460106", date(date.today().year - 85, 2, 1), "777")
    with services.sessions() as session:
        for role, department in [("clerk", "civil_affairs"), ("clerk", "housing"), *((role, None) for role in STAFF)]:
            users.create_user(session, f"privacy_{role}_{department or 'x'}", DEMO_PASSWORD, role, department)
        session.merge(RegistryPerson(id_number=id_number, name="赵六", household_local=True, household_region="460100"))
        person = users.create_user(session, "privacy_applicant_x", DEMO_PASSWORD, "applicant")
        identity.verify_account(session, person, "赵六", id_number, actor="tests")
        session.commit()
    applicant, clerk = "privacy_applicant_x", "privacy_clerk_civil_affairs"
    reply = with_silent_source(services, "death_records").post("/api/applications", applicant, json={
        "matter": "elderly_subsidy", "data": {"id_number": id_number, "phone": PHONE, "bank_account": BANK_ACCOUNT}})
    waiting = reply.get_json()
    assert waiting["status"] == "waiting", waiting
    task = task_of(api, clerk, waiting["id"])
    assert api.post(f"/api/tasks/{task['id']}/claim", clerk).status_code == 200
    assert api.post(f"/api/tasks/{task['id']}/pause", clerk, json={
        "reason": "hearing", "note": f"已电话联系 {PHONE}，核对身份证 {id_number}"}).status_code == 200
    finished = api.post("/api/applications", applicant, json={"matter": "elderly_subsidy", "data": {
        "id_number": id_number, "phone": PHONE}}).get_json()
    assert finished["status"] == "completed", finished
    assert api.post(f"/api/applications/{finished['reference']}/rating", applicant, json={
        "level": 1, "comment": f"请回电 {PHONE}"}).status_code == 201
    return {"applicant": applicant, "clerk": clerk, "waiting": waiting, "finished": finished,
            "id_number": id_number, "location": reply.headers["Location"]}


@pytest.mark.parametrize("role", STAFF)
def test_staff_see_no_personal_answer_in_full_in_any_listing_or_detail(api, services, case, role):
    user, seen = f"privacy_{role}_x", 0
    for application in (case["waiting"], case["finished"]):
        for path in LISTINGS:
            reply = api.get(path.format(id=application["id"], reference=application["reference"]), user)
            assert reply.status_code in (200, 403), (path, reply.get_json())
            if reply.status_code == 200:
                seen += 1
                body = reply.get_json()
                assert unmasked(body, BANK_ACCOUNT, case["id_number"]) == [], (path, body)
    with services.sessions() as session:
        ruleset = current_definition(session, "elderly_subsidy").ruleset
    replay = api.post("/api/definitions/elderly_subsidy/replay", user, json={"ruleset": ruleset})
    assert replay.status_code == (403 if role == "supervisor" else 200)
    assert unmasked(replay.get_json()) == []
    assert seen == 2 * ANSWERED[role]  # the role's share of the listings, for each application


def test_masked_answers_keep_the_ends_of_each_value(api, case):
    id_number = case["id_number"]
    data = api.get(f"/api/applications/{case['waiting']['id']}", "privacy_supervisor_x").get_json()["form_data"]
    assert data == {"applicant_name": "赵*", "id_number": id_number[:4] + "*" * 10 + id_number[-4:],
                    "phone": "137****7000", "bank_account": "*" * 15 + "3445"}


def test_the_full_view_needs_a_reason_and_the_applicant_sees_who_looked(api, case):
    path = f"/api/applications/{case['waiting']['id']}/personal-data"
    assert api.post(path, "privacy_supervisor_x", json={}).status_code == 422
    assert api.post(path, "privacy_supervisor_x", json={"reason": "看看"}).status_code == 422
    assert api.post(path, "privacy_clerk_civil_affairs", json={"reason": REASON}).status_code == 403
    assert api.post(path, case["applicant"], json={"reason": REASON}).status_code == 403
    before = api.get("/api/me/data-access", case["applicant"]).get_json()
    full = api.post(path, "privacy_supervisor_x", json={"reason": REASON})
    assert full.status_code == 200, full.get_json()
    assert full.get_json()["personal_data"] == {"applicant_name": "赵六", "id_number": case["id_number"],
                                                "phone": PHONE, "bank_account": BANK_ACCOUNT}
    looked = api.get("/api/me/data-access", case["applicant"]).get_json()
    assert len(looked) == len(before) + 1
    assert {key: looked[0][key] for key in ("reference", "viewer", "viewer_role", "reason", "fields")} == {
        "reference": case["waiting"]["reference"], "viewer": "privacy_supervisor_x", "viewer_role": "supervisor",
        "reason": REASON, "fields": ["applicant_name", "bank_account", "id_number", "phone"]}
    assert api.get("/api/me/data-access", "privacy_supervisor_x").status_code == 403


def test_clerks_see_their_departments_cases_in_full_and_no_other(api, case):
    for path in (f"/api/applications/{case['waiting']['id']}", f"/api/applications/{case['waiting']['reference']}"):
        assert api.get(path, "privacy_clerk_civil_affairs").get_json()["form_data"]["bank_account"] == BANK_ACCOUNT
        assert api.get(path, "privacy_clerk_housing").status_code == 404


def test_applicants_name_their_applications_by_a_random_reference(api, case):
    references = [case["waiting"]["reference"], case["finished"]["reference"]]
    assert all(len(r) >= 20 and not r.isdigit() for r in references) and len(set(references)) == 2
    assert case["location"] == case["waiting"]["status_url"] == f"/api/applications/{references[0]}"
    mine = api.get("/api/applications", case["applicant"]).get_json()
    assert {a["reference"] for a in mine} == set(references)
    assert api.get(f"/api/applications/{references[0]}", case["applicant"]).status_code == 200
    assert api.get(f"/api/applications/{case['waiting']['id']}", case["applicant"]).status_code == 404
    assert api.get(f"/api/applications/{references[0]}", "privacy_clerk_housing").status_code == 404
    assert api.get("/api/applications/" + "x" * 22, case["applicant"]).status_code == 404


def test_an_incident_quoting_a_phone_is_masked_for_analysts(api, new_user, resident, applicant_for, scratch_matter):
    code, body = scratch_matter
    assert api.post("/api/definitions", new_user("analyst"), json=body("amount = int(phone + 'x')")).status_code == 201
    id_number = resident(85)
    failed = api.post("/api/applications", applicant_for(id_number), json={"matter": code, "data": {
        "id_number": id_number, "phone": PHONE}}).get_json()
    assert failed["status"] == "failed", failed
    for role in ("analyst", "admin"):
        incidents = api.get(f"/api/incidents?application={failed['id']}", f"privacy_{role}_x").get_json()
        assert incidents and unmasked(incidents) == [] and "137****7000" in incidents[0]["error"], incidents


def test_a_demo_photo_licence_number_does_not_spell_out_the_id(people):
    """Its number was digits 7-17 of the ID: beside a masked ID's visible ends, two digits to guess."""
    for key in ("senior_66", "local_85"):
        assert people[key][6:17] not in photo_licence_no(people[key])
