"""The clerk's queue: filters, order, bulk claim and delegation (转办)."""
from __future__ import annotations

import pytest

from tests.integration.helpers import authorise, with_silent_source
from tests.integration.test_rental_filing import rental


@pytest.fixture
def waiting_elderly(services):
    """Submit a 高龄补贴 application for ``id_number`` that waits for a civil-affairs clerk
    (the death register does not answer: 在世 is unknown)."""
    client = with_silent_source(services, "death_records")

    def submit(applicant: str, id_number: str) -> int:
        body = client.post("/api/applications", applicant, json={"matter": "elderly_subsidy", "data": {
            "id_number": id_number, "phone": "13800138000"}}).get_json()
        assert body["status"] == "waiting", body
        return body["id"]
    return submit


@pytest.fixture
def agent_of(api, new_user, resident, applicant_for):
    """A verified person whom ``n`` fresh 85-year-olds authorised online for 高龄补贴
    (授权代办): (agent, the principals' resident IDs)."""
    def make(n: int) -> tuple[str, list[str]]:
        agent, principals = new_user(), [resident(85) for _ in range(n)]
        for id_number in principals:
            authorise(api, applicant_for(id_number), agent, ["elderly_subsidy"])
        return agent, principals
    return make


def test_filters_and_order(api, people, new_user, applicant_for, agent_of, waiting_elderly):
    applicant, principals = agent_of(3)
    clerk = new_user("clerk", "civil_affairs")
    ids = {waiting_elderly(applicant, id_number) for id_number in principals}
    mine = api.get(f"/api/tasks?applicant={applicant}&matter=elderly_subsidy", clerk).get_json()
    assert {t["application_id"] for t in mine} == ids
    assert api.get(f"/api/tasks?applicant={applicant}&matter=rental_filing", clerk).get_json() == []
    newest_first = api.get(f"/api/tasks?applicant={applicant}&sort=-created_at", clerk).get_json()
    assert [t["id"] for t in newest_first] == sorted((t["id"] for t in mine), reverse=True)
    assert api.get(f"/api/tasks?applicant={applicant}&due_before=2000-01-01T00:00:00Z", clerk).get_json() == []
    assert api.get("/api/tasks?sort=applicant", clerk).status_code == 422
    housing = new_user("clerk", "housing")
    not_the_owner = rental(people, people["tenant"])  # the tenant as landlord: a clerk checks it
    filed = api.post("/api/applications", applicant_for(people["tenant"]),
                     json={"matter": "rental_filing", "data": not_the_owner})
    assert filed.status_code == 202, filed.get_json()
    assert all(t["department"] == "housing" for t in api.get("/api/tasks?matter=rental_filing", housing).get_json())


def test_bulk_claim_takes_what_is_free_and_reports_the_rest(api, new_user, agent_of, waiting_elderly):
    applicant, principals = agent_of(3)
    first, second = new_user("clerk", "civil_affairs"), new_user("clerk", "civil_affairs")
    for id_number in principals:
        waiting_elderly(applicant, id_number)
    task_ids = [t["id"] for t in api.get(f"/api/tasks?applicant={applicant}", first).get_json()]
    assert api.post(f"/api/tasks/{task_ids[0]}/claim", second).status_code == 200
    result = api.post("/api/tasks/claim", first, json={"task_ids": [*task_ids, 2**31 - 1]}).get_json()
    assert result == {"claimed": task_ids[1:], "refused": [task_ids[0], 2**31 - 1]}
    assert {t["id"] for t in api.get("/api/tasks?mine=true&status=claimed", first).get_json()} >= set(task_ids[1:])


def test_delegate_to_a_colleague_of_the_same_department(api, new_user, resident, applicant_for, waiting_elderly):
    id_number = resident(85)
    applicant = applicant_for(id_number)
    holder, colleague, outsider = (new_user("clerk", "civil_affairs"), new_user("clerk", "civil_affairs"),
                                   new_user("clerk", "housing"))
    application_id = waiting_elderly(applicant, id_number)
    task_id = next(t["id"] for t in api.get(f"/api/tasks?applicant={applicant}", holder).get_json())
    api.post(f"/api/tasks/{task_id}/claim", holder)
    assert api.post(f"/api/tasks/{task_id}/delegate", holder, json={"to": outsider}).status_code == 422
    assert api.post(f"/api/tasks/{task_id}/delegate", colleague, json={"to": colleague}).status_code == 409
    delegated = api.post(f"/api/tasks/{task_id}/delegate", holder, json={"to": colleague})
    assert delegated.status_code == 200 and delegated.get_json()["status"] == "claimed"
    assert api.post(f"/api/tasks/{task_id}/complete", holder, json={"outcome": "approve"}).status_code == 409
    done = api.post(f"/api/tasks/{task_id}/complete", colleague, json={"outcome": "approve", "amount": 100})
    assert done.status_code == 200 and done.get_json()["id"] == application_id


def test_a_clerk_cannot_delegate_to_themself_and_is_told_in_chinese(api, new_user, resident, applicant_for,
                                                                       waiting_elderly):
    id_number = resident(86)
    applicant = applicant_for(id_number)
    holder = new_user("clerk", "civil_affairs")
    waiting_elderly(applicant, id_number)
    task_id = next(t["id"] for t in api.get(f"/api/tasks?applicant={applicant}", holder).get_json())
    api.post(f"/api/tasks/{task_id}/claim", holder)
    to_self = api.post(f"/api/tasks/{task_id}/delegate", holder, json={"to": holder})
    assert to_self.status_code == 422 and to_self.get_json()["errors"] == {"to": ["不能转办给自己"]}
    nobody = api.post(f"/api/tasks/{task_id}/delegate", holder, json={"to": "nobody_at_all"})
    assert nobody.get_json()["errors"] == {"to": ["本部门（民政局）没有账号为“nobody_at_all”的工作人员"]}
