"""Task forms: what completes a human task, checked the same way for every caller."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from engine.definitions import task_forms
from engine.people.assignment import TaskAssignment, assignment_of
from engine.definitions.bpmn import parse_process
from engine.errors import InvalidInput
from engine.operations import check_service_tasks
from engine.definitions.task_forms import FORMS_DIR, RULES, TASK_FORMS, check_task_forms
from forms import load_form


def errors(name: str, answer: dict) -> dict:
    with pytest.raises(InvalidInput) as caught:
        task_forms.validate_answer(name, answer)
    return caught.value.errors


def test_review_needs_a_reason_to_reject_and_refuses_unknown_fields():
    assert task_forms.validate_answer("review", {"outcome": "approve"}) == {"outcome": "approve", "comment": ""}
    assert set(errors("review", {"outcome": "reject"})) == {"comment"}
    assert set(errors("review", {"outcome": "maybe", "extra": 1})) == {"outcome", "extra"}


def test_intake_supplement_lists_the_missing_materials_and_refusal_states_why():
    assert set(errors("intake", {"outcome": "supplement"})) == {"missing_materials"}
    assert set(errors("intake", {"outcome": "refuse"})) == {"comment"}
    cleaned = task_forms.validate_answer("intake", {"outcome": "supplement", "missing_materials": ["申请书"]})
    assert cleaned["missing_materials"] == ["申请书"]


def test_delivery_by_mail_needs_courier_tracking_and_address_pickup_needs_who():
    assert set(errors("delivery", {"method": "mail"})) == {"courier", "tracking_no", "address"}
    assert set(errors("delivery", {"method": "pickup"})) == {"collected_by"}
    assert set(errors("delivery", {"method": "mail", "courier": "EMS", "tracking_no": "no spaces!",
                                   "address": "海口"})) == {"tracking_no"}
    assert task_forms.validate_answer("delivery", {"method": "pickup", "collected_by": "王五"})["method"] == "pickup"


def test_not_an_object_is_a_form_error():
    assert errors("supplement", ["x"]) == {"_schema": ["表单数据必须是对象 form data must be an object"]}


def test_supplement_materials_are_a_list_of_named_references_each_error_located():
    cleaned = task_forms.validate_answer("supplement", {"materials": [{"name": " 申请书 ", "reference": "upload-1"}]})
    assert cleaned == {"materials": [{"name": "申请书", "reference": "upload-1"}], "note": ""}
    assert errors("supplement", {"materials": []}) == {"materials": ["必填 required"]}
    assert errors("supplement", {"materials": [{"name": "申请书", "reference": "u"}] * 51}) == {
        "materials": ["最多50项 must have at most 50 items"]}
    assert set(errors("supplement", {"materials": [{"name": "申请书"}, {"name": "x" * 201, "reference": "u"}]})) == {
        "materials.0.reference", "materials.1.name"}


def test_optional_fields_left_blank_hold_their_defaults_and_an_amount_stays_exact():
    assert task_forms.validate_answer("intake", {"outcome": "accept", "comment": "  "}) == {
        "outcome": "accept", "comment": "", "missing_materials": []}
    assert task_forms.validate_answer("review", {"outcome": "approve", "amount": "200.00"})["amount"] == 200
    assert task_forms.validate_answer("review", {"outcome": "approve", "amount": 200.5})["amount"] == 200.5
    assert errors("review", {"outcome": "approve", "amount": 100.001}) == {
        "amount": ["最多保留2位小数 at most 2 decimal places"]}
    assert set(errors("review", {"outcome": "approve", "amount": -1})) == {"amount"}


def test_a_verification_states_passed_or_not():
    assert errors("verification", {"method": "online"}) == {"passed": ["必填 required"]}


def test_every_task_form_is_a_form_js_schema_the_applicant_forms_compiler_accepts():
    assert set(TASK_FORMS) == {"review", "intake", "supplement", "delivery", "verification"} >= set(RULES)
    for name, task_form in TASK_FORMS.items():
        schema = json.loads((FORMS_DIR / f"{name}.form.json").read_text(encoding="utf-8"))
        assert schema["type"] == "default" and schema["id"] == name
        assert load_form(schema, data_choices=True).fields == task_form.form.fields


def test_lanes_give_the_candidate_role_and_department():
    def lane(name):
        return SimpleNamespace(lane=name, extensions={})

    assert assignment_of(lane("applicant"), "housing") == TaskAssignment("applicant", "applicant")
    assert assignment_of(lane("department"), "housing") == TaskAssignment("clerk", "housing")
    assert assignment_of(lane(None), "housing") == TaskAssignment("clerk", "housing")
    assert assignment_of(lane("front_desk"), "housing") == TaskAssignment("clerk", "front_desk")


def test_camunda_attributes_win_over_the_lane():
    spec = SimpleNamespace(lane="front_desk", extensions={"camunda": {
        "candidateGroups": "housing", "candidateUsers": "li, wang", "assignee": "li", "formKey": "intake"}})
    assert assignment_of(spec, "civil_affairs") == TaskAssignment("clerk", "housing", ("li", "wang"), "li")
    assert task_forms.form_name(spec) == "intake"


def test_describe_gives_the_form_js_schema_with_chinese_labels_and_the_engine_values():
    described = task_forms.describe("supplement")
    materials = next(c for c in described["components"] if c.get("path") == "materials")
    assert materials["type"] == "dynamiclist" and materials["isRepeating"] is True
    assert [c["key"] for c in materials["components"]] == ["name", "reference"]
    outcome = next(c for c in task_forms.describe("intake")["components"] if c.get("key") == "outcome")
    assert [v["value"] for v in outcome["values"]] == ["accept", "refuse", "supplement"]
    assert outcome["label"] == "受理结果" and outcome["values"][1]["label"] == "不予受理"
    described["components"].clear()  # a copy: the registry keeps its own
    assert task_forms.describe("supplement")["components"]


BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_odd"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="taskForm" value="interview"/></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:serviceTask id="Task_mail"><bpmn:extensionElements>
      <spiffworkflow:serviceTaskOperator id="smtp.send"/></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Task_odd"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_odd" targetRef="Task_mail"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Task_mail" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_unknown_task_forms_and_service_operations_are_refused_at_deploy_naming_the_element():
    parsed = parse_process(BPMN, "odd.bpmn")
    problems = check_task_forms([parsed.spec], "odd.bpmn") + check_service_tasks([parsed.spec], "odd.bpmn", None)
    assert [(p.element, p.reason.split(";")[0]) for p in problems] == [
        ("Task_odd", "unknown taskForm 'interview'"), ("Task_mail", "unknown service operation 'smtp.send'")]


def test_a_failed_verification_states_its_findings():
    assert set(errors("verification", {"method": "site_visit", "passed": False})) == {"findings"}
    assert set(errors("verification", {"method": "phone", "passed": True})) == {"method"}
    assert task_forms.validate_answer("verification", {"method": "online", "passed": True})["passed"] is True
