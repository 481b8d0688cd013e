"""What the clerk's workbench reads through the API: task list items with the matter's,
applicant's and department's names and the deadline colour, pages of the queue, the form's
prefilled data (出件: the applicant's address), the process diagram of a task, and the
受理凭证 (acceptance receipt) PDF — for the accepting department's clerks only."""
from __future__ import annotations

import re

from sqlalchemy import update

from engine.store.models import Application, Task
from engine.store.registries import RegistryPerson
from tests.integration.test_comprehensive_window import (
    MATERIALS,
    complete,
    open_task,
    submit,
)

ADDRESS = "海口市龙华区滨海大道100号"


def accept_at_the_window(api, new_user) -> tuple[dict, dict, str, str]:
    """A road-occupation application accepted by a fresh front-desk clerk: (application, the
    intake task, the window clerk, the applicant)."""
    applicant, window = new_user(), new_user("clerk", "front_desk")
    application = submit(api, applicant, mail_address=ADDRESS)
    intake = open_task(api, window, application["id"])
    complete(api, window, intake["id"], outcome="accept")
    return application, intake, window, applicant


def test_task_list_items_name_the_matter_the_applicant_and_the_department(api, services, new_user):
    applicant, window = new_user(), new_user("clerk", "front_desk")
    application = submit(api, applicant)
    item = open_task(api, window, application["id"])
    own_id = api.get("/api/me/identity", applicant).get_json()["resident_id"]
    with services.sessions() as session:
        registry_name = session.get(RegistryPerson, own_id).name
    assert (item["matter_name"], item["applicant_name"], item["department_name"]) == (
        "临时占用城市道路许可", registry_name, "综合受理窗口")
    assert item["colour"] == "green" and item["form_name"] == "intake"
    # the queue's applicant filter finds it by the account or by the name the row shows
    for name in (applicant, registry_name):
        found = api.get("/api/tasks", window, query_string={"applicant": name}).get_json()
        assert application["id"] in [t["application_id"] for t in found], name


def test_the_queue_is_paged_and_an_overdue_case_is_red(api, services, new_user):
    window = new_user("clerk", "front_desk")
    submitted = [submit(api, new_user())["id"] for _ in range(3)]
    ours = [t for t in api.get("/api/tasks?limit=500", window).get_json() if t["application_id"] in submitted]
    assert len(ours) == 3
    first = api.get("/api/tasks?limit=2&sort=-created_at", window).get_json()
    second = api.get("/api/tasks?limit=2&offset=2&sort=-created_at", window).get_json()
    assert len(first) == 2 and not {t["id"] for t in first} & {t["id"] for t in second}
    assert api.get("/api/tasks?offset=-1", window).status_code == 422

    with services.sessions() as session:  # one of them two days past its promised limit
        session.execute(update(Application).where(Application.id == submitted[0]).values(
            due_at=Application.created_at, yellow_at=Application.created_at))
        session.execute(update(Task).where(Task.application_id == submitted[0]).values(due_at=Task.created_at))
        session.commit()
    colours = {t["application_id"]: t["colour"] for t in api.get("/api/tasks?limit=500", window).get_json()}
    assert colours[submitted[0]] == "red" and colours[submitted[1]] == "green"


def test_the_delivery_form_opens_with_the_applicants_address(api, new_user):
    applicant, window = new_user(), new_user("clerk", "front_desk")
    reviewer, approver = new_user("clerk", "housing"), new_user("clerk", "housing")
    application = submit(api, applicant, mail_address=ADDRESS, delivery_method="mail")
    intake = open_task(api, window, application["id"])
    intake_detail = api.get(f"/api/tasks/{intake['id']}", window).get_json()
    assert [m["value"] for m in intake_detail["prefill"]["matter_materials"]] == MATERIALS
    complete(api, window, intake["id"], outcome="accept")
    complete(api, reviewer, open_task(api, reviewer, application["id"])["id"], outcome="approve")
    complete(api, approver, open_task(api, approver, application["id"])["id"], outcome="approve")

    delivery = api.get(f"/api/tasks/{open_task(api, window, application['id'])['id']}", window).get_json()
    assert delivery["form"]["id"] == "delivery" and delivery["form_name"] == "delivery"
    assert delivery["prefill"] == {"address": ADDRESS, "method": "mail"}


def test_the_diagram_of_a_case_marks_where_it_is_for_its_clerks(api, new_user):
    application, intake, _, _ = accept_at_the_window(api, new_user)
    reviewer = new_user("clerk", "housing")
    diagram = api.get(f"/api/applications/{application['id']}/diagram", reviewer).get_json()
    assert diagram["matter"] == "road_occupation" and "bpmndi:BPMNDiagram" in diagram["bpmn"]
    assert diagram["current"] == ["Task_review"] and "Task_intake" in diagram["done"]
    lanes = re.findall(r'<bpmn:lane id="[^"]+" name="([^"]+)"', diagram["bpmn"])  # named for people, not by code
    assert "综合受理窗口" in lanes and "住房和城乡建设局" in lanes and "front_desk" not in lanes, lanes
    assert api.get(f"/api/applications/{application['id']}/diagram", new_user("clerk", "tax")).status_code == 404


def test_the_acceptance_receipt_is_a_pdf_for_the_accepting_departments_clerks_only(api, new_user):
    application, intake, window, applicant = accept_at_the_window(api, new_user)
    colleague = new_user("clerk", "front_desk")
    for clerk in (window, colleague):
        reply = api.get(f"/api/tasks/{intake['id']}/receipt", clerk)
        assert reply.status_code == 200 and reply.content_type == "application/pdf"
        assert reply.data.startswith(b"%PDF-") and f"({application['tracking_no']}) Tj".encode() in reply.data
    own_id = api.get("/api/me/identity", applicant).get_json()["resident_id"]
    assert own_id.encode() not in reply.data  # the ID is printed masked

    assert api.get(f"/api/tasks/{intake['id']}/receipt", new_user("clerk", "housing")).status_code == 404
    assert api.get(f"/api/tasks/{intake['id']}/receipt", applicant).status_code == 403
    assert api.get(f"/api/tasks/{intake['id']}/receipt", new_user("supervisor")).status_code == 403
    assert api.get(f"/api/tasks/{intake['id']}/receipt").status_code == 401
    assert api.get("/api/tasks/2147483647/receipt", window).status_code == 404

    waiting = open_task(api, window, submit(api, new_user())["id"])  # not accepted yet
    assert api.get(f"/api/tasks/{waiting['id']}/receipt", window).status_code == 409
