"""Hostile or broken uploads: each refused with 400 naming the problem, nothing deployed,
and the XML parser never resolves an entity or fetches anything."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.definitions.catalogue import read_catalogue, upload_for
from engine.store.models import ServiceDefinition

ELDERLY = upload_for(next(e for e in read_catalogue() if e["code"] == "elderly_subsidy"))
BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
                            for i in range(1, 10))
                  + ']><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol9;</bpmn:definitions>')
XXE_FILE = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
XXE_HTTP = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY % x SYSTEM "http://127.0.0.1:9/evil.dtd"> %x;]><d/>'
NO_START = ELDERLY.bpmn.replace(
    '<bpmn:startEvent id="StartEvent_submitted" name="申请已提交">\n      <bpmn:outgoing>Flow_1</bpmn:outgoing>\n    </bpmn:startEvent>', "")
DEAD_END_GATEWAY = ELDERLY.bpmn.replace('sourceRef="Gateway_review"', 'sourceRef="Gateway_outcome"')
UNDEPLOYED_CALL = ELDERLY.bpmn.replace(
    '<bpmn:userTask id="Task_review" name="人工审核（民政）">', '<bpmn:callActivity id="Task_review" calledElement="not_deployed">'
).replace("</bpmn:userTask>", "</bpmn:callActivity>")
LAMBDA_SCRIPT = ELDERLY.bpmn.replace("outcome = 'reject'\nresult = {}", "f = (lambda: 0).__globals__")


def upload(**changes) -> dict:
    return {"matter": "elderly_subsidy", "bpmn": ELDERLY.bpmn, "ruleset": ELDERLY.ruleset, "form": ELDERLY.form,
            **changes}


def count_definitions(services) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(ServiceDefinition))


@pytest.mark.parametrize("changes, file, element, words", [
    ({"bpmn": XXE_FILE}, "process.bpmn", "", "DOCTYPE"),
    ({"bpmn": XXE_HTTP}, "process.bpmn", "", "DOCTYPE"),
    ({"bpmn": BILLION_LAUGHS}, "process.bpmn", "", "DOCTYPE"),
    ({"bpmn": "<x/>" + " " * 1_000_001}, "process.bpmn", "", "larger than"),
    ({"bpmn": NO_START}, "process.bpmn", "elderly_subsidy", "start event"),
    ({"bpmn": DEAD_END_GATEWAY}, "process.bpmn", "Gateway_review", "no outgoing sequence flow"),
    ({"bpmn": UNDEPLOYED_CALL}, "process.bpmn", "Task_review", "not_deployed"),
    ({"bpmn": LAMBDA_SCRIPT}, "process.bpmn", "Task_refuse", "__globals__"),
    ({"dmn": [XXE_FILE]}, "decision1.dmn", "", "DOCTYPE"),
    ({"ruleset": "a: " + "[" * 50_000}, "ruleset.yaml", "", "nested too deeply"),
    ({"ruleset": "# " + "x" * 200_001}, "ruleset.yaml", "", "larger than"),
    ({"form": "[" * 50_000}, "form.json", "", "nested too deeply"),
    ({"form": '{"type": "default"'}, "form.json", "", "invalid JSON"),
], ids=["xxe-file", "xxe-http", "billion-laughs", "oversized-bpmn", "no-start", "gateway-dead-end",
        "undeployed-call", "lambda-script", "dmn-xxe", "deep-yaml", "oversized-ruleset", "deep-json", "broken-form"])
def test_hostile_upload_is_refused_naming_the_problem(api, services, new_user, changes, file, element, words):
    before = count_definitions(services)
    reply = api.post("/api/definitions", new_user("analyst"), json=upload(**changes))
    assert reply.status_code == 400, reply.get_json()
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    problem = reply.get_json()["problems"][0]
    assert problem["file"] == file and problem["element_id"] == element
    assert words.lower() in problem["reason"].lower(), problem
    assert count_definitions(services) == before


def test_a_request_over_the_size_limit_is_413(api, new_user):
    reply = api.post("/api/definitions", new_user("analyst"), json=upload(bpmn="x" * (5 * 1024 * 1024)))
    assert reply.status_code == 413
    assert reply.headers["Content-Type"].startswith("application/problem+json")
