"""电子监察 through the API: colours drift with the (test) clock, pauses move the deadline."""
from __future__ import annotations

import pytest

from tests.integration.helpers import with_silent_source


@pytest.fixture
def manual_case(clocked, new_user, resident, applicant_for):
    """A 高龄补贴 application waiting for a civil-affairs clerk (the death register does not
    answer, so 在世 is unknown), submitted at the test clock's time by a fresh 85-year-old.
    Makes (application id, task id, clerk)."""
    silent = with_silent_source(clocked.services, "death_records")

    def make() -> tuple[int, int, str]:
        id_number, clerk = resident(85), new_user("clerk", "civil_affairs")
        body = silent.post("/api/applications", applicant_for(id_number), json={"matter": "elderly_subsidy", "data": {
            "id_number": id_number, "phone": "13800138000"}}).get_json()
        queue = clocked.client.get("/api/tasks", clerk).get_json()
        task = next(t for t in queue if t["application_id"] == body["id"])
        return body["id"], task["id"], clerk
    return make


def alerts(client, supervisor: str, application_id: int) -> list[tuple[str, str]]:
    trail = client.get(f"/api/events?application_id={application_id}&kind=supervision.alert", supervisor).get_json()
    return [(e["data"]["from"], e["data"]["to"]) for e in reversed(trail)]


def test_a_case_turns_yellow_then_red_across_national_day(clocked, new_user, manual_case):
    client, clock, _ = clocked
    supervisor = new_user("supervisor")
    application_id, _, _ = manual_case()
    application = client.get(f"/api/applications/{application_id}", supervisor).get_json()
    # 5 working days from Mon 28 Sep: 29, 30, [1-7 Oct holiday], 8, 9, Sat 10 Oct (make-up day)
    assert application["due_at"] == "2026-10-10T16:00:00+00:00"  # the end of 10 Oct in Beijing
    assert application["colour"] == "green"

    clock.set(2026, 10, 8, 12, 0)
    clocked.services.supervision.sweep()
    assert alerts(client, supervisor, application_id) == []
    clock.set(2026, 10, 9, 9, 0)  # 4 of 5 working days used: 80%
    clocked.services.supervision.sweep()
    assert alerts(client, supervisor, application_id) == [("green", "yellow")]
    assert application_id in [c["application_id"] for c in client.get("/api/supervision/near-due", supervisor).get_json()]
    clock.set(2026, 10, 11, 0, 30)
    clocked.services.supervision.sweep()
    clocked.services.supervision.sweep()  # a second sweep changes nothing
    assert alerts(client, supervisor, application_id) == [("green", "yellow"), ("yellow", "red")]
    overdue = client.get("/api/supervision/overdue?department=civil_affairs", supervisor).get_json()
    assert application_id in [c["application_id"] for c in overdue]
    assert client.get("/api/supervision/counts", supervisor).get_json()["departments"]["civil_affairs"]["red"] >= 1


def test_a_special_procedure_pauses_the_clock_and_adds_its_working_days(clocked, new_user, manual_case):
    client, clock, _ = clocked
    supervisor = new_user("supervisor")
    application_id, task_id, clerk = manual_case()
    clock.set(2026, 9, 29, 9, 0)
    paused = client.post(f"/api/tasks/{task_id}/pause", clerk, json={"reason": "inspection", "note": "现场核实户籍"})
    assert paused.status_code == 200, paused.get_json()
    assert paused.get_json()["due_at"] is None
    assert client.post(f"/api/tasks/{task_id}/pause", clerk, json={"reason": "hearing"}).status_code == 409
    clock.set(2026, 10, 12, 9, 0)  # far past the original deadline, but the clock was stopped
    clocked.services.supervision.sweep()
    assert alerts(client, supervisor, application_id) == []
    resumed = client.post(f"/api/tasks/{task_id}/resume", clerk).get_json()
    # paused from Tue 29 Sep to Mon 12 Oct: 30 Sep, 8, 9, 10 (Sat make-up) and 12 Oct = 5 working days
    trail = client.get(f"/api/events?application_id={application_id}&kind=clock.resumed", supervisor).get_json()
    assert trail[0]["data"]["paused_working_days"] == 5
    assert resumed["due_at"] == "2026-10-16T16:00:00+00:00"  # 10 Oct + 5 working days: 12-16 Oct
    assert resumed["clock_pauses"][0]["reason"] == "inspection" and resumed["clock_pauses"][0]["end"]
    task = next(t for t in client.get("/api/tasks", clerk).get_json() if t["id"] == task_id)
    assert task["due_at"] == resumed["due_at"]
    assert client.post(f"/api/tasks/{task_id}/resume", clerk).status_code == 409


def test_only_clerks_of_the_department_pause_and_only_supervisors_supervise(clocked, new_user, manual_case):
    client, _, _ = clocked
    _, task_id, _ = manual_case()
    assert client.post(f"/api/tasks/{task_id}/pause", new_user("clerk", "housing"),
                       json={"reason": "hearing"}).status_code == 404
    assert client.post(f"/api/tasks/{task_id}/pause", new_user("clerk", "civil_affairs"),
                       json={"reason": "lunch"}).status_code == 422
    for path in ("/api/supervision/overdue", "/api/supervision/near-due", "/api/supervision/counts",
                 "/api/supervision/handling"):
        assert client.get(path, new_user("clerk", "civil_affairs")).status_code == 403
        assert client.get(path, new_user("supervisor")).status_code == 200
