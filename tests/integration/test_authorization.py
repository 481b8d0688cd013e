"""Who may do what: every endpoint as every role, with the status each must get.

Hidden things answer 404, not 403, so a stranger learns nothing about what exists: another
applicant's application, another department's task, another region's case. Roles that may
not use an endpoint at all get 403, callers without a token 401; applying for someone who
gave no authorisation is 403 naming the rule. Analysts, supervisors and admins get no
personal answer in full in any response of the matrix but the one that exists to give it.
"""
from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine.people import identity, users
from engine.definitions.versions import current_definition
from engine.demo import DEMO_PASSWORD
from engine.store.models import User
from engine.store.registries import RegistryPerson
from forms.identifiers import make_resident_id
from tests.integration.helpers import with_silent_source
from tests.integration.test_bundles import startup_form
from tests.integration.test_privacy import unmasked
from tests.integration.test_tasks import task_of

HAIKOU, SANYA = "460100", "460200"
ROLES = {  # name in the table -> (role, department, region)
    "anonymous": None,
    "owner": ("applicant", None, HAIKOU),  # an 85-year-old of Haikou, applying for themselves
    "other_applicant": ("applicant", None, HAIKOU),
    "agent": ("agent", "post_haikou", HAIKOU),  # the owner authorised the outlet on paper, after the cases
    "clerk": ("clerk", "civil_affairs", HAIKOU),  # the department the owner's application waits on
    "other_clerk": ("clerk", "housing", HAIKOU),
    "sanya_clerk": ("clerk", "civil_affairs", SANYA),  # the same department, another region
    "analyst": ("analyst", None, HAIKOU),
    "supervisor": ("supervisor", None, HAIKOU),
    "sanya_supervisor": ("supervisor", None, SANYA),
    "admin": ("admin", None, HAIKOU),
}
MASKED = ("analyst", "supervisor", "sanya_supervisor", "admin")
# The one view that exists to show personal answers in full (with a reason, recorded), and
# the API document, whose examples are no one's data.
FULL_BY_DESIGN = ("/api/applications/{application_id}/personal-data", "/api/openapi.json")
NOT_THEIRS = {"other_applicant": 404, "agent": 404, "other_clerk": 404, "sanya_clerk": 404, "sanya_supervisor": 404}
AUTHORED = {"name": "授权矩阵测试事项", "type": "公共服务", "legal_basis": "《测试办法》", "department": "housing",
            "legal_days": 10, "promised_days": 5}  # a guide (api/authoring.py)
CATALOGUE_ROW = {"基本编码": "000000000000-9901-0001", "事项名称": "授权矩阵导入事项", "事项类型": "公共服务",
                 "设定依据": "《测试办法》", "实施主体": "住房和城乡建设局", "法定办结时限": "10个工作日", "承诺办结时限": 5}


def statuses(default: int, anonymous: int = 401, **by_role: int) -> dict[str, int]:
    """``default`` for every signed-in role but those named; ``anonymous`` for no token."""
    return {role: by_role.get(role, default) for role in ROLES} | {"anonymous": anonymous}


def clerks_task(status: int = 200) -> dict[str, int]:
    """A call on the clerk's task: ``status`` for them, 404 for clerks of another department
    or region, 403 for every other role."""
    return statuses(403, clerk=status, other_clerk=404, sanya_clerk=404)


EVERYONE = statuses(200, anonymous=200)
MATRIX = [
    ("POST", "/api/auth/login", statuses(200)),  # anonymous: a wrong password
    ("GET", "/api/auth/me", statuses(200)),
    ("GET", "/api/matters", EVERYONE),
    ("GET", "/api/matters/elderly_subsidy", EVERYONE),
    ("POST", "/api/matters/elderly_subsidy/materials", EVERYONE),
    ("GET", "/api/matters/search?q=老人补贴", EVERYONE),  # public; a signed-in caller's region filters it
    ("GET", "/api/departments", EVERYONE),  # public: department names
    ("GET", "/api/openapi.json", EVERYONE),
    ("GET", "/api/docs", EVERYONE),
    ("GET", "/api/applications", statuses(403, owner=200, other_applicant=200, agent=200)),
    # the body applies for the owner: the owner and the outlet they authorised may, nobody else
    ("POST", "/api/applications", statuses(403, owner=201, agent=201)),
    ("GET", "/api/applications/{application_ref}", statuses(200, **NOT_THEIRS)),
    # applicants name applications by reference only: the sequential id is staff's
    ("GET", "/api/applications/{application_id}", statuses(200, owner=404, **NOT_THEIRS)),
    ("POST", "/api/applications/{application_id}/personal-data",
     statuses(403, analyst=200, supervisor=200, admin=200, sanya_supervisor=404)),
    ("GET", "/api/me/data-access", statuses(403, owner=200, other_applicant=200)),
    ("GET", "/api/authorisations", statuses(403, owner=200, other_applicant=200, agent=200)),
    ("GET", "/api/tasks", statuses(403, clerk=200, other_clerk=200, sanya_clerk=200)),
    ("POST", "/api/tasks/{open_task}/claim", clerks_task()),
    ("POST", "/api/tasks/{claimed_task}/release", clerks_task()),
    ("POST", "/api/tasks/{task_to_complete}/complete", clerks_task()),
    ("GET", "/api/definitions", statuses(403, analyst=200, supervisor=200, sanya_supervisor=200, admin=200)),
    ("POST", "/api/definitions", statuses(403, analyst=200, admin=200)),  # 200: same files again
    ("POST", "/api/definitions/rental_filing/replay", statuses(403, analyst=200, admin=200)),
    ("GET", "/api/definitions/vocabulary", statuses(403, analyst=200, supervisor=200, sanya_supervisor=200, admin=200)),
    ("GET", "/api/definitions/rental_filing/current",
     statuses(403, analyst=200, supervisor=200, sanya_supervisor=200, admin=200)),
    ("GET", "/api/definitions/rental_filing/versions/{rental_version}",
     statuses(403, analyst=200, supervisor=200, sanya_supervisor=200, admin=200)),
    ("GET", "/api/definitions/rental_filing/diff?from={rental_version}&to={rental_version}",
     statuses(403, analyst=200, supervisor=200, sanya_supervisor=200, admin=200)),
    # 200: the version is the newest already (a roll-back to it deploys nothing)
    ("POST", "/api/definitions/rental_filing/rollback", statuses(403, analyst=200, admin=200)),
    # the pages are shells: what they show comes from the API above, with the caller's token
    ("GET", "/analyst/modeller/rental_filing", EVERYONE),
    ("GET", "/api/events", statuses(403, supervisor=200, sanya_supervisor=200, admin=200)),
    # other_clerk, sanya_clerk: allowed, every task refused
    ("POST", "/api/tasks/claim", statuses(403, clerk=200, other_clerk=200, sanya_clerk=200)),
    ("POST", "/api/tasks/{pause_task}/pause", clerks_task()),
    ("POST", "/api/tasks/{pause_task}/resume", clerks_task()),
    ("POST", "/api/tasks/{delegate_task}/delegate", clerks_task()),
    ("GET", "/api/tasks/{open_task}", clerks_task()),
    # 422 for the clerk: allowed, but a first step has no earlier step to go back to
    ("POST", "/api/tasks/{open_task}/send-back", clerks_task(422)),
    # 409 for the owner: allowed, but the application is not waiting for materials
    ("POST", "/api/applications/{application_ref}/supplement",
     statuses(403, owner=409, other_applicant=404, agent=404)),
    *(("GET", f"/api/supervision/{view}", statuses(403, supervisor=200, sanya_supervisor=200, admin=200))
      for view in ("overdue", "near-due", "counts", "handling")),
    ("POST", "/api/applications/{finished_ref}/rating", statuses(403, owner=201, other_applicant=404)),
    ("GET", "/api/rectifications",
     statuses(403, clerk=200, other_clerk=200, sanya_clerk=200, supervisor=200, sanya_supervisor=200, admin=200)),
    ("POST", "/api/rectifications/{rectification}/resolve", clerks_task()),
    ("GET", "/api/ratings/statistics", statuses(403, supervisor=200, sanya_supervisor=200, admin=200)),
    ("GET", "/api/bundles", EVERYONE),
    ("POST", "/api/bundles/business_startup/applications", statuses(403, owner=202, agent=202)),
    ("POST", "/api/cart/form", statuses(403, owner=200, other_applicant=200, agent=200)),
    ("POST", "/api/cart/materials", statuses(403, owner=200, other_applicant=200, agent=200)),
    ("POST", "/api/cart/orders", statuses(403, owner=201, agent=201)),  # answered at once: already receiving
    ("GET", "/api/applications/{bundle_ref}/bundle", statuses(200, clerk=404, **NOT_THEIRS)),
    ("GET", "/api/reports/four-reductions?matter=elderly_subsidy",
     statuses(403, analyst=200, supervisor=200, sanya_supervisor=200, admin=200)),
    # matters from templates (api/authoring.py); 409: allowed, but the code is a shipped matter's
    ("GET", "/api/templates", statuses(403, analyst=200, admin=200)),
    ("POST", "/api/templates/window/matters", statuses(403, analyst=409, admin=409)),
    ("GET", "/api/matters/{authored}/guide", statuses(403, analyst=200, admin=200)),
    ("PATCH", "/api/matters/{authored}/guide", statuses(403, analyst=200, admin=200)),  # 200: nothing changed
    ("POST", "/api/catalogue/import", statuses(403, analyst=200, admin=200)),  # 200: the per-row report
    ("POST", "/api/catalogue/import/file", statuses(403, analyst=422, admin=422)),  # 422: allowed, but JSON is no file
    # material uploads (api/uploads.py): 422 for those who may upload (JSON is no file); an upload
    # part of the owner's application is read as that application is
    ("POST", "/api/uploads", statuses(403, **{role: 422 for role in ("owner", "other_applicant", "agent", "clerk",
                                                                   "other_clerk", "sanya_clerk")})),
    ("GET", "/api/uploads/{upload_id}", statuses(200, **NOT_THEIRS)),
    ("GET", "/api/uploads/{upload_id}/content", statuses(200, **NOT_THEIRS)),
    ("GET", "/api/applications/{application_ref}/uploads", statuses(200, **NOT_THEIRS)),
    *((method, "/api/events", statuses(405, anonymous=405)) for method in ("PUT", "PATCH", "DELETE")),
    *((method, "/api/events/1", statuses(404, anonymous=404)) for method in ("PUT", "PATCH", "DELETE")),
]
TABLE = [(method, path, role, status) for method, path, by_role in MATRIX for role, status in by_role.items()]


@pytest.fixture(scope="module")
def world(api, services) -> dict:
    """A user per role, and the owner's applications waiting on civil_affairs tasks (the
    death register does not answer: 在世 unknown): one task open, one claimed by the clerk,
    one to complete (each changes state once); two finished ones, one rated badly."""
    owner_id = make_resident_id("460106", date(date.today().year - 85, 4, 2), "778")
    with services.sessions() as session:
        session.merge(RegistryPerson(id_number=owner_id, name="钱七", household_local=True, household_region=HAIKOU))
        for name, role in ROLES.items():
            if role:
                role_name, department, region = role
                users.create_user(session, f"authz_{name}", DEMO_PASSWORD, role_name, department, region=region)
        users.create_user(session, "authz_colleague", DEMO_PASSWORD, "clerk", "civil_affairs", region=HAIKOU)  # 转办 to
        owner = session.scalars(select(User).where(User.username == "authz_owner")).one()
        identity.verify_account(session, owner, "钱七", owner_id, actor="tests")
        other = session.scalars(select(User).where(User.username == "authz_other_applicant")).one()
        other_id = make_resident_id("460106", date(1980, 4, 2), "779")
        session.merge(RegistryPerson(id_number=other_id, name="孙八", household_local=True, household_region=HAIKOU))
        identity.verify_account(session, other, "孙八", other_id, actor="tests")
        latest = current_definition(session, "rental_filing")
        redeploy = {"matter": "rental_filing", "bpmn": latest.bpmn, "ruleset": latest.ruleset,
                    "form": latest.form, "dmn": list(latest.dmn)}
        rental_version = latest.version
        session.commit()
    elderly = {"matter": "elderly_subsidy", "data": {"id_number": owner_id, "phone": "13800138000"}}
    undecided = with_silent_source(services, "death_records")
    applications = [undecided.post("/api/applications", "authz_owner", json=elderly).get_json()["id"]
                    for _ in range(6)]
    tasks = [task_of(api, "authz_clerk", a)["id"] for a in applications]
    upload = api.post("/api/uploads", "authz_owner", data={"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "户口簿.pdf")},
                      content_type="multipart/form-data").get_json()
    with_upload = undecided.post("/api/applications", "authz_owner", json={**elderly, "uploads": [upload["id"]]})
    assert with_upload.status_code == 202, with_upload.get_json()
    assert api.post(f"/api/tasks/{tasks[1]}/claim", "authz_clerk").status_code == 200
    finished = [api.post("/api/applications", "authz_owner", json=elderly).get_json() for _ in range(2)]
    assert api.post(f"/api/applications/{finished[1]['reference']}/rating", "authz_owner",
                    json={"level": 1}).status_code == 201
    rectification = next(r for r in api.get("/api/rectifications", "authz_clerk").get_json()
                         if r["rating"]["application_id"] == finished[1]["id"])
    cart = {"matters": ["elderly_subsidy"], "data": elderly["data"]}
    bundle = api.post("/api/cart/orders", "authz_owner", json=cart).get_json()
    references = {a["id"]: a["reference"] for a in api.get("/api/applications", "authz_owner").get_json()}
    paper = api.post("/api/authorisations/paper", "authz_agent", json={
        "principal_id_number": owner_id, "principal_name": "钱七", "document_ref": "海口邮政代办-2026-0099",
        "valid_to": (datetime.now(timezone.utc) + timedelta(days=365)).isoformat()})
    assert paper.status_code == 201, paper.get_json()
    authored = api.post("/api/templates/window/matters", "authz_analyst", json={**AUTHORED, "code": "authz_window"})
    assert authored.status_code == 201, authored.get_json()
    return {"ids": {"rental_version": rental_version, "authored": "authz_window", "application_id": applications[0], "application_ref": references[applications[0]],
                    "open_task": tasks[0], "claimed_task": tasks[1],
                    "task_to_complete": tasks[2], "pause_task": tasks[3], "delegate_task": tasks[4],
                    "finished_ref": finished[0]["reference"], "rectification": rectification["id"],
                    "bundle_ref": bundle["reference"], "upload_id": upload["id"]},
            "bodies": {"/api/applications": elderly,
                       "/api/definitions": redeploy,
                       "/api/definitions/rental_filing/replay": {"ruleset": redeploy["ruleset"]},
                       "/api/definitions/rental_filing/rollback": {"version": rental_version},
                       "/api/tasks/claim": {"task_ids": [tasks[5]]},
                       "/api/tasks/{pause_task}/pause": {"reason": "hearing"},
                       "/api/tasks/{delegate_task}/delegate": {"to": "authz_colleague"},
                       "/api/tasks/{open_task}/send-back": {"to": "Task_review", "reason": "退回核实"},
                       "/api/applications/{application_ref}/supplement": {
                           "materials": [{"name": "户口簿", "reference": "upload-1"}]},
                       "/api/applications/{finished_ref}/rating": {"level": 5},
                       "/api/bundles/business_startup/applications": {"data": startup_form(owner_id)},
                       "/api/cart/form": {"matters": ["elderly_subsidy"]},
                       "/api/cart/materials": {"matters": ["elderly_subsidy"], "answers": {}},
                       "/api/cart/orders": cart,
                       "/api/applications/{application_id}/personal-data": {"reason": "核对申请人身份：工单 2026-0312"},
                       "/api/rectifications/{rectification}/resolve": {"answer": "已回访"},
                       "/api/tasks/{task_to_complete}/complete": {"outcome": "approve", "comment": "核实"},
                       "/api/templates/window/matters": {**AUTHORED, "code": "rental_filing"},
                       "/api/matters/{authored}/guide": {},
                       "/api/catalogue/import": {"format": "json", "template": "window",
                                                 "content": json.dumps([CATALOGUE_ROW], ensure_ascii=False)}}}


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
    if role in MASKED and path not in FULL_BY_DESIGN and reply.is_json:
        assert unmasked(reply.get_json()) == [], (path, reply.get_json())


MASKED_VIEWS = [(method, path, role) for method, path, role, status in TABLE
                if method == "GET" and status == 200 and role in MASKED
                and path not in ("/api/openapi.json", "/api/docs")]  # their examples are no one's data


@pytest.mark.parametrize(("method", "path", "role"), MASKED_VIEWS, ids=[f"{m} {p} as {r}" for m, p, r in MASKED_VIEWS])
def test_staff_answers_hold_no_resident_id_or_phone_in_full(api, world, method, path, role):
    """Analysts, supervisors and admins read personal answers masked (engine/oversight/privacy.py)."""
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


def test_an_agent_sees_only_what_they_submitted(api, world):
    """授权代办: the outlet applies for the owner, but the owner's own applications stay theirs."""
    listed = [a["id"] for a in api.get("/api/applications", "authz_agent").get_json()]
    assert world["ids"]["application_id"] not in listed


def test_a_clerk_never_sees_another_regions_tasks(api, world):
    sanya = [t["id"] for t in api.get("/api/tasks?status=active", "authz_sanya_clerk").get_json()]
    assert world["ids"]["open_task"] not in sanya
