"""Clerk tasks: claiming, releasing, departments, and two clerks racing for one task."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engine.store.models import Event
from tests.integration.helpers import with_silent_source


@pytest.fixture
def manual_case(services, resident, applicant_for):
    """An elderly-subsidy application the rules cannot verify (the death register does not
    answer: 在世 is unknown): it waits for a clerk. Makes (id, applicant): a fresh
    85-year-old applying for themselves."""
    client = with_silent_source(services, "death_records")

    def make() -> tuple[int, str]:
        id_number = resident(85)
        applicant = applicant_for(id_number)
        body = client.post("/api/applications", applicant, json={"matter": "elderly_subsidy", "data": {
            "id_number": id_number, "phone": "13700137000"}}).get_json()
        assert body["status"] == "waiting", body
        return body["id"], applicant
    return make


def task_of(api, clerk: str, application_id: int) -> dict:
    return next(t for t in api.get("/api/tasks", clerk).get_json() if t["application_id"] == application_id)


def test_two_clerks_completing_the_same_task_at_once_one_wins(api, services, new_user, manual_case):
    application_id, applicant = manual_case()
    clerks = [new_user("clerk", "civil_affairs") for _ in range(2)]
    task_id = task_of(api, clerks[0], application_id)["id"]
    for clerk in clerks:
        api.headers(clerk)  # sign in before the race
    barrier, statuses = threading.Barrier(2), []

    def complete(clerk: str, outcome: str) -> None:
        barrier.wait()
        reply = api.post(f"/api/tasks/{task_id}/complete", clerk, json={"outcome": outcome, "comment": "核实"})
        statuses.append(reply.status_code)

    threads = [threading.Thread(target=complete, args=(c, o)) for c, o in zip(clerks, ("approve", "reject"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409]
    with services.sessions() as session:
        decided = session.scalar(select(func.count()).select_from(Event).where(
            Event.application_id == application_id, Event.kind == "application.decided"))
        completed = session.scalar(select(func.count()).select_from(Event).where(
            Event.application_id == application_id, Event.kind == "task.completed"))
    assert (decided, completed) == (1, 1)
    final = api.get(f"/api/applications/{application_id}", clerks[0]).get_json()
    assert final["status"] == "completed"


def test_claim_release_and_claimed_by_someone_else(api, new_user, manual_case):
    application_id, _ = manual_case()
    first, second = new_user("clerk", "civil_affairs"), new_user("clerk", "civil_affairs")
    task_id = task_of(api, first, application_id)["id"]
    assert api.post(f"/api/tasks/{task_id}/claim", first).get_json()["status"] == "claimed"
    assert api.post(f"/api/tasks/{task_id}/claim", second).status_code == 409
    assert api.post(f"/api/tasks/{task_id}/complete", second, json={"outcome": "approve"}).status_code == 409
    assert api.post(f"/api/tasks/{task_id}/release", second).status_code == 409
    assert api.post(f"/api/tasks/{task_id}/release", first).get_json()["status"] == "open"
    assert api.post(f"/api/tasks/{task_id}/claim", second).status_code == 200


def test_a_clerk_of_another_department_cannot_see_or_touch_the_task(api, new_user, manual_case):
    application_id, _ = manual_case()
    task_id = task_of(api, new_user("clerk", "civil_affairs"), application_id)["id"]
    housing = new_user("clerk", "housing")
    for action in ("claim", "release"):
        assert api.post(f"/api/tasks/{task_id}/{action}", housing).status_code == 404
    assert api.post(f"/api/tasks/{task_id}/complete", housing, json={"outcome": "approve"}).status_code == 404
    assert api.get(f"/api/applications/{application_id}", housing).status_code == 404


def test_a_rejection_needs_a_reason(api, new_user, manual_case):
    application_id, _ = manual_case()
    clerk = new_user("clerk", "civil_affairs")
    task_id = task_of(api, clerk, application_id)["id"]
    reply = api.post(f"/api/tasks/{task_id}/complete", clerk, json={"outcome": "reject"})
    assert reply.status_code == 422
    assert "comment" in reply.get_json()["errors"]
