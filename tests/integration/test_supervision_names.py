"""电子监察 answers name what a person reads — matters, departments, clerks — beside the codes,
so every client (the dashboard, a spreadsheet, another system) shows names; and open
incidents reach supervisors as counts only."""
from __future__ import annotations

from engine.store.models import User
from tests.integration import test_incidents, test_supervision
from tests.integration.test_incidents import _apply, _deploy
from tests.integration.test_ratings import finished_application

scratch_matter, manual_case = test_incidents.scratch_matter, test_supervision.manual_case  # their fixtures
SUBSIDY, CIVIL = "高龄老人长寿补贴", "民政局"


def display_name(services, username: str) -> str:
    with services.sessions() as session:
        user = session.query(User).filter_by(username=username).one()
        return user.display_name or user.username


def test_overdue_cases_counts_and_handling_carry_names_and_working_days_overdue(clocked, new_user, manual_case):
    client, clock, services = clocked
    supervisor = new_user("supervisor")
    application_id, task_id, clerk = manual_case()
    assert client.post(f"/api/tasks/{task_id}/claim", clerk).status_code == 200
    clock.set(2026, 10, 9, 9, 0)  # 4 of 5 working days used
    services.supervision.sweep()
    near = next(c for c in client.get("/api/supervision/near-due", supervisor).get_json()
                if c["application_id"] == application_id)
    assert (near["matter_name"], near["department_name"], near["days_overdue"]) == (SUBSIDY, CIVIL, 0)

    clock.set(2026, 10, 13, 9, 0)  # due at the end of Sat 10 Oct (a make-up working day): 12 and 13 Oct late
    services.supervision.sweep()
    case = next(c for c in client.get("/api/supervision/overdue", supervisor).get_json()
                if c["application_id"] == application_id)
    assert case["matter"] == "elderly_subsidy" and case["matter_name"] == SUBSIDY
    assert case["department"] == "civil_affairs" and case["department_name"] == CIVIL
    assert case["colour"] == "red" and case["days_overdue"] == 2
    assert case["clerks"] == [{"username": clerk, "name": display_name(services, clerk)}]

    counts = client.get("/api/supervision/counts", supervisor).get_json()
    assert counts["departments"]["civil_affairs"]["red"] >= 1
    assert counts["department_names"]["civil_affairs"] == CIVIL
    assert set(counts["department_names"]) == set(counts["departments"])
    assert counts["clerks"][clerk] == {"red": 1}
    assert counts["clerk_names"][clerk] == display_name(services, clerk)
    assert set(counts["clerk_names"]) == set(counts["clerks"])


def test_handling_times_name_the_department(clocked, new_user):
    client = clocked.client
    finished_application(client, new_user())  # refused at once: finished
    handling = client.get("/api/supervision/handling", new_user("supervisor")).get_json()
    subsidy = next(h for h in handling if h["matter"] == "elderly_subsidy")
    assert (subsidy["name"], subsidy["department"], subsidy["department_name"]) == (SUBSIDY, "civil_affairs", CIVIL)


def test_ratings_and_rectifications_name_the_matter_and_the_department(clocked, new_user):
    client = clocked.client
    applicant, clerk, supervisor = new_user(), new_user("clerk", "civil_affairs"), new_user("supervisor")
    application_id, reference = finished_application(client, applicant)
    rated = client.post(f"/api/applications/{reference}/rating", applicant, json={"level": 2, "comment": "慢"})
    assert rated.status_code == 201, rated.get_json()
    assert (rated.get_json()["matter_name"], rated.get_json()["department_name"]) == (SUBSIDY, CIVIL)

    mine = next(r for r in client.get("/api/rectifications", supervisor).get_json()
                if r["rating"]["application_id"] == application_id)
    assert mine["department"] == "civil_affairs" and mine["department_name"] == CIVIL
    assert mine["rating"]["matter"] == "elderly_subsidy" and mine["rating"]["matter_name"] == SUBSIDY
    assert mine["rating"]["department_name"] == CIVIL
    resolved = client.post(f"/api/rectifications/{mine['id']}/resolve", clerk, json={"answer": "已回访"}).get_json()
    assert (resolved["status"], resolved["department_name"], resolved["rating"]["matter_name"]) == (
        "resolved", CIVIL, SUBSIDY)
    assert any(r["id"] == mine["id"] and r["rating"]["matter_name"] == SUBSIDY
               for r in client.get("/api/rectifications?status=resolved", clerk).get_json())

    statistics = client.get("/api/ratings/statistics", supervisor).get_json()
    assert statistics["matters"]["elderly_subsidy"]["bad"] >= 1
    assert statistics["matter_names"]["elderly_subsidy"] == SUBSIDY
    assert statistics["department_names"]["civil_affairs"] == CIVIL
    assert set(statistics["matter_names"]) == set(statistics["matters"])
    assert set(statistics["department_names"]) == set(statistics["departments"])


def test_supervisors_count_open_incidents_without_reading_their_errors(api, new_user, resident, applicant_for,
                                                                      scratch_matter):
    code, body = scratch_matter
    supervisor, admin = new_user("supervisor"), new_user("admin")
    _deploy(api, new_user("analyst"), body("amount = 1 // 0"))
    failed = [_apply(api, applicant_for(id_number), code, id_number) for id_number in (resident(85), resident(86))]
    assert [f["status"] for f in failed] == ["failed", "failed"]

    counted = [c for c in api.get("/api/supervision/incidents", supervisor).get_json() if c["matter"] == code]
    assert len(counted) == 1
    assert counted[0]["matter_name"] == f"测试事项{code}" and counted[0]["department_name"] == CIVIL
    assert (counted[0]["kind"], counted[0]["open"]) == ("script_error", 2)
    assert "error" not in counted[0] and "application_id" not in counted[0]
    assert api.get("/api/supervision/incidents", admin).status_code == 200
    assert api.get("/api/supervision/incidents", new_user("clerk", "civil_affairs")).status_code == 403
    assert api.get("/api/incidents", supervisor).status_code == 403  # the errors stay with analysts and admins
