"""Who may do what: every endpoint as every role, with the status each must get.

Hidden things answer 404, not 403, so a stranger learns nothing about what exists: another
applicant's application, another department's task. Roles that may not use an endpoint
at all get 403, callers without a token 401.
"""
from __future__ import annotations

import pytest

from engine import users
from engine.definitions import current_definition
from engine.demo import DEMO_PASSWORD
from tests.integration.test_privacy import unmasked
from tests.integration.test_tasks import manual_case, task_of

ROLES = {  # name in the table -> (role, department)
    "anonymous": None,
    "owner": ("applicant", None),
    "other_applicant": ("applicant", None),
    "clerk": ("clerk", "civil_affairs"),  # the department the owner's application waits on
    "other_clerk": ("clerk", "housing"),
    "analyst": ("analyst", None),
    "supervisor": ("supervisor", None),
    "admin": ("admin", None),
}


def statuses(default: int, anonymous: int = 401, **by_role: int) -> dict[str, int]:
    """``default`` for every signed-in role but those named; ``anonymous`` for no token."""
    return {role: by_role.get(role, default) for role in ROLES} | {"anonymous": anonymous}


EVERYONE = statuses(200, anonymous=200)
MATRIX = [
    ("POST", "/api/auth/login", statuses(200)),  # anonymous: a wrong password
    ("GET", "/api/auth/me", statuses(200)),
    ("GET", "/api/matters", EVERYONE),
    ("GET", "/api/matters/elderly_subsidy", EVERYONE),
    ("POST", "/api/matters/elderly_subsidy/materials", EVERYONE),
    ("GET", "/api/openapi.json", EVERYONE),
    ("GET", "/api/docs", EVERYONE),
    ("GET", "/api/applications", statuses(403, owner=200, other_applicant=200)),
    ("POST", "/api/applications", statuses(403, owner=201, other_applicant=201)),
    ("GET", "/api/applications/{application_ref}", statuses(200, other_applicant=404, other_clerk=404)),
    # applicants name applications by reference only: the sequential id is staff's
    ("GET", "/api/applications/{application_id}", statuses(200, owner=404, other_applicant=404, other_clerk=404)),
    ("POST", "/api/applications/{application_id}/personal-data", statuses(403, analyst=200, supervisor=200, admin=200)),
    ("GET", "/api/me/data-access", statuses(403, owner=200, other_applicant=200)),
    ("GET", "/api/tasks", statuses(403, clerk=200, other_clerk=200)),
    ("POST", "/api/tasks/{open_task}/claim", statuses(403, clerk=200, other_clerk=404)),
    ("POST", "/api/tasks/{claimed_task}/release", statuses(403, clerk=200, other_clerk=404)),
    ("POST", "/api/tasks/{task_to_complete}/complete", statuses(403, clerk=200, other_clerk=404)),
    ("GET", "/api/definitions", statuses(403, analyst=200, supervisor=200, admin=200)),
    ("POST", "/api/definitions", statuses(403, analyst=200, admin=200)),  # 200: same files again
    ("POST", "/api/definitions/rental_filing/replay", statuses(403, analyst=200, admin=200)),
    ("GET", "/api/events", statuses(403, supervisor=200, admin=200)),
    ("POST", "/api/tasks/claim", statuses(403, clerk=200, other_clerk=200)),  # other_clerk: all refused
    ("POST", "/api/tasks/{pause_task}/pause", statuses(403, clerk=200, other_clerk=404)),
    ("POST", "/api/tasks/{pause_task}/resume", statuses(403, clerk=200, other_clerk=404)),
    ("POST", "/api/tasks/{delegate_task}/delegate", statuses(403, clerk=200, other_clerk=404)),
    ("GET", "/api/tasks/{open_task}", statuses(403, clerk=200, other_clerk=404)),
    # 422 for the clerk: allowed, but a first step has no earlier step to go back to
    ("POST", "/api/tasks/{open_task}/send-back", statuses(403, clerk=422, other_clerk=404)),
    # 409 for the owner: allowed, but the application is not waiting for materials
    ("POST", "/api/applications/{application_ref}/supplement", statuses(403, owner=409, other_applicant=404)),
    *(("GET", f"/api/supervision/{view}", statuses(403, supervisor=200, admin=200))
      for view in ("overdue", "near-due", "counts", "handling")),
    ("POST", "/api/applications/{finished_ref}/rating", statuses(403, owner=201, other_applicant=404)),
    ("GET", "/api/rectifications", statuses(403, clerk=200, other_clerk=200, supervisor=200, admin=200)),
    ("POST", "/api/rectifications/{rectification}/resolve", statuses(403, clerk=200, other_clerk=404)),
    ("GET", "/api/ratings/statistics", statuses(403, supervisor=200, admin=200)),
    *((method, "/api/events", statuses(405, anonymous=405)) for method in ("PUT", "PATCH", "DELETE")),
    *((method, "/api/events/1", statuses(404, anonymous=404)) for method in ("PUT", "PATCH", "DELETE")),
]
TABLE = [(method, path, role, status) for method, path, by_role in MATRIX for role, status in by_role.items()]


@pytest.fixture(scope="module")
def world(api, engine, people) -> dict:
    """A user per role, and the owner's applications waiting on civil_affairs tasks: one
    task open, one claimed by the clerk, one to complete (each changes state once)."""
    with engine.sessions() as session:
        for name, role in ROLES.items():
            if role:
                users.create_user(session, f"authz_{name}", DEMO_PASSWORD, *role)
        latest = current_definition(session, "rental_filing")
        redeploy = {"matter": "rental_filing", "bpmn": latest.bpmn, "ruleset": latest.ruleset,
                    "form": latest.form, "dmn": list(latest.dmn)}
        session.commit()
    applications = [manual_case(api, people, lambda: "authz_owner")[0] for _ in range(6)]
    tasks = [task_of(api, "authz_clerk", a)["id"] for a in applications]
    assert api.post(f"/api/tasks/{tasks[1]}/claim", "authz_clerk").status_code == 200
    finished = [api.post("/api/applications", "authz_owner", json={"matter": "elderly_subsidy", "data": {
        "applicant_name": "钱七", "id_number": people["local_75"], "phone": "13800138000"}}).get_json()
        for _ in range(2)]
    assert api.post(f"/api/applications/{finished[1]['reference']}/rating", "authz_owner",
                    json={"level": 1}).status_code == 201
    rectification = next(r for r in api.get("/api/rectifications", "authz_clerk").get_json()
                         if r["rating"]["application_id"] == finished[1]["id"])
    references = {a["id"]: a["reference"] for a in api.get("/api/applications", "authz_owner").get_json()}
    return {"ids": {"application_id": applications[0], "application_ref": references[applications[0]],
                    "open_task": tasks[0], "claimed_task": tasks[1],
                    "task_to_complete": tasks[2], "pause_task": tasks[3], "delegate_task": tasks[4],
                    "finished_ref": finished[0]["reference"], "rectification": rectification["id"]},
            "bodies": {"/api/applications": {"matter": "elderly_subsidy", "data": {
                           "applicant_name": "钱七", "id_number": people["local_85"], "phone": "13800138000"}},
                       "/api/definitions": redeploy,
                       "/api/definitions/rental_filing/replay": {"ruleset": redeploy["ruleset"]},
                       "/api/tasks/claim": {"task_ids": [tasks[5]]},
                       "/api/tasks/{pause_task}/pause": {"reason": "hearing"},
                       "/api/tasks/{delegate_task}/delegate": {"to": "authz_clerk"},
                       "/api/tasks/{open_task}/send-back": {"to": "Task_review", "reason": "退回核实"},
                       "/api/applications/{application_ref}/supplement": {
                           "materials": [{"name": "户口簿", "reference": "upload-1"}]},
                       "/api/applications/{finished_ref}/rating": {"level": 5},
                       "/api/applications/{application_id}/personal-data": {"reason": "核对申请人身份：工单 2026-0312"},
                       "/api/rectifications/{rectification}/resolve": {"answer": "已回访"},
                       "/api/tasks/{task_to_complete}/complete": {"outcome": "approve", "comment": "核实"}}}


def call(api, world: dict, method: str, path: str, role: str):
    """The request as ``role``; login is the one call whose caller is in the body."""
    if path == "/api/auth/login":
        username = "authz_owner" if role == "anonymous" else f"authz_{role}"
        password = "wrong" if role == "anonymous" else DEMO_PASSWORD
        return api.http.post(path, json={"username": username, "password": password})
    headers = api.headers(None if role == "anonymous" else f"authz_{role}")
    return api.http.open(path.format(**world["ids"]), method=method, headers=headers,
                         json=world["bodies"].get(path))


@pytest.mark.parametrize(("method", "path", "role", "expected"), TABLE,
                         ids=[f"{m} {p} as {r} -> {s}" for m, p, r, s in TABLE])
def test_who_may_do_what(api, world, method, path, role, expected):
    reply = call(api, world, method, path, role)
    assert reply.status_code == expected, reply.get_data(as_text=True)[:500]
    if expected >= 400 and path.startswith("/api/"):
        assert reply.headers["Content-Type"].startswith("application/problem+json")


MASKED_VIEWS = [(method, path, role) for method, path, role, status in TABLE
                if method == "GET" and status == 200 and role in ("analyst", "supervisor", "admin")
                and path not in ("/api/openapi.json", "/api/docs")]  # their examples are no one's data


@pytest.mark.parametrize(("method", "path", "role"), MASKED_VIEWS, ids=[f"{m} {p} as {r}" for m, p, r in MASKED_VIEWS])
def test_staff_answers_hold_no_resident_id_or_phone_in_full(api, world, method, path, role):
    """Analysts, supervisors and admins read personal answers masked (engine/privacy.py)."""
    assert unmasked(call(api, world, method, path, role).get_json()) == []


def test_an_applicant_never_lists_anothers_applications(api, world):
    mine = [a["id"] for a in api.get("/api/applications", "authz_owner").get_json()]
    theirs = [a["id"] for a in api.get("/api/applications", "authz_other_applicant").get_json()]
    assert world["ids"]["application_id"] in mine and world["ids"]["application_id"] not in theirs


def test_a_clerk_never_sees_another_departments_tasks(api, world):
    mine = [t["id"] for t in api.get("/api/tasks?status=active", "authz_clerk").get_json()]
    theirs = [t["id"] for t in api.get("/api/tasks?status=active", "authz_other_clerk").get_json()]
    assert world["ids"]["open_task"] in mine and world["ids"]["open_task"] not in theirs


def test_anothers_application_looks_exactly_like_a_missing_one(api, world):
    """Same status and title: the stranger cannot tell "not yours" from "not there"."""
    hidden = api.get(f"/api/applications/{world['ids']['application_id']}", "authz_other_applicant").get_json()
    missing = api.get("/api/applications/999999999", "authz_other_applicant").get_json()
    assert (hidden["status"], hidden["title"]) == (missing["status"], missing["title"]) == (404, "Not found")
