"""What a clerk may grant at review: the rule set's bands, exact amounts, and 四眼 above the
matter's threshold (engine/policy/grants.py). Before: 100,000 CNY/month was accepted on a matter
whose bands are 100/200/500, and 1.5 was silently stored as 1."""
from __future__ import annotations

import pytest

from tests.integration.helpers import with_silent_source


@pytest.fixture
def review_task(api, services, new_user, resident, applicant_for):
    """A 高龄补贴 application the rules could not decide (the death register did not
    answer): the civil affairs clerk reviews it. Makes (application id, task id, clerk)."""
    client = with_silent_source(services, "death_records")

    def make() -> tuple[int, int, str]:
        id_number, clerk = resident(85), new_user("clerk", "civil_affairs")
        body = client.post("/api/applications", applicant_for(id_number), json={"matter": "elderly_subsidy", "data": {
            "id_number": id_number, "phone": "13800138000"}}).get_json()
        task = next(t for t in api.get("/api/tasks", clerk).get_json() if t["application_id"] == body["id"])
        return body["id"], task["id"], clerk
    return make


@pytest.mark.parametrize("amount, says", [(100000, "100、200、500"), (150, "100、200、500"), (1.5, "100、200、500"),
                                          (100.001, "最多保留2位小数"), (-100, "不能小于0"), ("abc", "请输入数字"),
                                          (True, "请输入数字"), ("1e400", "请输入数字")])
def test_an_amount_outside_the_bands_or_inexact_is_refused_naming_what_is_allowed(api, review_task, amount, says):
    application_id, task_id, clerk = review_task()
    reply = api.post(f"/api/tasks/{task_id}/complete", clerk, json={"outcome": "approve", "amount": amount})
    assert reply.status_code == 422, reply.get_json()
    assert says in reply.get_json()["errors"]["amount"][0]
    assert api.get(f"/api/tasks/{task_id}", clerk).get_json()["status"] == "open"


def test_a_band_amount_is_granted_exactly(api, review_task):
    application_id, task_id, clerk = review_task()
    reply = api.post(f"/api/tasks/{task_id}/complete", clerk, json={"outcome": "approve", "amount": "200.00"})
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["result"]["amount"] == 200 and reply.get_json()["outcome"] == "approve"


def test_a_grant_above_the_threshold_needs_a_second_clerk_who_agrees(api, new_user, review_task):
    application_id, task_id, first = review_task()
    second = new_user("clerk", "civil_affairs")
    one = api.post(f"/api/tasks/{task_id}/complete", first, json={"outcome": "approve", "amount": 500})
    assert one.status_code == 200 and (one.get_json()["status"], one.get_json()["outcome"]) == ("waiting", None)
    task = api.get(f"/api/tasks/{task_id}", first).get_json()
    assert task["status"] == "open"
    assert api.post(f"/api/tasks/{task_id}/complete", first, json={"outcome": "approve", "amount": 500}).status_code == 409
    differs = api.post(f"/api/tasks/{task_id}/complete", second, json={"outcome": "approve", "amount": 200})
    assert differs.status_code == 422 and "amount" in differs.get_json()["errors"]
    agreed = api.post(f"/api/tasks/{task_id}/complete", second,
                      json={"outcome": "approve", "amount": 500, "comment": "复核同意"})
    assert agreed.status_code == 200, agreed.get_json()
    assert (agreed.get_json()["outcome"], agreed.get_json()["result"]["amount"]) == ("approve", 500)


def test_a_grant_within_the_threshold_needs_one_clerk(api, review_task):
    application_id, task_id, clerk = review_task()
    done = api.post(f"/api/tasks/{task_id}/complete", clerk, json={"outcome": "approve", "amount": 200})
    assert done.status_code == 200 and done.get_json()["outcome"] == "approve"
