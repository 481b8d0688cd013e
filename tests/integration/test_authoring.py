"""Matters made from templates through the API (engine/authoring/): an analyst fills in a
guide, version 1 is deployed, and an applicant applies at once — 秒批 approves or refuses
with the criterion's Chinese message, 智能审批 sends a mismatch to a clerk, 告知承诺 approves
and brings a verification task N working days later, 综合窗口 starts at the front desk.
A taken code is 409, a bad guide 422 naming every field; editing a guide is a new version
with the live files and the changed policy, and an edit that changes nothing is not."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.definitions.versions import current_definition
from engine.store.models import Event, ServiceDefinition
from engine.store.registries import RegistryPerson
from tests.integration.helpers import decision_of, run_queued_work

GUIDE = {"name": "测试事项", "type": "行政给付", "legal_basis": "《测试管理办法》第三条", "department": "civil_affairs",
         "legal_days": 20, "promised_days": 5, "conditions": ["年满60周岁", "本地户籍"],
         "materials": [{"name": "居民身份证", "required": True, "source": "population_registry"}]}


@pytest.fixture
def analyst(new_user) -> str:
    return new_user("analyst")


def create(client, analyst: str, template: str, code: str, **fields):
    return client.post(f"/api/templates/{template}/matters", analyst, json={**GUIDE, "code": code, **fields})


def apply(client, applicant: str, matter: str, **data):
    return client.post("/api/applications", applicant, json={"matter": matter, "data": {"phone": "13800138000", **data}})


def task_for(client, clerk: str, application_id: int) -> dict | None:
    """The clerk's open task of the application (None: nothing waits for them)."""
    return next((t for t in client.get("/api/tasks", clerk).get_json() if t["application_id"] == application_id), None)


def registry_name(services, id_number: str) -> str:
    with services.sessions() as session:
        return session.get(RegistryPerson, id_number).name


def test_the_templates_are_listed_with_the_fields_each_guide_takes(api, analyst, new_user):
    templates = {t["name"]: t for t in api.get("/api/templates", analyst).get_json()}
    assert [(name, t["title"]) for name, t in templates.items()] == [
        ("instant", "秒批"), ("data_comparison", "智能审批"), ("commitment", "告知承诺"), ("window", "综合窗口")]
    fields = {name: {f["name"]: f for f in t["fields"]} for name, t in templates.items()}
    assert fields["instant"]["criteria"]["required"] and "criteria" not in fields["window"]
    assert fields["instant"]["criteria"]["choices"]["min_age"] == "年满N周岁"
    assert "verify_within_days" in fields["commitment"] and "comparisons" in fields["data_comparison"]
    assert fields["window"]["department"]["choices"]["civil_affairs"] == "民政局"
    assert api.get("/api/templates", new_user()).status_code == 403


def test_instant_approves_and_refuses_at_once_with_the_criterions_chinese_message(api, analyst, resident, applicant_for):
    reply = create(api, analyst, "instant", "au_instant", criteria=[{"kind": "min_age", "age": 60},
                                                                   {"kind": "local_household"}])
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert (body["matter"], body["version"], body["template"], body["new_version"]) == ("au_instant", 1, "instant", True)
    assert reply.headers["Location"] == "/api/matters/au_instant/guide"

    elder = resident(66)
    approved = apply(api, applicant_for(elder), "au_instant", id_number=elder)
    assert approved.status_code == 201, approved.get_json()
    assert (approved.get_json()["status"], approved.get_json()["outcome"]) == ("completed", "approve")
    assert [r["rule"] for r in decision_of(api, approved.get_json()["id"])["reasons"]] == ["eligible"]

    younger = resident(45)
    refused = apply(api, applicant_for(younger), "au_instant", id_number=younger).get_json()
    assert (refused["status"], refused["outcome"]) == ("completed", "reject")
    assert refused["result"]["reasons"] == ["申请人未满60周岁，不符合办理条件"]

    elsewhere = resident(70, local=False)
    message = apply(api, applicant_for(elsewhere), "au_instant", id_number=elsewhere).get_json()["result"]["reasons"]
    assert message == ["申请人非本地户籍，不符合办理条件"]


def test_data_comparison_approves_a_match_and_sends_a_mismatch_to_a_clerk(api, services, analyst, resident,
                                                                          applicant_for, new_user):
    assert create(api, analyst, "data_comparison", "au_comparison", department="housing").status_code == 201
    clerk = new_user("clerk", "housing")
    person = resident(40)
    applicant = applicant_for(person)
    matching = apply(api, applicant, "au_comparison", id_number=person, applicant_name=registry_name(services, person))
    assert matching.status_code == 201 and matching.get_json()["outcome"] == "approve", matching.get_json()

    mismatch = apply(api, applicant, "au_comparison", id_number=person, applicant_name="张冒名")
    assert mismatch.status_code == 202, mismatch.get_json()
    body = mismatch.get_json()
    decision = decision_of(api, body["id"])
    assert body["status"] == "waiting" and decision["outcome"] == "manual"
    assert [r["message"] for r in decision["reasons"]] == ["申请人姓名与人口库登记不一致，转人工审核"]
    assert task_for(api, clerk, body["id"])["title"] == "人工核对（比对不一致）"


def test_commitment_approves_at_once_and_the_verification_task_comes_after_n_working_days(clocked, new_user, resident,
                                                                                          applicant_for):
    client, clock, timed = clocked
    analyst = new_user("analyst")
    reply = create(client, analyst, "commitment", "au_commitment", department="culture", verify_within_days=3)
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["guide"]["verify_within_days"] == 3
    clerk = new_user("clerk", "culture")
    person = resident(40)
    applicant = applicant_for(person)
    approved = apply(client, applicant, "au_commitment", id_number=person, commitment="signed")
    assert approved.status_code == 201, approved.get_json()
    body = approved.get_json()
    assert (body["outcome"], body["status"], body["result"]["on_commitment"]) == ("approve", "waiting", True)
    # 3 working days from Mon 28 Sep 2026: 29, 30 Sep, [1–7 Oct National Day], 8 Oct
    assert body["result"]["verification_due"] == "2026-10-08T09:00:00+08:00"
    assert task_for(client, clerk, body["id"]) is None

    clock.set(2026, 10, 8, 9, 30)
    assert body["id"] in timed.work.fire_timers()
    run_queued_work(timed)
    verify = task_for(client, clerk, body["id"])
    assert verify["title"] == "告知承诺核查"
    client.post(f"/api/tasks/{verify['id']}/claim", clerk)
    done = client.post(f"/api/tasks/{verify['id']}/complete", clerk,
                       json={"method": "online", "passed": False, "findings": "经营场所与承诺不符"})
    assert done.status_code == 200, done.get_json()
    final = client.get(f"/api/applications/{body['reference']}", applicant).get_json()
    assert (final["status"], final["outcome"]) == ("completed", "revoked")

    declined = apply(client, applicant, "au_commitment", id_number=person, commitment="declined")
    assert declined.status_code == 202
    assert task_for(client, clerk, declined.get_json()["id"])["title"] == "部门审查（一般程序）"


def test_window_starts_at_the_front_desk(api, analyst, resident, applicant_for, new_user):
    assert create(api, analyst, "window", "au_window", department="housing").status_code == 201
    front_desk = new_user("clerk", "front_desk")
    person = resident(40)
    reply = apply(api, applicant_for(person), "au_window", id_number=person, delivery_method="pickup")
    assert reply.status_code == 202, reply.get_json()
    assert task_for(api, front_desk, reply.get_json()["id"])["title"] == "综合窗口受理"


def test_a_taken_code_is_409(api, analyst):
    assert create(api, analyst, "window", "au_taken").status_code == 201
    again = create(api, analyst, "window", "au_taken")
    assert again.status_code == 409 and again.headers["Content-Type"].startswith("application/problem+json")
    assert "au_taken" in again.get_json()["detail"]
    assert create(api, analyst, "window", "elderly_subsidy").status_code == 409  # a shipped matter's code


def test_a_bad_guide_is_422_naming_every_field_and_creates_nothing(api, services, analyst):
    bad = {"code": "Bad-Code", "type": "许可", "legal_basis": "", "department": "nowhere", "legal_days": 5,
           "promised_days": 9, "materials": [{"name": "居民身份证", "source": "somewhere"}],
           "criteria": [{"kind": "min_age"}]}
    reply = api.post("/api/templates/instant/matters", analyst, json=bad)
    assert reply.status_code == 422, reply.get_json()
    errors = reply.get_json()["errors"]
    assert set(errors) >= {"code", "name", "type", "legal_basis", "department", "promised_days",
                           "materials.0.source", "criteria.0.age"}, errors
    assert errors["name"] == ["必填"] and "不得超过法定办结时限" in errors["promised_days"][0]
    assert "未知的实施部门「nowhere」" in errors["department"][0]
    no_criteria = create(api, analyst, "instant", "au_no_criteria")
    assert no_criteria.status_code == 422 and "criteria" in no_criteria.get_json()["errors"]
    wrong_template = create(api, analyst, "window", "au_wrong_field", criteria=[{"kind": "alive"}])
    assert "仅「秒批」模板使用" in wrong_template.get_json()["errors"]["criteria"][0]
    typed = api.post("/api/templates/window/matters", analyst, json={**GUIDE, "code": "au_typed", "legal_days": "20天"})
    assert typed.status_code == 422 and "legal_days" in typed.get_json()["errors"]
    assert api.post("/api/templates/nothing/matters", analyst, json={**GUIDE, "code": "au_x"}).status_code == 404
    with services.sessions() as session:
        assert current_definition(session, "au_no_criteria", required=False) is None


def test_editing_a_guide_is_a_new_version_with_the_same_files_and_an_unchanged_edit_is_not(api, services, analyst):
    assert create(api, analyst, "instant", "au_edited", criteria=[{"kind": "min_age", "age": 18}]).status_code == 201
    path = "/api/matters/au_edited/guide"
    before = api.get(path, analyst).get_json()
    assert (before["version"], before["template"], before["guide"]["name"]) == (1, "instant", "测试事项")

    changes = {"name": "测试事项（修订）", "promised_days": 3, "conditions": ["年满18周岁"], "fee": "按标准收取",
               "materials": [{"name": "户口簿", "source": "population_registry"}]}
    edited = api.http.patch(path, headers=api.headers(analyst), json=changes)
    assert edited.status_code == 200, edited.get_json()
    body = edited.get_json()
    assert (body["version"], body["new_version"]) == (2, True)
    assert body["guide"]["name"] == "测试事项（修订）" and body["guide"]["promised_days"] == 3
    matter = api.get("/api/matters/au_edited").get_json()
    assert (matter["name"], matter["promised_days"], matter["version"]) == ("测试事项（修订）", 3, 2)
    with services.sessions() as session:
        v1, v2 = session.scalars(select(ServiceDefinition).where(ServiceDefinition.matter_code == "au_edited")
                                 .order_by(ServiceDefinition.version)).all()
        assert (v2.bpmn, v2.ruleset, v2.form) == (v1.bpmn, v1.ruleset, v1.form)
        assert v2.policy["materials"] == [{"name": "户口簿", "required": True, "source": "population_registry"}]
        assert (v1.policy["promised_days"], v2.policy["promised_days"]) == (5, 3)
        deployed = session.scalars(select(Event).where(Event.kind == "definition.deployed")).all()
        assert [(e.actor, e.data["version"]) for e in deployed if e.data["matter"] == "au_edited"] == [
            (analyst, 1), (analyst, 2)]

    same = api.http.patch(path, headers=api.headers(analyst), json=changes)
    assert same.status_code == 200 and (same.get_json()["version"], same.get_json()["new_version"]) == (2, False)
    empty = api.http.patch(path, headers=api.headers(analyst), json={})
    assert (empty.get_json()["version"], empty.get_json()["new_version"]) == (2, False)


def test_an_edit_is_checked_like_a_new_guide(api, analyst):
    assert create(api, analyst, "window", "au_checked").status_code == 201
    path = "/api/matters/au_checked/guide"
    late = api.http.patch(path, headers=api.headers(analyst), json={"promised_days": 30})
    assert late.status_code == 422 and "promised_days" in late.get_json()["errors"]
    fixed = api.http.patch(path, headers=api.headers(analyst), json={"code": "au_other", "criteria": []})
    assert fixed.status_code == 422 and set(fixed.get_json()["errors"]) == {"code", "criteria"}
    shipped = api.http.patch("/api/matters/elderly_subsidy/guide", headers=api.headers(analyst), json={"fee": 0})
    assert shipped.status_code == 409 and "processes/catalogue.yaml" in shipped.get_json()["detail"]
    missing = api.http.patch("/api/matters/au_nowhere/guide", headers=api.headers(analyst), json={"fee": 0})
    assert missing.status_code == 404
