"""Submitting: idempotency, validation of every field at once, and who may read what."""
from __future__ import annotations

import threading
from datetime import date

from sqlalchemy import func, select

from engine.store.models import Application
from forms.identifiers import make_resident_id, resident_id_check_char
from tests.integration.helpers import authorise


def count_applications(services) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(Application))


def elderly(id_number: str, phone: str = "13800138000", **extra) -> dict:
    """高龄补贴 for ``id_number``; the name is left out (秒填 from the population registry)
    unless given in ``extra``."""
    return {"matter": "elderly_subsidy", "data": {"id_number": id_number, "phone": phone, **extra}}


def test_same_idempotency_key_returns_the_first_application(api, services, resident, applicant_for, new_user):
    subject = resident(85)
    applicant, agent = applicant_for(subject), new_user()
    authorise(api, applicant, agent)  # another caller who may send the very same request
    key = {"Idempotency-Key": "form-submit-7f3a"}
    first = api.post("/api/applications", applicant, headers=key, json=elderly(subject))
    before = count_applications(services)
    again = api.post("/api/applications", applicant, headers=key, json=elderly(subject))
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert count_applications(services) == before
    other = api.post("/api/applications", agent, headers=key, json=elderly(subject))
    assert other.status_code == 201 and other.get_json()["id"] != first.get_json()["id"]


def test_the_same_idempotency_key_with_another_body_is_refused_naming_the_header(api, services, resident,
                                                                                 applicant_for):
    """Before: the second request was answered 200 "replayed" with the first application —
    even for another matter — and the second application was silently never created."""
    subject = resident(85)
    applicant = applicant_for(subject)
    key = {"Idempotency-Key": "reused-key-1"}
    first = api.post("/api/applications", applicant, headers=key, json=elderly(subject))
    assert first.status_code == 201
    before = count_applications(services)
    for other in (elderly(subject, phone="13900139000"),
                  {"matter": "senior_card", "data": {"id_number": subject}}):
        reply = api.post("/api/applications", applicant, headers=key, json=other)
        assert reply.status_code == 422, reply.get_json()
        assert reply.headers["Content-Type"] == "application/problem+json"
        assert list(reply.get_json()["errors"]) == ["Idempotency-Key"]
        assert first.get_json()["tracking_no"] in reply.get_json()["errors"]["Idempotency-Key"][0]
    assert count_applications(services) == before
    again = api.post("/api/applications", applicant, headers=key, json=elderly(subject))
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]


def test_bad_resident_ids_get_422_naming_the_field_and_store_nothing(api, services, people, new_user):
    applicant = new_user()
    valid = people["local_85"]
    wrong_check = valid[:17] + next(c for c in "0123456789X" if c != valid[17])
    future = make_resident_id("460105", date(date.today().year + 1, 1, 1), "001")
    bad_date = "46010519990230001"
    bad_date += resident_id_check_char(bad_date)
    before = count_applications(services)
    for id_number in ("12345", wrong_check, future, bad_date, "4601051940011510X1"):
        # named, as the registry cannot fill in the name of a malformed ID: only the ID is wrong
        reply = api.post("/api/applications", applicant, json=elderly(id_number, applicant_name="钱七"))
        assert reply.status_code == 422, id_number
        problem = reply.get_json()
        assert reply.headers["Content-Type"].startswith("application/problem+json")
        assert list(problem["errors"]) == ["id_number"], (id_number, problem)
    assert count_applications(services) == before


def test_every_field_error_comes_at_once(api, new_user):
    """The name left out is no error: the registry fills it in (秒填) once the caller may apply."""
    reply = api.post("/api/applications", new_user(), json={"matter": "elderly_subsidy", "data": {
        "id_number": "not-an-id", "phone": "12", "surprise": 1}})
    assert reply.status_code == 422
    assert set(reply.get_json()["errors"]) == {"id_number", "phone", "surprise"}


def test_an_applicant_never_reads_anothers_application(api, resident, applicant_for, new_user):
    subject = resident(85)
    owner, stranger = applicant_for(subject), new_user()
    reference = api.post("/api/applications", owner, json=elderly(subject)).get_json()["reference"]
    assert api.get(f"/api/applications/{reference}", owner).status_code == 200
    assert api.get(f"/api/applications/{reference}", stranger).status_code == 404
    assert reference not in [a["reference"] for a in api.get("/api/applications", stranger).get_json()]
    assert api.get(f"/api/applications/{reference}").status_code == 401


def test_only_applicants_submit_and_only_analysts_deploy(api, people, new_user):
    assert api.post("/api/applications", new_user("clerk", "housing"), json=elderly(people["local_85"])).status_code == 403
    assert api.post("/api/definitions", new_user(), json={"matter": "x", "bpmn": "", "ruleset": "", "form": ""}).status_code == 403
    assert api.post("/api/definitions", json={"matter": "x", "bpmn": "", "ruleset": "", "form": ""}).status_code == 401


def test_login_with_a_wrong_password_is_refused(api):
    reply = api.http.post("/api/auth/login", json={"username": "alice", "password": "nope"})
    assert reply.status_code == 401
    assert reply.get_json()["title"] == "Authentication required"


def test_catalogue_guide_and_openapi_are_public(api):
    matters = {m["code"]: m for m in api.get("/api/matters").get_json()}
    assert {"elderly_subsidy", "rental_filing"} <= set(matters)
    guide = api.get("/api/matters/rental_filing").get_json()
    assert guide["guide"]["legal_basis"] and guide["form"]["components"]
    spec = api.get("/api/openapi.json").get_json()
    assert "/api/applications" in spec["paths"]
    docs = api.get("/api/docs")
    assert docs.status_code == 200 and b"/api/docs/assets/swagger-ui-bundle.js" in docs.data
    assert api.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_the_same_idempotency_key_sent_twice_at_once_makes_one_application(api, services, resident, applicant_for):
    subject = resident(92)
    applicant = applicant_for(subject)
    api.headers(applicant)
    barrier, ids = threading.Barrier(4), []

    def send() -> None:
        barrier.wait()
        reply = api.post("/api/applications", applicant, headers={"Idempotency-Key": "double-click"},
                         json=elderly(subject))
        assert reply.status_code in (200, 201), reply.get_json()
        ids.append(reply.get_json()["id"])

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 4 and len(set(ids)) == 1
