"""Regions (engine/people/regions.py): an application is handled in the region of its subject's
household or registration (or the one chosen, 就近办, where the matter allows it); clerks
and supervisors see and work only their own region's cases — another region's are "not
found" — while analysts and admins work for the whole platform."""
from __future__ import annotations

import itertools
from datetime import date

import pytest

from engine.people import users
from engine.demo import DEMO_PASSWORD
from engine.store.registries import RegistryPerson
from forms.identifiers import make_resident_id
from tests.integration.helpers import with_silent_source

HAIKOU, SANYA = "460100", "460200"
_unique = itertools.count(1)


@pytest.fixture
def staff(services):
    """A fresh staff account of ``role`` in ``region``."""
    def make(role: str, region: str, department: str | None = None) -> str:
        username = f"regions_{role}_{region}_{next(_unique)}"
        with services.sessions() as session:
            users.create_user(session, username, DEMO_PASSWORD, role, department, region=region)
            session.commit()
        return username
    return make


@pytest.fixture
def sanya_resident(services):
    """A fresh 85-year-old whose household is in Sanya (a Hainan household: local)."""
    def make() -> str:
        n = next(_unique)
        id_number = make_resident_id("460203", date(date.today().year - 85, 3, 1), f"{800 + n % 199:03d}")
        with services.sessions() as session:
            session.merge(RegistryPerson(id_number=id_number, name=f"三亚居民{n}", household_local=True,
                                         household_region=SANYA))
            session.commit()
        return id_number
    return make


def elderly(id_number: str, **extra) -> dict:
    return {"matter": "elderly_subsidy", "data": {"id_number": id_number, "phone": "13800138000"}, **extra}


def test_a_sanya_case_is_worked_and_supervised_in_sanya_only(api, services, staff, sanya_resident, applicant_for):
    client = with_silent_source(services, "death_records")  # 在世 unknown: the case waits for a clerk
    resident = sanya_resident()
    sanya_supervisor, haikou_supervisor = staff("supervisor", SANYA), staff("supervisor", HAIKOU)
    haikou_counts = api.get("/api/supervision/counts", haikou_supervisor).get_json()
    body = client.post("/api/applications", applicant_for(resident), json=elderly(resident)).get_json()
    assert (body["status"], body["region"]) == ("waiting", SANYA), body
    application = body["id"]
    sanya_clerk, haikou_clerk = staff("clerk", SANYA, "civil_affairs"), staff("clerk", HAIKOU, "civil_affairs")
    task = next(t for t in api.get("/api/tasks", sanya_clerk).get_json() if t["application_id"] == application)
    assert application not in [t["application_id"] for t in api.get("/api/tasks", haikou_clerk).get_json()]
    for path in (f"/api/tasks/{task['id']}", f"/api/applications/{application}"):
        assert api.get(path, haikou_clerk).status_code == 404
    assert api.post(f"/api/tasks/{task['id']}/claim", haikou_clerk).status_code == 404
    assert api.post(f"/api/tasks/{task['id']}/delegate", sanya_clerk, json={"to": haikou_clerk}).status_code == 422
    assert api.get(f"/api/applications/{application}", sanya_clerk).status_code == 200
    assert api.get(f"/api/applications/{application}", sanya_supervisor).status_code == 200
    assert api.get(f"/api/applications/{application}", haikou_supervisor).status_code == 404
    reason = {"reason": "核对申请人身份：工单 2026-0888"}
    assert api.post(f"/api/applications/{application}/personal-data", haikou_supervisor,
                    json=reason).status_code == 404
    assert api.post(f"/api/applications/{application}/personal-data", sanya_supervisor,
                    json=reason).status_code == 200
    logins = f"/api/events?kind=login&actor={haikou_clerk}"  # another region's people's own events too
    assert api.get(logins, sanya_supervisor).get_json() == [] and api.get(logins, haikou_supervisor).get_json()
    trail = f"/api/events?application_id={application}"
    assert api.get(trail, haikou_supervisor).get_json() == [] and api.get(trail, sanya_supervisor).get_json()
    assert api.get("/api/supervision/counts", haikou_supervisor).get_json() == haikou_counts  # not counted there
    assert api.get("/api/supervision/counts", sanya_supervisor).get_json()["departments"]["civil_affairs"]
    assert api.get(f"/api/applications/{application}", "analyst").status_code == 200  # the whole platform
    assert api.post(f"/api/tasks/{task['id']}/complete", sanya_clerk, json={
        "outcome": "approve", "comment": "已核实在世"}).status_code == 200


def test_a_matter_offered_nearby_lets_the_applicant_choose_among_its_regions(api, senior, applicant_for):
    holder = senior(66)  # a Haikou household
    card = {"matter": "senior_card", "data": {"id_number": holder, "phone": "13800138000"}}
    elsewhere = api.post("/api/applications", applicant_for(holder), json={**card, "region": "110100"})
    assert elsewhere.status_code == 422 and "三亚市（460200）" in elsewhere.get_json()["errors"]["region"][0]
    chosen = api.post("/api/applications", applicant_for(holder), json={**card, "region": SANYA})
    assert chosen.status_code == 201 and chosen.get_json()["region"] == SANYA, chosen.get_json()


def test_a_matter_handled_where_the_subject_lives_refuses_a_choice_and_falls_back_home(api, resident,
                                                                                      sanya_resident, applicant_for):
    resident_id = sanya_resident()
    chosen = api.post("/api/applications", applicant_for(resident_id), json=elderly(resident_id, region=HAIKOU))
    assert chosen.status_code == 422 and list(chosen.get_json()["errors"]) == ["region"]
    outsider = resident(88, local=False)  # household outside the regions served: the home region hears it
    body = api.post("/api/applications", applicant_for(outsider), json=elderly(outsider)).get_json()
    assert (body["region"], body["outcome"]) == (HAIKOU, "reject"), body


def test_an_admin_gives_staff_a_region_and_changing_it_ends_their_tokens(api):
    created = api.post("/api/users", "admin", json={"username": "regions_clerk_by_admin", "password": "a-long-secret-1",
                                                     "role": "clerk", "department": "civil_affairs", "region": SANYA})
    assert created.status_code == 201 and created.get_json()["region"] == SANYA, created.get_json()
    unknown = api.post("/api/users", "admin", json={"username": "regions_nowhere", "password": "a-long-secret-1",
                                                     "role": "supervisor", "region": "999999"})
    assert unknown.status_code == 422 and list(unknown.get_json()["errors"]) == ["region"]
    api.sign_in("regions_clerk_by_admin", "a-long-secret-1")
    assert api.get("/api/tasks", "regions_clerk_by_admin").status_code == 200
    moved = api.http.patch("/api/users/regions_clerk_by_admin", headers=api.headers("admin"), json={"region": HAIKOU})
    assert moved.status_code == 200 and moved.get_json()["region"] == HAIKOU
    assert api.http.get("/api/tasks", headers=api.headers("regions_clerk_by_admin")).status_code == 401


def test_a_person_who_registers_is_placed_in_the_region_of_their_household(api, services, sanya_resident):
    resident_id = sanya_resident()
    with services.sessions() as session:
        name = session.get(RegistryPerson, resident_id).name
    reply = api.http.post("/api/auth/register", json={"username": f"regions_person_{resident_id[-6:]}",
                                                      "password": "a-long-secret-2", "full_name": name,
                                                      "resident_id": resident_id})
    assert reply.status_code == 201, reply.get_json()
    api.sign_in(f"regions_person_{resident_id[-6:]}", "a-long-secret-2")
    assert api.get("/api/auth/me", f"regions_person_{resident_id[-6:]}").get_json()["region"] == SANYA


def test_a_local_variant_of_a_matter_is_handled_by_its_own_regions_window(api, staff, resident, applicant_for):
    """四级四同: road_occupation_sanya is road_occupation (same national code and elements)
    in Sanya, with Sanya's shorter limit; its front desk is Sanya's."""
    guides = {m["code"]: m for m in api.get("/api/matters").get_json()}
    variant, home = guides["road_occupation_sanya"], guides["road_occupation"]
    assert variant["guide"]["national_code"] == home["guide"]["national_code"]
    assert (variant["region"], variant["promised_days"], home["region"], home["promised_days"]) == (SANYA, 3, HAIKOU, 5)
    applicant = resident(40)
    body = api.post("/api/applications", applicant_for(applicant), json={"matter": "road_occupation_sanya", "data": {
        "id_number": applicant, "phone": "13800138000", "location": "三亚湾路100号北侧人行道",
        "purpose": "施工材料临时堆放", "start_date": "2026-10-12", "end_date": "2026-11-10", "area_m2": 40,
        "materials_provided": ["临时占用城市道路申请书"], "delivery_method": "pickup"}}).get_json()
    assert body["region"] == SANYA, body
    sanya_window, haikou_window = staff("clerk", SANYA, "front_desk"), staff("clerk", HAIKOU, "front_desk")
    assert body["id"] in [t["application_id"] for t in api.get("/api/tasks", sanya_window).get_json()]
    assert body["id"] not in [t["application_id"] for t in api.get("/api/tasks", haikou_window).get_json()]


def test_staff_verifying_their_identity_stay_in_the_region_they_were_placed(api, services, staff, sanya_resident):
    """A Sanya clerk verified as a Haikou resident saw Haikou's tasks: staff regions are the admin's."""
    clerk = staff("clerk", SANYA, "civil_affairs")
    resident_id = sanya_resident()
    with services.sessions() as session:
        person = session.get(RegistryPerson, resident_id)
        person.household_region, name = HAIKOU, person.name
        session.commit()
    assert api.post("/api/me/identity", clerk, json={"full_name": name, "resident_id": resident_id}).status_code == 200
    assert api.get("/api/auth/me", clerk).get_json()["region"] == SANYA
