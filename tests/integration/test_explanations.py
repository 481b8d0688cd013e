"""One explanation per decision (engine/explanation.py): whoever answered — the rule set, a
clerk at intake or review, the register of holders — the application carries ``reasons``
in one shape; the applicant reads plain Chinese and the legal basis, staff also the
technical detail (rule ids, the task that decided)."""
from __future__ import annotations

import re

from tests.integration.helpers import with_silent_source
from tests.integration.test_comprehensive_window import complete, open_task, submit as submit_to_window

BASIS = "《海南省高龄老人长寿补贴发放管理办法》"
TECHNICAL = re.compile(r"[A-Za-z_]")  # a rule id, a source name, English: never in an applicant's reasons


def apply_for_subsidy(client, applicant: str, id_number: str):
    return client.post("/api/applications", applicant, json={"matter": "elderly_subsidy", "data": {
        "id_number": id_number, "phone": "13800138000"}})


def plain_for_applicant(reasons: list[dict]) -> None:
    assert reasons, "an answered application explains itself"
    for reason in reasons:
        assert set(reason) == {"text", "by", "by_label", "basis"}, reason  # no technical detail
        assert reason["text"] and not TECHNICAL.search(reason["text"]), reason


def test_an_instant_approval_and_refusal_explain_themselves_in_plain_chinese(api, resident, applicant_for, new_user):
    older, younger = resident(85), resident(60)
    approved = apply_for_subsidy(api, applicant_for(older), older).get_json()
    assert approved["outcome"] == "approve"
    assert approved["reasons"] == [{"text": "80-89周岁，每月补贴100元", "by": "rules", "by_label": "规则自动判断", "basis": BASIS}]
    assert (approved["matter_name"], approved["department_name"]) == ("高龄老人长寿补贴", "民政局")

    refused = apply_for_subsidy(api, applicant_for(younger), younger).get_json()
    assert refused["outcome"] == "reject"
    assert refused["reasons"] == [{"text": "申请人未满80周岁，不符合高龄老人长寿补贴条件", "by": "rules", "by_label": "规则自动判断", "basis": BASIS}]
    # staff see which rule said it, and its full message
    staff = api.get(f"/api/applications/{refused['id']}", new_user("supervisor")).get_json()
    assert staff["reasons"][0]["detail"] == {
        "rule": "under_80", "message": "申请人未满80周岁，不符合高龄老人长寿补贴条件 (applicant is under 80)"}


def test_a_clerks_refusal_after_manual_review_gives_the_clerks_words(api, services, resident, applicant_for, new_user):
    id_number = resident(86)
    applicant = applicant_for(id_number)
    waiting = apply_for_subsidy(with_silent_source(services, "population_registry"), applicant, id_number).get_json()
    assert waiting["outcome"] is None and waiting["reasons"] == []  # not answered yet: nothing to explain

    clerk = new_user("clerk", "civil_affairs")
    task = next(t for t in api.get("/api/tasks", clerk).get_json() if t["application_id"] == waiting["id"])
    assert api.post(f"/api/tasks/{task['id']}/claim", clerk).status_code == 200
    done = api.post(f"/api/tasks/{task['id']}/complete", clerk,
                    json={"outcome": "reject", "comment": "经入户核查，申请人户籍已迁出本市"})
    assert done.status_code == 200, done.get_json()

    seen = api.get(f"/api/applications/{waiting['reference']}", applicant).get_json()
    assert seen["outcome"] == "reject"
    assert seen["reasons"] == [{"text": "经入户核查，申请人户籍已迁出本市", "by": "clerk", "by_label": "工作人员审核", "basis": BASIS}]
    plain_for_applicant(seen["reasons"])
    listed = next(a for a in api.get("/api/applications", applicant).get_json() if a["id"] == waiting["id"])
    assert listed["reasons"] == seen["reasons"]  # the list says the same as the detail
    detail = api.get(f"/api/applications/{waiting['id']}", clerk).get_json()["reasons"][0]["detail"]
    assert (detail["task_id"], detail["task"]) == (task["id"], task["title"])


def test_a_clerks_approval_without_words_is_still_explained(api, services, resident, applicant_for, new_user):
    id_number = resident(91)
    applicant = applicant_for(id_number)
    waiting = apply_for_subsidy(with_silent_source(services, "population_registry"), applicant, id_number).get_json()
    clerk = new_user("clerk", "civil_affairs")
    task = next(t for t in api.get("/api/tasks", clerk).get_json() if t["application_id"] == waiting["id"])
    api.post(f"/api/tasks/{task['id']}/claim", clerk)
    assert api.post(f"/api/tasks/{task['id']}/complete", clerk, json={"outcome": "approve", "amount": 200}).status_code == 200
    seen = api.get(f"/api/applications/{waiting['reference']}", applicant).get_json()
    assert seen["outcome"] == "approve"
    assert seen["reasons"] == [{"text": "经审核，符合办理条件，准予办理", "by": "clerk", "by_label": "工作人员审核", "basis": BASIS}]


def test_a_refusal_at_the_window_and_a_repeat_application_explain_themselves(clocked, new_user, resident,
                                                                             applicant_for, api):
    client, _, _ = clocked
    applicant, window = new_user(), new_user("clerk", "front_desk")
    application = submit_to_window(client, applicant)
    intake = open_task(client, window, application["id"])
    complete(client, window, intake["id"], outcome="refuse", comment="不属于本机关职权范围")
    seen = client.get(f"/api/applications/{application['reference']}", applicant).get_json()
    assert [(r["text"], r["by"]) for r in seen["reasons"]] == [("不属于本机关职权范围", "clerk")]
    plain_for_applicant(seen["reasons"])

    id_number = resident(88)
    first = apply_for_subsidy(api, applicant_for(id_number), id_number).get_json()
    again = apply_for_subsidy(api, applicant_for(id_number), id_number).get_json()
    assert (first["outcome"], again["outcome"]) == ("approve", "reject")
    assert [(r["text"], r["by"]) for r in again["reasons"]] == [("申请人已在领取高龄老人长寿补贴，不得重复申领", "rules")]
    plain_for_applicant(again["reasons"])


def test_the_departments_list_is_public(api):
    reply = api.get("/api/departments")
    assert reply.status_code == 200
    assert {"code": "front_desk", "name": "综合受理窗口"} in reply.get_json()


def test_the_history_an_applicant_reads_is_in_chinese(api, resident, applicant_for):
    id_number = resident(83)
    applicant = applicant_for(id_number)
    approved = apply_for_subsidy(api, applicant, id_number).get_json()
    history = api.get(f"/api/applications/{approved['reference']}", applicant).get_json()["history"]
    assert [e["label"] for e in history if e["kind"] in ("application.submitted", "application.decided")] \
        == ["提交申请", "作出办理决定"]
    assert all(e["label"] for e in history), history


def test_states_are_answered_in_words_beside_their_codes(api, resident, applicant_for, new_user):
    """engine/words.py: a page never keeps its own copy of what a code means."""
    id_number = resident(87)
    approved = apply_for_subsidy(api, applicant_for(id_number), id_number).get_json()
    assert (approved["status_label"], approved["outcome_label"], approved["colour_label"]) == ("已办结", "准予", "正常")
    assert approved["reasons"][0]["by_label"] == "规则自动判断"


def test_every_state_has_its_words():
    from engine import words
    from engine.explanation import DecidedBy
    from engine.oversight.deadlines import Colour
    from engine.store.models import ApplicationStatus, Outcome, TaskStatus

    for table, kind in [(words.APPLICATION_STATUS, ApplicationStatus), (words.OUTCOME, Outcome),
                        (words.TASK_STATUS, TaskStatus), (words.STEP_STATUS, TaskStatus), (words.COLOUR, Colour), (words.DECIDED_BY, DecidedBy)]:
        assert set(table) == set(kind), kind


def test_staff_read_the_facts_with_their_names_and_sources_in_words(api, services, resident, applicant_for, new_user):
    id_number = resident(84)
    applicant = applicant_for(id_number)
    waiting = apply_for_subsidy(with_silent_source(services, "population_registry"), applicant, id_number).get_json()
    assert waiting["facts"] == []  # the applicant reads reasons, not the technical record
    clerk = new_user("clerk", "civil_affairs")
    facts = {f["name"]: f for f in api.get(f"/api/applications/{waiting['id']}", clerk).get_json()["facts"]}
    household = facts["household_local"]
    assert (household["label"], household["source_label"], household["status_label"]) == ("本地户籍", "人口库", "暂时无法查询")
    assert facts["age"]["status_label"] == "已核验"



def submitters_view(client, submitter: str, answer: dict) -> list[dict]:
    """The application as its submitter reads it: the submission's answer, the detail, the list's row."""
    detail = client.get(f"/api/applications/{answer['reference']}", submitter).get_json()
    listed = next(a for a in client.get("/api/applications", submitter).get_json() if a["id"] == answer["id"])
    return [answer, detail, listed]


def staff_decision(client, staff: str, application_id: int) -> dict:
    reply = client.get(f"/api/applications/{application_id}", staff)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()["decision"]


def test_the_technical_decision_is_for_staff_applicants_and_agents_read_reasons(api, services, people, resident,
                                                                                applicant_for, new_user):
    """``decision`` (rule ids, facts with their sources) is answered to staff only: the
    applicant and their agent get null — in the submission's answer, the detail and the
    list — and read ``reasons``; the department's clerk and a supervisor get it whole."""
    clerk, supervisor = new_user("clerk", "civil_affairs"), new_user("supervisor")

    # the applicant's own: the registry does not answer, so the rules send it to the clerk
    id_number = resident(84)
    applicant = applicant_for(id_number)
    waiting = apply_for_subsidy(with_silent_source(services, "population_registry"), applicant, id_number).get_json()
    assert waiting["status"] == "waiting", waiting
    for seen in submitters_view(api, applicant, waiting):
        assert (seen["decision"], seen["facts"], seen["reasons"]) == (None, [], []), seen  # not answered yet
    for staff in (clerk, supervisor):
        decision = staff_decision(api, staff, waiting["id"])
        assert decision["outcome"] == "manual" and "missing:household_local" in [r["rule"] for r in decision["reasons"]]
        household = decision["facts"]["household_local"]
        assert (household["source"], household["status"]) == ("population_registry", "unavailable")
    task = next(t for t in api.get("/api/tasks", clerk).get_json() if t["application_id"] == waiting["id"])
    assert api.post(f"/api/tasks/{task['id']}/claim", clerk).status_code == 200
    done = api.post(f"/api/tasks/{task['id']}/complete", clerk, json={"outcome": "reject", "comment": "户籍已迁出本市"})
    assert done.status_code == 200, done.get_json()
    for seen in submitters_view(api, applicant, waiting)[1:]:
        assert (seen["outcome"], seen["decision"], seen["facts"]) == ("reject", None, []), seen
        assert [r["text"] for r in seen["reasons"]] == ["户籍已迁出本市"]
        plain_for_applicant(seen["reasons"])
    # the rules' record stays as it was; staff still read it whole
    assert staff_decision(api, clerk, waiting["id"]) == staff_decision(api, supervisor, waiting["id"]) == decision

    # an agent's (授权代办, on paper: engine/demo.py), refused at once by the rules
    reply = apply_for_subsidy(api, "agent_post", people["local_75"])
    refused = reply.get_json()
    assert reply.status_code == 201 and refused["outcome"] == "reject", refused
    for seen in submitters_view(api, "agent_post", refused):
        assert (seen["decision"], seen["facts"]) == (None, []), seen
        assert [r["text"] for r in seen["reasons"]] == ["申请人未满80周岁，不符合高龄老人长寿补贴条件"]
        plain_for_applicant(seen["reasons"])
    decision = staff_decision(api, supervisor, refused["id"])
    assert decision["outcome"] == "reject" and [r["rule"] for r in decision["reasons"]] == ["under_80"]
    assert (decision["facts"]["age"]["value"], decision["facts"]["age"]["source"]) == (75, "form")
    assert decision["facts"]["household_local"]["source"] == "population_registry"
