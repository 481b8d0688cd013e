"""综合窗口受理 through the API: the front desk accepts, asks for every missing material at
once (clock paused), the back office reviews and approves, the window delivers; clerks
send cases back (退回); the shared window process serves any matter's department."""
from __future__ import annotations

from dataclasses import replace

import pytest

from engine.definitions.catalogue import read_catalogue, upload_for, upsert_matter
from engine.definitions.versions import deploy
from engine.store.models import Application

MATERIALS = ["临时占用城市道路申请书", "申请人身份证明", "占道位置平面示意图", "交通安全保障方案"]


@pytest.fixture
def staff(new_user) -> dict[str, str]:
    return {"window": new_user("clerk", "front_desk"), "reviewer": new_user("clerk", "housing"),
            "approver": new_user("clerk", "housing"), "supervisor": new_user("supervisor")}


def submit(client, applicant: str, matter: str = "road_occupation", **overrides) -> dict:
    """The applicant applies for themselves (their verified identity's resident ID; the name
    is filled from the population registry)."""
    own_id = client.get("/api/me/identity", applicant).get_json()["resident_id"]
    data = {"id_number": own_id, "phone": "13800138000",
            "location": "龙华区滨海大道100号北侧人行道", "purpose": "施工材料临时堆放",
            "start_date": "2026-10-12", "end_date": "2026-11-10", "area_m2": 40,
            "materials_provided": MATERIALS[:3], "delivery_method": "mail",
            "mail_address": "海口市龙华区滨海大道100号", **overrides}
    reply = client.post("/api/applications", applicant, json={"matter": matter, "data": data})
    assert reply.status_code == 202, reply.get_json()
    return reply.get_json()


def workflow_data(services, application_id: int) -> dict:
    """The data of the application's stored workflow, as the engine loads it."""
    with services.sessions() as session:
        workflow, _ = services.runner.load(session.get(Application, application_id))
        return workflow.last_task.data


def open_task(client, clerk: str, application_id: int) -> dict:
    return next(t for t in client.get("/api/tasks", clerk).get_json() if t["application_id"] == application_id)


def complete(client, clerk: str, task_id: int, **answer) -> dict:
    assert client.post(f"/api/tasks/{task_id}/claim", clerk).status_code == 200
    reply = client.post(f"/api/tasks/{task_id}/complete", clerk, json=answer)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def current_steps(client, applicant: str, reference: str) -> list[str]:
    detail = client.get(f"/api/applications/{reference}", applicant).get_json()
    return [s["title"] for s in detail["steps"] if s["status"] in ("open", "claimed")]


def test_a_full_window_run_with_a_supplement_request_and_delivery_by_mail(clocked, new_user, staff):
    client, clock, _ = clocked
    applicant = new_user()
    application = submit(client, applicant)
    assert application["status"] == "waiting"
    assert current_steps(client, applicant, application["reference"]) == ["综合窗口受理"]
    # 5 working days from Mon 28 Sep: 29, 30, [1–7 Oct holiday], 8, 9, Sat 10 Oct (make-up day)
    assert application["due_at"] == "2026-10-10T16:00:00+00:00"

    intake = open_task(client, staff["window"], application["id"])
    detail = client.get(f"/api/tasks/{intake['id']}", staff["window"]).get_json()
    assert detail["form"]["id"] == "intake"  # the form-js schema the clerk page renders
    outcome = next(c for c in detail["form"]["components"] if c.get("key") == "outcome")
    assert [choice["value"] for choice in outcome["values"]] == ["accept", "refuse", "supplement"]
    assert application["id"] not in [t["application_id"] for t in client.get("/api/tasks", staff["reviewer"]).get_json()]

    # 一次性告知: every missing material at once; names must be the matter's materials
    clock.set(2026, 9, 29, 9, 0)
    client.post(f"/api/tasks/{intake['id']}/claim", staff["window"])
    wrong = client.post(f"/api/tasks/{intake['id']}/complete", staff["window"],
                        json={"outcome": "supplement", "missing_materials": ["营业执照"]})
    assert wrong.status_code == 422 and "missing_materials" in wrong.get_json()["errors"]
    empty = client.post(f"/api/tasks/{intake['id']}/complete", staff["window"], json={"outcome": "supplement"})
    assert empty.status_code == 422 and "missing_materials" in empty.get_json()["errors"]
    paused = client.post(f"/api/tasks/{intake['id']}/complete", staff["window"], json={
        "outcome": "supplement", "missing_materials": ["交通安全保障方案"], "comment": "请补交交通安全保障方案"}).get_json()
    assert paused["due_at"] is None and paused["clock_pauses"][0]["reason"] == "supplement"
    assert current_steps(client, applicant, application["reference"]) == ["申请人补正材料"]
    # the applicant's step is not in any clerk's queue
    assert application["id"] not in [t["application_id"] for t in client.get("/api/tasks", staff["window"]).get_json()]

    # the applicant hands in the material 5 working days later (30 Sep, 8, 9, 10, 12 Oct)
    clock.set(2026, 10, 12, 9, 0)
    short = client.post(f"/api/applications/{application['reference']}/supplement", applicant,
                        json={"materials": [{"name": "占道位置平面示意图", "reference": "upload-1"}]})
    assert short.status_code == 422 and "交通安全保障方案" in str(short.get_json()["errors"])
    unnamed = client.post(f"/api/applications/{application['reference']}/supplement", applicant,
                          json={"materials": [{"name": "交通安全保障方案"}]})
    assert unnamed.status_code == 422
    assert unnamed.get_json()["errors"] == {"materials.0.reference": ["必填 required"]}
    resumed = client.post(f"/api/applications/{application['reference']}/supplement", applicant, json={
        "materials": [{"name": "交通安全保障方案", "reference": "upload-2"}], "note": "已补交"})
    assert resumed.status_code == 200, resumed.get_json()
    assert resumed.get_json()["due_at"] == "2026-10-16T16:00:00+00:00"  # 10 Oct + 5 working days
    again = client.post(f"/api/applications/{application['reference']}/supplement", applicant,
                        json={"materials": [{"name": "交通安全保障方案", "reference": "upload-2"}]})
    assert again.status_code == 409
    trail = client.get(f"/api/events?application_id={application['id']}&kind=clock.resumed", staff["supervisor"]).get_json()
    assert trail[0]["data"]["paused_working_days"] == 5

    # intake looks again and accepts; the department reviews (with the rules' pre-check) and approves
    second_intake = open_task(client, staff["window"], application["id"])
    assert second_intake["id"] != intake["id"] and second_intake["due_at"] == "2026-10-16T16:00:00+00:00"
    complete(client, staff["window"], second_intake["id"], outcome="accept")
    assert current_steps(client, applicant, application["reference"]) == ["部门审核"]
    review = open_task(client, staff["reviewer"], application["id"])
    reviewed = complete(client, staff["reviewer"], review["id"], outcome="approve", comment="材料齐全")
    assert reviewed["decision"]["outcome"] == "approve"  # the pre-check the clerks saw
    approval = open_task(client, staff["approver"], application["id"])
    assert approval["title"] == "部门审批"
    complete(client, staff["approver"], approval["id"], outcome="approve", comment="准予临时占用")
    assert current_steps(client, applicant, application["reference"]) == ["出件"]

    # 出件 by mail: the tracking number is required and reaches the applicant
    delivery = open_task(client, staff["window"], application["id"])
    client.post(f"/api/tasks/{delivery['id']}/claim", staff["window"])
    no_tracking = client.post(f"/api/tasks/{delivery['id']}/complete", staff["window"], json={"method": "mail"})
    assert no_tracking.status_code == 422
    assert set(no_tracking.get_json()["errors"]) == {"courier", "tracking_no", "address"}
    done = client.post(f"/api/tasks/{delivery['id']}/complete", staff["window"], json={
        "method": "mail", "courier": "EMS", "tracking_no": "EA123456789CN", "address": "海口市龙华区滨海大道100号"})
    assert done.status_code == 200, done.get_json()

    final = client.get(f"/api/applications/{application['reference']}", applicant).get_json()
    assert (final["status"], final["outcome"]) == ("completed", "approve")
    assert final["result"]["delivery"]["tracking_no"] == "EA123456789CN"
    assert [s["title"] for s in final["steps"]] == ["综合窗口受理", "申请人补正材料", "综合窗口受理", "部门审核",
                                                      "部门审批", "出件"]
    assert all(s["status"] == "completed" for s in final["steps"])
    # both back-office steps fill the review form; each answer stays in the workflow's data
    # under its own step (only the approval's survived as `review`)
    answers = workflow_data(clocked.services, application["id"])["answers"]
    assert (answers["Task_review"]["comment"], answers["Task_approve"]["comment"]) == ("材料齐全", "准予临时占用")
    assert set(answers) == {"Task_intake", "Task_supplement", "Task_review", "Task_approve", "Task_deliver"}
    kinds = [e["kind"] for e in final["history"]]
    assert kinds.index("clock.paused") < kinds.index("clock.resumed") < kinds.index("application.decided")


def test_refusal_at_intake_states_the_reason(clocked, new_user, staff):
    client, _, _ = clocked
    applicant = new_user()
    application = submit(client, applicant)
    intake = open_task(client, staff["window"], application["id"])
    client.post(f"/api/tasks/{intake['id']}/claim", staff["window"])
    no_reason = client.post(f"/api/tasks/{intake['id']}/complete", staff["window"], json={"outcome": "refuse"})
    assert no_reason.status_code == 422 and "comment" in no_reason.get_json()["errors"]
    complete(client, staff["window"], intake["id"], outcome="refuse", comment="不属于本机关职权范围")
    final = client.get(f"/api/applications/{application['reference']}", applicant).get_json()
    assert (final["status"], final["outcome"]) == ("completed", "reject")
    assert final["result"] == {"stage": "intake", "reason": "不属于本机关职权范围"}


def test_send_back_returns_the_case_to_the_earlier_step_whose_task_reappears(clocked, new_user, staff):
    client, _, _ = clocked
    applicant = new_user()
    application = submit(client, applicant)
    complete(client, staff["window"], open_task(client, staff["window"], application["id"])["id"], outcome="accept")
    review = open_task(client, staff["reviewer"], application["id"])
    complete(client, staff["reviewer"], review["id"], outcome="approve")
    approval = open_task(client, staff["approver"], application["id"])

    detail = client.get(f"/api/tasks/{approval['id']}", staff["approver"]).get_json()
    assert [t["element"] for t in detail["send_back_to"]] == ["Task_review", "Task_intake"]
    bad = client.post(f"/api/tasks/{approval['id']}/send-back", staff["approver"],
                      json={"to": "Task_deliver", "reason": "x"})
    assert bad.status_code == 422
    sent = client.post(f"/api/tasks/{approval['id']}/send-back", staff["approver"],
                       json={"to": "Task_review", "reason": "请核实交通安全保障方案"})
    assert sent.status_code == 200, sent.get_json()

    queue = client.get("/api/tasks", staff["reviewer"]).get_json()
    again = next(t for t in queue if t["application_id"] == application["id"])
    assert (again["element_id"], again["status"]) == ("Task_review", "open") and again["id"] != review["id"]
    assert approval["id"] not in [t["id"] for t in queue]
    assert client.post(f"/api/tasks/{approval['id']}/complete", staff["approver"],
                       json={"outcome": "approve"}).status_code == 409
    steps = client.get(f"/api/applications/{application['reference']}", applicant).get_json()["steps"]
    assert [(s["title"], s["status"]) for s in steps][-2:] == [("部门审批", "cancelled"), ("部门审核", "open")]
    trail = client.get(f"/api/events?application_id={application['id']}&kind=task.sent_back",
                       staff["supervisor"]).get_json()
    assert trail[0]["data"] == {"task": approval["id"], "from": "Task_approve", "to": "Task_review",
                                "reason": "请核实交通安全保障方案"}
    # the workflow really is back there: reviewing again leads to approval again
    complete(client, staff["reviewer"], again["id"], outcome="approve")
    assert open_task(client, staff["approver"], application["id"])["element_id"] == "Task_approve"


def test_a_clerk_of_another_department_gets_404_for_the_task(clocked, new_user, staff):
    client, _, _ = clocked
    application = submit(client, new_user())
    intake = open_task(client, staff["window"], application["id"])
    outsider = new_user("clerk", "civil_affairs")
    for path in ("", "/claim"):
        call = client.get if not path else client.post
        assert call(f"/api/tasks/{intake['id']}{path}", outsider).status_code == 404
    assert client.post(f"/api/tasks/{intake['id']}/send-back", outsider,
                       json={"to": "Task_intake", "reason": "x"}).status_code == 404


def test_the_window_process_serves_any_matter_of_any_department(services, api, new_user):
    """The same BPMN under another catalogue entry sends its back-office steps to that
    entry's department (the lane `department`)."""
    entry = dict(next(e for e in read_catalogue() if e["code"] == "road_occupation"))
    entry["code"], entry["department"], entry["name"] = "road_occupation_civil", "civil_affairs", "测试：民政窗口事项"
    upload = upload_for(entry)
    upload = replace(upload, ruleset=upload.ruleset.replace("matter: road_occupation", "matter: road_occupation_civil"))
    with services.sessions() as session:
        upsert_matter(session, entry)
        deploy(session, upload, "tests", set(services.sources))
        session.commit()
    applicant, window, civil = new_user(), new_user("clerk", "front_desk"), new_user("clerk", "civil_affairs")
    application = submit(api, applicant, matter="road_occupation_civil")
    complete(api, window, open_task(api, window, application["id"])["id"], outcome="accept")
    assert open_task(api, civil, application["id"])["title"] == "部门审核"


def test_a_step_reached_while_the_clock_is_paused_still_gets_a_due_date(clocked, new_user, staff):
    """A clerk stops the clock for an inspection (特别程序) and accepts: the next step is
    created while paused and shows the deadline as if the pause ended then."""
    client, clock, _ = clocked
    application = submit(client, new_user())
    intake = open_task(client, staff["window"], application["id"])
    client.post(f"/api/tasks/{intake['id']}/claim", staff["window"])
    assert client.post(f"/api/tasks/{intake['id']}/pause", staff["window"],
                       json={"reason": "inspection", "note": "现场勘验占道位置"}).status_code == 200
    clock.set(2026, 9, 30, 9, 0)
    complete(client, staff["window"], intake["id"], outcome="accept")
    review = open_task(client, staff["reviewer"], application["id"])
    # paused Mon 28 Sep to Wed 30 Sep adds 29 and 30 Sep: 10 Oct + 2 working days = Tue 13 Oct
    assert review["due_at"] == "2026-10-13T16:00:00+00:00"
