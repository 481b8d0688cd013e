"""好差评: a bad review opens a rectification due in working days; a good one does not."""
from __future__ import annotations

import pytest

ROAD_WORKS = {"phone": "13800138000", "location": "龙华区滨海大道100号北侧人行道", "purpose": "施工材料临时堆放",
              "start_date": "2026-10-12", "end_date": "2026-11-10", "area_m2": 40,
              "materials_provided": ["临时占用城市道路申请书"], "delivery_method": "pickup"}


def own_id(client, applicant: str) -> str:
    """The resident ID of the applicant's verified identity (实名): they apply for themselves."""
    return client.get("/api/me/identity", applicant).get_json()["resident_id"]


def finished_application(client, applicant: str) -> tuple[int, str]:
    """A finished application's id (staff see it) and reference (its applicant's paths take
    it): 高龄补贴 for the applicant themselves, a 40-year-old, refused at once."""
    body = client.post("/api/applications", applicant, json={"matter": "elderly_subsidy", "data": {
        "id_number": own_id(client, applicant), "phone": "13800138000"}}).get_json()
    assert body["status"] == "completed", body
    return body["id"], body["reference"]


def test_a_bad_rating_opens_a_rectification_due_in_working_days(clocked, new_user):
    client = clocked.client
    applicant, clerk, supervisor = new_user(), new_user("clerk", "civil_affairs"), new_user("supervisor")
    application_id, reference = finished_application(client, applicant)
    rated = client.post(f"/api/applications/{reference}/rating", applicant,
                         json={"level": 1, "comment": "等了很久没人回复"})
    assert rated.status_code == 201, rated.get_json()
    assert client.post(f"/api/applications/{reference}/rating", applicant, json={"level": 5}).status_code == 409
    mine = [r for r in client.get("/api/rectifications", clerk).get_json() if r["rating"]["application_id"] == application_id]
    assert len(mine) == 1
    # 5 working days from Mon 28 Sep: 29, 30 Sep, [1-7 Oct holiday], 8, 9, Sat 10 Oct (make-up day)
    assert mine[0]["due_at"] == "2026-10-10T16:00:00+00:00" and mine[0]["department"] == "civil_affairs"
    assert mine[0]["id"] in [r["id"] for r in client.get("/api/rectifications", supervisor).get_json()]
    assert all(r["rating"]["application_id"] != application_id
               for r in client.get("/api/rectifications", new_user("clerk", "housing")).get_json())
    resolved = client.post(f"/api/rectifications/{mine[0]['id']}/resolve", clerk, json={"answer": "已电话回访并道歉"})
    assert resolved.get_json()["status"] == "resolved"
    assert client.post(f"/api/rectifications/{mine[0]['id']}/resolve", clerk, json={"answer": "again"}).status_code == 409
    stats = client.get("/api/ratings/statistics", supervisor).get_json()
    assert stats["matters"]["elderly_subsidy"]["levels"]["非常不满意"] >= 1


def test_a_good_rating_opens_nothing(clocked, new_user):
    client = clocked.client
    applicant, supervisor = new_user(), new_user("supervisor")
    application_id, reference = finished_application(client, applicant)
    assert client.post(f"/api/applications/{reference}/rating", applicant, json={"level": 4}).status_code == 201
    opened = [r for r in client.get("/api/rectifications", supervisor).get_json()
              if r["rating"]["application_id"] == application_id]
    assert opened == []


def test_only_the_applicant_rates_and_only_a_finished_application(clocked, new_user):
    client = clocked.client
    applicant = new_user()
    application_id, reference = finished_application(client, applicant)
    assert client.post(f"/api/applications/{reference}/rating", new_user(), json={"level": 5}).status_code == 404
    assert client.post(f"/api/applications/{reference}/rating", applicant, json={"level": 6}).status_code == 422
    waiting = client.post("/api/applications", applicant, json={"matter": "road_occupation", "data": {
        "id_number": own_id(client, applicant), **ROAD_WORKS}}).get_json()
    assert waiting["status"] == "waiting", waiting  # at the comprehensive window
    assert client.post(f"/api/applications/{waiting['reference']}/rating", applicant, json={"level": 5}).status_code == 409


@pytest.mark.parametrize("level, opened", [(1, 1), (2, 1), (3, 0), (4, 0), (5, 0)])
def test_the_bottom_two_levels_and_only_they_open_a_rectification(clocked, new_user, level, opened):
    """SPEC: five levels, the bottom two (不满意, 非常不满意) are bad reviews. Level 2 and
    the boundary on either side of it, each counted as bad or not in the statistics too."""
    client = clocked.client
    applicant, supervisor = new_user(), new_user("supervisor")
    application_id, reference = finished_application(client, applicant)
    bad_before = _bad_reviews(client, supervisor)
    assert client.post(f"/api/applications/{reference}/rating", applicant, json={"level": level}).status_code == 201
    mine = [r for r in client.get("/api/rectifications", supervisor).get_json()
            if r["rating"]["application_id"] == application_id]
    assert len(mine) == opened
    assert _bad_reviews(client, supervisor) - bad_before == opened


def _bad_reviews(client, supervisor: str) -> int:
    matters = client.get("/api/ratings/statistics", supervisor).get_json()["matters"]
    return matters.get("elderly_subsidy", {}).get("bad", 0)
