"""What modellers draw deploys and runs through the API: multi-instance review (会签) in
parallel and in sequence with three reviewers, a standard loop, an event sub-process, a
call activity whose process comes in a second file, and a collaboration."""
from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.definitions.catalogue import upsert_matter
from engine.store.models import Event
from tests.integration.helpers import run_queued_work

MODELLERS = Path(__file__).parent / "fixtures" / "modellers"
RULESET = """matter: {matter}
facts:
  name: {{type: string, source: form}}
rules:
  - id: named
    when: {{name: {{ne: ""}}}}
    outcome: approve
    message: 已填写
"""
FORM = """{"type": "default", "id": "modeller_test", "components": [
  {"type": "textfield", "key": "name", "label": "姓名", "validate": {"required": true}}]}"""
_codes = itertools.count(1)


def files(*names: str, matter: str) -> dict[str, str]:
    named = {name: (MODELLERS / name).read_text(encoding="utf-8") for name in names}
    return {**named, "rules.yaml": RULESET.format(matter=matter), "form.json": FORM}


@pytest.fixture
def matter(services) -> str:
    """A fresh matter of 民政 for one test's process."""
    code = f"modeller_{next(_codes)}"
    with services.sessions() as session:
        upsert_matter(session, {"code": code, "name": "建模测试", "department": "civil_affairs",
                                "promised_days": 5, "legal_days": 20})
        session.commit()
    return code


def deploy(api, analyst: str, matter: str, *names: str) -> dict:
    reply = api.post("/api/definitions", analyst, json={"matter": matter, "files": files(*names, matter=matter)})
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def submit(api, applicant: str, matter: str) -> dict:
    reply = api.post("/api/applications", applicant, json={"matter": matter, "data": {"name": "周九"}})
    assert reply.status_code in (201, 202), reply.get_json()  # 202: waiting for clerks
    return reply.get_json()


def open_tasks(api, clerk: str, application: dict) -> list[dict]:
    """The application's tasks in the clerk's queue (filtered by its matter: a department's
    queue lists only its first 100 tasks, and other tests leave theirs open)."""
    queue = api.get(f"/api/tasks?matter={application['matter']}", clerk).get_json()
    return [t for t in queue if t["application_id"] == application["id"]]


def complete(api, clerk: str, task: dict, outcome: str) -> dict:
    reply = api.post(f"/api/tasks/{task['id']}/complete", clerk, json={"outcome": outcome, "comment": "会签意见"})
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def application(api, applicant: str, reference: str) -> dict:
    return api.get(f"/api/applications/{reference}", applicant).get_json()


def test_three_reviewers_sign_off_in_parallel(api, new_user, matter):
    analyst, applicant = new_user("analyst"), new_user()
    reviewers = [new_user("clerk", "civil_affairs") for _ in range(3)]
    deploy(api, analyst, matter, "review_parallel.bpmn")
    submitted = submit(api, applicant, matter)
    tasks = open_tasks(api, reviewers[0], submitted)
    assert len(tasks) == 3 and {t["title"] for t in tasks} == {"会签"}, tasks  # all three at once
    for reviewer, task in zip(reviewers, tasks):
        done = complete(api, reviewer, task, "approve")
    assert done["status"] == "completed" and done["outcome"] == "approve", done
    assert application(api, applicant, submitted["reference"])["result"] == {"approvals": 3, "reviewers": 3}


def test_three_reviewers_sign_off_in_sequence_and_one_refusal_refuses(api, new_user, matter):
    analyst, applicant = new_user("analyst"), new_user()
    reviewers = [new_user("clerk", "civil_affairs") for _ in range(3)]
    deploy(api, analyst, matter, "review_sequential.bpmn")
    submitted = submit(api, applicant, matter)
    for reviewer, outcome in zip(reviewers, ("approve", "reject", "approve")):
        tasks = open_tasks(api, reviewer, submitted)
        assert len(tasks) == 1, tasks  # one after another
        done = complete(api, reviewer, tasks[0], outcome)
    assert done["status"] == "completed" and done["outcome"] == "reject", done
    assert application(api, applicant, submitted["reference"])["result"] == {"approvals": 2, "reviewers": 3}


def test_two_parallel_reviews_on_one_form_both_keep_their_answers(api, new_user, matter):
    """Every review step writes `review`: of two parallel ones only the last survived in the
    data. Each answer is also kept under its step's id (answers[...]), merged at the join."""
    deploy(api, new_user("analyst"), matter, "review_two_departments.bpmn")
    applicant, clerk = new_user(), new_user("clerk", "civil_affairs")
    submitted = submit(api, applicant, matter)
    tasks = {t["element_id"]: t for t in open_tasks(api, clerk, submitted)}
    assert set(tasks) == {"Task_first_review", "Task_second_review"}, tasks
    for element, comment in (("Task_second_review", "第二部门同意"), ("Task_first_review", "第一部门同意")):
        reply = api.post(f"/api/tasks/{tasks[element]['id']}/complete", clerk,
                         json={"outcome": "approve", "comment": comment})
        assert reply.status_code == 200, reply.get_json()
    done = application(api, applicant, submitted["reference"])
    assert (done["outcome"], done["result"]) == ("approve", {
        "first": "第一部门同意", "second": "第二部门同意", "last_review": "第一部门同意"}), done


def test_a_standard_loop_runs_until_its_condition(api, new_user, matter):
    deploy(api, new_user("analyst"), matter, "standard_loop.bpmn")
    submitted = submit(api, new_user(), matter)
    assert submitted["status"] == "completed" and submitted["outcome"] == "approve", submitted


def test_a_non_interrupting_event_sub_process_runs_beside_the_review_when_its_timer_fires(clocked, new_user, matter):
    api = clocked.client
    deploy(api, new_user("analyst"), matter, "event_subprocess.bpmn")
    applicant, clerk = new_user(), new_user("clerk", "civil_affairs")
    submitted = submit(api, applicant, matter)
    days_pass(clocked, 4)
    assert "Task_remind" in ran(clocked.services, submitted["id"])  # the reminder ran...
    task = open_tasks(api, clerk, submitted)
    assert [t["title"] for t in task] == ["审核"]  # ...and the review still waits
    done = complete(api, clerk, task[0], "approve")
    assert (done["status"], done["outcome"]) == ("completed", "approve"), done
    assert application(api, applicant, submitted["reference"])["result"] == {"by": "review"}


def test_a_boundary_timer_with_an_implicit_end_fires_and_the_review_goes_on(clocked, new_user, matter):
    api = clocked.client
    deploy(api, new_user("analyst"), matter, "boundary_implicit_end.bpmn")
    applicant, clerk = new_user(), new_user("clerk", "civil_affairs")
    submitted = submit(api, applicant, matter)
    days_pass(clocked, 4)
    assert "B_remind" in ran(clocked.services, submitted["id"])
    done = complete(api, clerk, open_tasks(api, clerk, submitted)[0], "approve")
    assert (done["status"], done["outcome"]) == ("completed", "approve"), done


def test_an_interrupting_boundary_event_with_an_implicit_end_is_refused(api, new_user, matter):
    named = files("boundary_implicit_end.bpmn", matter=matter)
    named["boundary_implicit_end.bpmn"] = named["boundary_implicit_end.bpmn"].replace(
        'cancelActivity="false"', 'cancelActivity="true"')
    reply = api.post("/api/definitions", new_user("analyst"), json={"matter": matter, "files": named})
    assert reply.status_code == 400
    assert [(p["element_id"], "no decision" in p["reason"]) for p in reply.get_json()["problems"]] \
        == [("B_remind", True)]


def test_an_interrupting_event_sub_process_is_refused_saying_what_to_use(api, new_user, matter):
    interrupting = files("event_subprocess.bpmn", matter=matter)
    interrupting["event_subprocess.bpmn"] = interrupting["event_subprocess.bpmn"].replace(
        'isInterrupting="false"', 'isInterrupting="true"')
    reply = api.post("/api/definitions", new_user("analyst"), json={"matter": matter, "files": interrupting})
    assert reply.status_code == 400
    problem = reply.get_json()["problems"][0]
    assert (problem["file"], problem["element_id"]) == ("event_subprocess.bpmn", "StartEvent_reminder")
    assert "boundary event" in problem["reason"] and problem["line"]


def days_pass(clocked, days: int) -> None:
    """The clock moves on; the scheduler's timer job and the worker do what is due."""
    clocked.clock.now += timedelta(days=days)
    clocked.services.work.fire_timers()
    run_queued_work(clocked.services)


def ran(services, application_id: int) -> list[str]:
    """The elements the application's runs went through (its ``steps`` events)."""
    with services.sessions() as session:
        runs = session.scalars(select(Event.data).where(Event.application_id == application_id, Event.kind == "steps"))
        return [step["element"] for run in runs for step in run["steps"]]


def test_a_call_activity_whose_process_is_in_a_second_file(api, new_user, matter):
    deployed = deploy(api, new_user("analyst"), matter, "call_main.bpmn", "call_common_check.bpmn")
    assert deployed["files"]["names"]["bpmn"] == "call_main.bpmn"
    assert deployed["files"]["names"]["called"] == ["call_common_check.bpmn"]
    assert deployed["files"]["names"]["ruleset"] == "rules.yaml"
    applicant, clerk = new_user(), new_user("clerk", "civil_affairs")
    submitted = submit(api, applicant, matter)
    task = open_tasks(api, clerk, submitted)
    assert [t["title"] for t in task] == ["核验"]
    done = complete(api, clerk, task[0], "approve")
    assert (done["outcome"], application(api, applicant, submitted["reference"])["result"]) == ("approve", {"checked": True})


def test_the_called_file_missing_is_refused_naming_the_call(api, new_user, matter):
    reply = api.post("/api/definitions", new_user("analyst"),
                     json={"matter": matter, "files": files("call_main.bpmn", matter=matter)})
    assert reply.status_code == 400
    problem = reply.get_json()["problems"][0]
    assert (problem["file"], problem["element_id"]) == ("call_main.bpmn", "Call_common_check")
    assert "common_check" in problem["reason"] and problem["line"]


# --- Camunda Modeler: a collaboration, and who takes each task ----------------------------

def camunda_files(matter: str, clerk_a: str, clerk_b: str, change=lambda bpmn: bpmn) -> dict[str, str]:
    named = files("camunda_collaboration.bpmn", matter=matter)
    bpmn = named["camunda_collaboration.bpmn"].replace("CLERK_A", clerk_a).replace("CLERK_B", clerk_b)
    return {**named, "camunda_collaboration.bpmn": change(bpmn)}


def test_camunda_candidate_groups_users_assignee_and_form_key_are_honoured(api, new_user, matter):
    """The matter is 民政's, the tasks say 住建 (candidateGroups); the first only for CLERK_A
    (candidateUsers), the second claimed by CLERK_B (assignee) from the start."""
    clerk_a, clerk_b, other = (new_user("clerk", "housing") for _ in range(3))
    reply = api.post("/api/definitions", new_user("analyst"),
                     json={"matter": matter, "files": camunda_files(matter, clerk_a, clerk_b)})
    assert reply.status_code == 201, reply.get_json()
    applicant = new_user()
    submitted = submit(api, applicant, matter)
    assert open_tasks(api, other, submitted) == []  # not offered to the rest of 住建
    assert api.post(f"/api/tasks/{open_tasks(api, clerk_a, submitted)[0]['id']}/claim", other).status_code == 404
    accept = open_tasks(api, clerk_a, submitted)
    assert [(t["title"], t["department"]) for t in accept] == [("受理", "housing")], accept
    complete(api, clerk_a, accept[0], "approve")
    approve = open_tasks(api, clerk_b, submitted)
    assert [(t["title"], t["status"]) for t in approve] == [("审批", "claimed")], approve
    assert api.post(f"/api/tasks/{approve[0]['id']}/complete", other, json={"outcome": "approve"}).status_code == 409
    done = complete(api, clerk_b, approve[0], "approve")
    assert (done["status"], done["outcome"]) == ("completed", "approve")


@pytest.mark.parametrize("change, element, says", [
    (lambda b: b.replace('camunda:candidateGroups="housing" camunda:formKey', 'camunda:candidateGroups="HR" camunda:formKey'),
     "Task_accept", "'HR' is no department"),
    (lambda b: b.replace('camunda:candidateGroups="housing" camunda:assignee', 'camunda:candidateGroups="housing,health" camunda:assignee'),
     "Task_approve", "one department"),
    (lambda b: b.replace('camunda:formKey="review"', 'camunda:formKey="embedded:app:forms/accept.html"'),
     "Task_accept", "unknown taskForm"),
    (lambda b: b.replace('camunda:assignee="', 'camunda:assignee="${initiator}" data-was="'),
     "Task_approve", "expressions"),
    (lambda b: b.replace('camunda:candidateUsers="', 'camunda:candidateUsers="nobody_at_all,'),
     "Task_accept", "'nobody_at_all' is no clerk of housing"),
])
def test_camunda_names_nobody_could_take_are_refused(api, new_user, matter, change, element, says):
    clerk_a, clerk_b = new_user("clerk", "housing"), new_user("clerk", "housing")
    named = camunda_files(matter, clerk_a, clerk_b, change)
    reply = api.post("/api/definitions", new_user("analyst"), json={"matter": matter, "files": named})
    assert reply.status_code == 400, reply.get_json()
    problems = reply.get_json()["problems"]
    assert any(p["element_id"] == element and says in p["reason"] and p["file"] == "camunda_collaboration.bpmn"
               and p.get("line") for p in problems), problems


def test_camunda_collection_is_refused_saying_what_to_use(api, new_user, matter):
    named = files("review_parallel.bpmn", matter=matter)
    named["review_parallel.bpmn"] = named["review_parallel.bpmn"].replace(
        '<bpmn:multiInstanceLoopCharacteristics isSequential="false">',
        '<bpmn:multiInstanceLoopCharacteristics isSequential="false" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'camunda:collection="${reviewers}" camunda:elementVariable="reviewer">')
    reply = api.post("/api/definitions", new_user("analyst"), json={"matter": matter, "files": named})
    assert reply.status_code == 400
    problem = reply.get_json()["problems"][0]
    assert problem["element_id"] == "Task_sign_off" and "loopDataInputRef" in problem["reason"], problem


def test_a_lane_that_is_no_department_is_refused(api, new_user, matter):
    bpmn = (MODELLERS / "event_subprocess.bpmn").read_text(encoding="utf-8").replace(
        '<bpmn:startEvent id="StartEvent_submitted">',
        '<bpmn:laneSet id="Lanes"><bpmn:lane id="Lane_hr" name="HR"><bpmn:flowNodeRef>Task_review</bpmn:flowNodeRef>'
        '</bpmn:lane></bpmn:laneSet><bpmn:startEvent id="StartEvent_submitted">', 1)
    named = {**files("event_subprocess.bpmn", matter=matter), "event_subprocess.bpmn": bpmn}
    reply = api.post("/api/definitions", new_user("analyst"), json={"matter": matter, "files": named})
    assert reply.status_code == 400
    assert [(p["element_id"], "lane 'HR' is no department" in p["reason"]) for p in reply.get_json()["problems"]] \
        == [("Task_review", True)]


# --- every phase's problems in one answer; the dry run ------------------------------------

def broken_in_every_phase(matter: str) -> dict[str, str]:
    named = files("camunda_collaboration.bpmn", matter=matter)
    bpmn = named["camunda_collaboration.bpmn"].replace('candidateGroups="housing" camunda:formKey',
                                                      'candidateGroups="HR" camunda:formKey')
    bpmn = bpmn.replace("result = {'approved_by': 'housing'}", "result = __import__('os').getcwd()")
    return {**named, "camunda_collaboration.bpmn": bpmn,
            "rules.yaml": named["rules.yaml"].replace("{name: {ne:", "{nmae: {ne:"),
            "form.json": named["form.json"].replace('"type": "textfield"', '"type": "no_such_component"')}


def test_every_phase_s_problems_come_in_one_answer_ordered_by_file_and_line(api, services, new_user, matter):
    reply = api.post("/api/definitions", new_user("analyst"), json={"matter": matter, "files": broken_in_every_phase(matter)})
    assert reply.status_code == 400
    problems = reply.get_json()["problems"]
    found = [(p["file"], p["element_id"]) for p in problems]
    assert ("camunda_collaboration.bpmn", "Task_accept") in found  # structure: a lane/group for nobody
    assert ("camunda_collaboration.bpmn", "Task_decide") in found  # sandbox
    assert any(f == "rules.yaml" for f, _ in found) and any(f == "form.json" for f, _ in found), problems
    files_in_order = [p["file"] for p in problems]
    assert files_in_order == sorted(files_in_order, key=["camunda_collaboration.bpmn", "rules.yaml", "form.json"].index)
    lines = [int(p["line"]) for p in problems if p["file"] == "camunda_collaboration.bpmn"]
    assert lines == sorted(lines)


def test_validate_is_a_dry_run_with_the_same_problems(api, services, new_user, matter):
    analyst = new_user("analyst")
    broken = {"matter": matter, "files": broken_in_every_phase(matter)}
    refused = api.post("/api/definitions", analyst, json=broken).get_json()["problems"]
    checked = api.post("/api/definitions/validate", analyst, json=broken)
    assert checked.status_code == 200 and checked.get_json()["deployable"] is False
    assert checked.get_json()["problems"] == refused
    good = {"matter": matter, "files": files("review_parallel.bpmn", matter=matter)}
    fine = api.post("/api/definitions/validate", analyst, json=good).get_json()
    assert fine == {"deployable": True, "problems": [], "warnings": []}
    listed = [d for d in api.get("/api/definitions", analyst).get_json() if d["matter"] == matter]
    assert listed == []  # neither was stored


@pytest.mark.parametrize("named, says", [
    ({"notes.txt": "x"}, "unknown kind of file"),
    ({"more_rules.yaml": "matter: x"}, "at most one rule set"),
])
def test_files_that_make_no_definition_are_named(api, new_user, matter, named, says):
    upload = {**files("review_parallel.bpmn", matter=matter), **named}
    reply = api.post("/api/definitions", new_user("analyst"), json={"matter": matter, "files": upload})
    assert reply.status_code == 400
    assert any(says in p["reason"] and next(iter(named)) in p["file"] for p in reply.get_json()["problems"])
