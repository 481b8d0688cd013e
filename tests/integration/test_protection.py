"""Rate limits, security headers and the read-only audit trail."""
from __future__ import annotations

from engine.config import load_settings
from tests.integration.helpers import authorise, with_silent_source


def test_repeated_wrong_passwords_are_slowed_down(api, new_user):
    victim = new_user()
    statuses = [api.http.post("/api/auth/login", json={"username": victim, "password": f"guess{i}"}).status_code
                for i in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    blocked = api.http.post("/api/auth/login", json={"username": victim, "password": "demo-password"})
    assert blocked.status_code == 429
    assert blocked.headers["Content-Type"].startswith("application/problem+json")
    assert int(blocked.headers["Retry-After"]) > 0
    other = api.http.post("/api/auth/login", json={"username": new_user(), "password": "demo-password"})
    assert other.status_code == 200  # the limit is per account, not the whole address


def test_submissions_are_limited_per_caller(api, resident, applicant_for, new_user):
    allowed = int(load_settings().submit_limit.split()[0])
    subject = resident(75)
    applicant, agent = applicant_for(subject), new_user()
    authorise(api, applicant, agent)  # another caller who may submit the very same form
    data = {"matter": "elderly_subsidy", "data": {"id_number": subject, "phone": "13800138000"}}
    statuses = [api.post("/api/applications", applicant, json=data).status_code for _ in range(allowed + 1)]
    assert statuses[:allowed] == [201] * allowed and statuses[allowed] == 429
    assert api.post("/api/applications", agent, json=data).status_code == 201


def test_security_headers(api):
    for path in ("/api/matters", "/api/docs", "/api/nowhere"):
        headers = api.get(path).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert "Content-Security-Policy" in headers
    assert api.get("/api/matters").headers["Cache-Control"] == "no-store"


def test_the_audit_trail_records_who_did_what_and_cannot_be_edited(api, services, resident, applicant_for, new_user):
    subject = resident(84)
    applicant, clerk, supervisor = applicant_for(subject), new_user("clerk", "civil_affairs"), new_user("supervisor")
    # the population registry does not answer: the rules send the case to a clerk
    body = with_silent_source(services, "population_registry").post("/api/applications", applicant, json={
        "matter": "elderly_subsidy", "data": {"id_number": subject, "phone": "13800138000"}}).get_json()
    task = next(t for t in api.get("/api/tasks", clerk).get_json() if t["application_id"] == body["id"])
    api.post(f"/api/tasks/{task['id']}/claim", clerk)
    api.post(f"/api/tasks/{task['id']}/complete", clerk, json={"outcome": "approve", "amount": 100})
    trail = api.get(f"/api/events?application_id={body['id']}", supervisor).get_json()
    actors = {(e["kind"], e["actor"]) for e in trail}
    assert {("application.submitted", applicant), ("task.claimed", clerk), ("task.completed", clerk),
            ("application.decided", clerk)} <= actors
    assert all(e["at"] for e in trail)
    logins = api.get(f"/api/events?kind=login&actor={clerk}", supervisor).get_json()
    assert len(logins) == 1
    assert api.get("/api/events?kind=definition.deployed", supervisor).get_json()
    event_id = trail[0]["id"]
    for method in ("put", "patch", "delete"):
        for path in ("/api/events", f"/api/events/{event_id}"):
            reply = getattr(api.http, method)(path, headers=api.headers(supervisor), json={"kind": "x"})
            assert reply.status_code in (404, 405), (method, path)
    assert api.get("/api/events", applicant).status_code == 403
    assert api.get("/api/events", clerk).status_code == 403


def test_nul_characters_are_refused_in_any_input_on_both_backends(api, new_user):
    """PostgreSQL cannot store U+0000: a NUL in a queue filter answered 500 there."""
    clerk, applicant = new_user("clerk", "civil_affairs"), new_user()
    for reply in (api.get("/api/tasks?applicant=%00", clerk),
                  api.post("/api/applications", applicant, json={"matter": "elderly_subsidy", "data": {
                      "applicant_name": "王\x00五", "id_number": "1", "phone": "1"}})):
        assert reply.status_code == 422, reply.get_json()
        assert reply.headers["Content-Type"] == "application/problem+json"
        assert "NUL" in reply.get_json()["detail"]


def test_lone_surrogates_and_deep_nesting_are_refused_never_a_500(api, new_user):
    applicant = new_user()
    lone = '{"matter": "elderly_subsidy", "data": {"applicant_name": "\\ud800", "id_number": "1", "phone": "1"}}'
    deep = '{"matter": "elderly_subsidy", "data": {"applicant_name": ' + "[" * 5000 + "]" * 5000 + "}}"
    shallow = '{"matter": "elderly_subsidy", "data": {"applicant_name": ' + "[" * 40 + "]" * 40 + "}}"
    in_name = "body.data.applicant_name"
    for body, says, at in ((lone, "surrogate", in_name), (deep, "nested deeper", "body"),  # beyond the parser
                           (shallow, "nested deeper", in_name + "[0]" * 31)):
        reply = api.post("/api/applications", applicant, data=body, content_type="application/json")
        assert reply.status_code == 422, reply.get_json()
        assert list(reply.get_json()["errors"]) == [at]
        assert says in reply.get_json()["errors"][at][0]


def test_a_key_that_cannot_be_stored_names_its_object(api, new_user):
    body = '{"matter": "elderly_subsidy", "data": {"\\ud800": "x"}}'
    reply = api.post("/api/applications", new_user(), data=body, content_type="application/json")
    assert reply.status_code == 422, reply.get_data(as_text=True)
    assert list(reply.get_json()["errors"]) == ["body.data"]


def test_a_number_too_long_to_read_is_refused_not_a_500(api, new_user):
    """Python reads at most 4,300 digits of an integer: any JSON body holding a longer one
    answered 500 on every endpoint, login included."""
    body = '{"username": "alice", "password": ' + "9" * 5000 + "}"
    for path, user in (("/api/auth/login", None), ("/api/applications", new_user())):
        reply = api.post(path, user, data=body, content_type="application/json")
        assert reply.status_code == 422 and "body" in reply.get_json()["errors"], reply.get_data(as_text=True)[:300]
