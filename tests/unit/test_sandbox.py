"""The sandbox: what uploaded BPMN may run, at deploy time and at run time."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.errors import Problem
from engine.sandbox import (
    MAX_RANGE,
    SandboxScriptEngine,
    SandboxViolation,
    check_script,
    check_specs,
    evaluate_expression,
)
from forms.identifiers import make_resident_id

CLOCK = lambda: datetime(2024, 3, 1, 12, 0)  # noqa: E731 -- naive: taken as local time

REFUSED_EXPRESSIONS = [
    "__import__('os')",
    "().__class__",
    "().__class__.__base__.__subclasses__()",
    "open('/etc/passwd')",
    "exec('1')",
    "eval('1')",
    "getattr(x, 'y')",
    "lambda: 1",
    "(lambda: 0).__globals__",
    "x.__dict__",
    "globals()",
    "locals()",
    "vars()",
    "type(x)",
    "10 ** 10 ** 10",
    "2 ** 5000",
    "f'{x.__class__}'",
    "f'{x:{y.__class__}}'",
    "f'{x:>999999999}'",
    "[c for c in ().__class__.__mro__]",
    "(x := 1)",
    "{1, 2}",
    "{c for c in x}",
    "[*x]",
    "x.format(1)",
    "x.__len__()",
    "_secret",
    "b'bytes'",
    "x[0](1)",
    "dict.__subclasses__()",
    "1 << 10000000",
    "print",
    "'x' if x else breakpoint()",
]

REFUSED_SCRIPTS = [
    "import os",
    "from os import path",
    "while True:\n    pass",
    "def f():\n    return 1",
    "class A:\n    pass",
    "try:\n    x = 1\nexcept Exception:\n    pass",
    "with x:\n    pass",
    "raise ValueError()",
    "del x.attr",
    "del len",
    "global x",
    "x.attr = 1",
    "len = 3",
    "x: int = 1",
    "for c in ().__class__.__mro__:\n    pass",
    "a = 1\nb = open('/etc/passwd')",
]


@pytest.mark.parametrize("source", REFUSED_EXPRESSIONS)
def test_refused_expressions(source):
    with pytest.raises(SandboxViolation) as caught:
        check_script(source, "eval")
    assert str(caught.value) == caught.value.reason
    with pytest.raises(SandboxViolation):
        check_script(source, "exec")


@pytest.mark.parametrize("source", REFUSED_SCRIPTS)
def test_refused_scripts(source):
    with pytest.raises(SandboxViolation):
        check_script(source, "exec")


def test_a_refusal_says_which_line():
    with pytest.raises(SandboxViolation) as caught:
        check_script("a = 1\nb = open('/etc/passwd')", "exec")
    assert caught.value.line == 2
    assert "open" in caught.value.reason and "line 2" in caught.value.reason


def test_syntax_errors_and_oversized_code_are_refused():
    with pytest.raises(SandboxViolation, match="syntax error"):
        check_script("a ==", "eval")
    with pytest.raises(SandboxViolation, match="longer than"):
        check_script("1 + " * 5000 + "1", "eval")
    with pytest.raises(SandboxViolation):
        check_script("-" * 5000 + "1", "eval")


def test_statements_are_refused_in_an_expression():
    with pytest.raises(SandboxViolation):
        check_script("x = 1", "eval")


@pytest.mark.parametrize("expression, data, expected", [
    ("decision['outcome'] == 'approve'", {"decision": {"outcome": "approve"}}, True),
    ("decision.get('outcome') in ('approve', 'manual')", {"decision": {"outcome": "reject"}}, False),
    ("amount is None or amount > 3", {"amount": None}, True),
    ("sorted(v for k, v in d.items() if k.startswith('a'))", {"d": {"a1": 3, "a2": 1, "b": 0}}, [1, 3]),
    ("{k: v * 2 for k, v in d.items()}", {"d": {"a": 1}}, {"a": 2}),
    ("f'{amount:.2f} CNY'", {"amount": 12.5}, "12.50 CNY"),
    ("name.strip().upper()[:3]", {"name": "  wang fang "}, "WAN"),
    ("max(len(x), 2) ** 2", {"x": "abc"}, 9),
    ("sum(range(4))", {}, 6),
    ("'a' if n % 2 else 'b'", {"n": 3}, "a"),
])
def test_allowed_expressions_evaluate(expression, data, expected):
    check_script(expression, "eval")
    assert evaluate_expression(expression, data) == expected


@pytest.mark.parametrize("expression, expected", [
    ("today()", "2024-03-01"),
    ("now()", "2024-03-01T12:00:00"),
    ("parse_date('2024-02-29')", "2024-02-29"),
    ("add_days(today(), 30)", "2024-03-31"),
    ("add_days('2024-03-01', -1)", "2024-02-29"),
    ("days_between('2024-01-01', today())", 60),
    ("age_on('2000-03-02', today())", 23),
    ("age_on('2000-03-01', today())", 24),
    ("year_of(today())", 2024),
    ("month_of('2024-12-31')", 12),
])
def test_date_helpers_use_the_injected_clock(expression, expected):
    assert evaluate_expression(expression, {}, clock=CLOCK) == expected


def test_today_is_the_local_date_of_an_aware_clock():
    moment = datetime(2024, 3, 1, 23, 30, tzinfo=timezone.utc)
    assert evaluate_expression("today()", {}, clock=lambda: moment) == moment.astimezone().date().isoformat()


def test_age_from_id_counts_full_years_from_the_id_birth_date():
    id_number = make_resident_id("110105", date(1944, 3, 2), "123")
    assert evaluate_expression("age_from_id(i)", {"i": id_number}, clock=CLOCK) == 79
    with pytest.raises(ValueError):
        evaluate_expression("age_from_id('123')", {}, clock=CLOCK)


def test_date_helpers_refuse_bad_dates():
    with pytest.raises(ValueError):
        evaluate_expression("parse_date('2023-02-29')", {})
    with pytest.raises(TypeError):
        evaluate_expression("add_days('2024-01-01', 1.5)", {})


def test_run_time_limits():
    with pytest.raises(SandboxViolation):
        evaluate_expression(f"range({MAX_RANGE + 1})", {})
    with pytest.raises(SandboxViolation):
        evaluate_expression("'x' * n", {"n": 10 ** 12})
    with pytest.raises(SandboxViolation):
        evaluate_expression("n ** n", {"n": 10 ** 6})
    doubling = "s = 'ab'\nfor i in range(100):\n    s += s"
    check_script(doubling, "exec")  # passes the check, but not the run
    with pytest.raises(SandboxViolation):
        SandboxScriptEngine().environment.execute(doubling, {})


def test_scripts_update_task_data_without_leaking_functions():
    data = {"decision": {"values": {"amount": 100}}, "untouched": 1}
    engine = SandboxScriptEngine(clock=CLOCK)
    engine.environment.execute(
        "amount = decision['values']['amount'] * 12\n"
        "decision['values']['seen'] = True\n"
        "stamp = today()\n"
        "size = len\n"
        "for i, k in enumerate(['a', 'b']):\n"
        "    total = i\n", data)
    assert data == {"decision": {"values": {"amount": 100, "seen": True}}, "untouched": 1,
                    "amount": 1200, "stamp": "2024-03-01", "i": 1, "k": "b", "total": 1}


# --- running BPMN -----------------------------------------------------------------------

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')

PROCESS = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="Defs" targetNamespace="http://example.org/onewindow">
  <bpmn:process id="Sample" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_decide"/>
    <bpmn:serviceTask id="Task_decide" name="Decide">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="rules.decide" resultVariable="decision">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="ruleset" type="str" value="'x'"/>
            <spiffworkflow:parameter id="months" type="int" value="months_wanted * 2"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_decide" targetRef="Task_compute"/>
    <bpmn:scriptTask id="Task_compute" name="Compute">
      <bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing>
      <bpmn:script>SCRIPT</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Task_compute" targetRef="Gateway_outcome"/>
    <bpmn:exclusiveGateway id="Gateway_outcome">
      <bpmn:incoming>Flow_3</bpmn:incoming>
      <bpmn:outgoing>Flow_approve</bpmn:outgoing><bpmn:outgoing>Flow_reject</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="Flow_approve" sourceRef="Gateway_outcome" targetRef="Task_approved">
      <bpmn:conditionExpression>decision['outcome'] == 'approve'</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_reject" sourceRef="Gateway_outcome" targetRef="Task_rejected">
      <bpmn:conditionExpression>CONDITION</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:scriptTask id="Task_approved">
      <bpmn:incoming>Flow_approve</bpmn:incoming><bpmn:outgoing>Flow_4</bpmn:outgoing>
      <bpmn:script>outcome = 'approve'</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:scriptTask id="Task_rejected">
      <bpmn:incoming>Flow_reject</bpmn:incoming><bpmn:outgoing>Flow_5</bpmn:outgoing>
      <bpmn:script>outcome = 'reject'</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Task_approved" targetRef="EndEvent_1"/>
    <bpmn:sequenceFlow id="Flow_5" sourceRef="Task_rejected" targetRef="EndEvent_1"/>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_4</bpmn:incoming><bpmn:incoming>Flow_5</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""
GOOD_SCRIPT = "amount = decision['values']['amount'] * 12\nstart = today()"
GOOD_CONDITION = "decision['outcome'] == 'reject'"


def _bpmn(script: str = GOOD_SCRIPT, condition: str = GOOD_CONDITION) -> str:
    return PROCESS.replace("SCRIPT", script).replace("CONDITION", condition)


def _parse(bpmn: str, process_id: str = "Sample", filename: str = "sample.bpmn"):
    parser = SpiffBpmnParser()
    xml_parser = etree.XMLParser(resolve_entities=False, no_network=True)
    parser.add_bpmn_xml(etree.fromstring(bpmn.encode("utf-8"), xml_parser), filename)
    return parser.get_spec(process_id), parser.get_subprocess_specs(process_id)


class Services:
    """Records calls; answers rules.decide with a fixed decision."""

    def __init__(self, outcome: str = "approve", error: Exception | None = None) -> None:
        self.calls: list[tuple[str, dict, dict]] = []
        self.outcome = outcome
        self.error = error

    def __call__(self, operation: str, params: dict, data: dict):
        self.calls.append((operation, params, dict(data)))
        if self.error is not None:
            raise self.error
        return {"outcome": self.outcome, "values": {"amount": 150}}


def _run(bpmn: str, services=None, data: dict | None = None) -> BpmnWorkflow:
    spec, subprocess_specs = _parse(bpmn)
    engine = SandboxScriptEngine(services=services, clock=CLOCK)
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
    workflow.get_tasks()[0].data.update(data or {"months_wanted": 3})
    workflow.do_engine_steps()
    return workflow


@pytest.mark.parametrize("outcome", ["approve", "reject"])
def test_a_process_runs_service_script_and_gateway_in_the_sandbox(outcome):
    services = Services(outcome)
    workflow = _run(_bpmn(), services)
    assert workflow.is_completed()
    assert services.calls == [("rules.decide", {"ruleset": "x", "months": 6}, {"months_wanted": 3})]
    data = workflow.data
    assert data["decision"] == {"outcome": outcome, "values": {"amount": 150}}
    assert data["amount"] == 1800 and data["start"] == "2024-03-01"
    assert data["outcome"] == outcome
    assert not any(callable(value) for value in data.values())


def test_the_uploaded_process_passes_check_specs():
    spec, subprocess_specs = _parse(_bpmn())
    assert check_specs([spec, *subprocess_specs.values()], "sample.bpmn") == []


def test_a_malicious_script_task_is_named_at_deploy_time():
    spec, subprocess_specs = _parse(_bpmn(script="x = ().__class__.__base__.__subclasses__()"))
    problems = check_specs([spec, *subprocess_specs.values()], "sample.bpmn")
    assert [(p.file, p.element) for p in problems] == [("sample.bpmn", "Task_compute")]
    assert isinstance(problems[0], Problem) and "'.__subclasses__' is not allowed" in problems[0].reason


def test_a_malicious_gateway_condition_is_named_at_deploy_time():
    spec, subprocess_specs = _parse(_bpmn(condition="__import__('os').system('id') == 0"))
    problems = check_specs([spec, *subprocess_specs.values()], "sample.bpmn")
    assert [(p.file, p.element) for p in problems] == [("sample.bpmn", "Gateway_outcome")]
    assert problems[0].reason.startswith("condition of the flow to Task_rejected: line 1:")


def test_a_malicious_service_parameter_is_named_at_deploy_time():
    spec, subprocess_specs = _parse(_bpmn().replace("value=\"'x'\"", "value=\"open('/etc/passwd')\""))
    problems = check_specs([spec, *subprocess_specs.values()], "sample.bpmn")
    assert [p.element for p in problems] == ["Task_decide"]
    assert "ruleset" in problems[0].reason


def test_a_malicious_script_is_also_refused_at_run_time():
    with pytest.raises(WorkflowTaskException) as caught:
        _run(_bpmn(script="amount = 1\nx = ().__class__"), Services())
    assert isinstance(caught.value.__cause__, SandboxViolation)
    assert caught.value.line_number == 2 and caught.value.error_type == "SandboxViolation"


def test_a_malicious_condition_is_also_refused_at_run_time():
    with pytest.raises(WorkflowTaskException) as caught:
        _run(_bpmn(condition="().__class__ is None"), Services("reject"))
    assert isinstance(caught.value.__cause__, SandboxViolation)


def test_errors_in_user_code_carry_the_line():
    with pytest.raises(WorkflowTaskException) as caught:
        _run(_bpmn(script="a = 1\nb = a / 0"), Services())
    assert caught.value.line_number == 2 and caught.value.error_line == "b = a / 0"
    assert caught.value.error_type == "ZeroDivisionError"
    with pytest.raises(WorkflowTaskException) as caught:
        _run(_bpmn(script="a = missing"), Services())
    assert caught.value.error_type == "NameError"
    with pytest.raises(WorkflowTaskException) as caught:
        _run(_bpmn(script="a = {}[0]"), Services())
    assert caught.value.error_type == "KeyError"


class Deferred(Exception):
    defer = True


def test_a_deferring_service_exception_propagates_unchanged():
    error = Deferred("slow source")
    with pytest.raises(Deferred) as caught:
        _run(_bpmn(), Services(error=error))
    assert caught.value is error


def test_other_service_exceptions_are_wrapped():
    with pytest.raises(WorkflowTaskException) as caught:
        _run(_bpmn(), Services(error=LookupError("unknown operation")))
    assert isinstance(caught.value.__cause__, LookupError)
    assert "rules.decide" in str(caught.value)


def test_a_service_task_without_services_is_a_clear_error():
    with pytest.raises(WorkflowTaskException, match="no services"):
        _run(_bpmn())


# --- every other place SpiffWorkflow keeps code -------------------------------------------

FIXTURES = Path(__file__).parent / "fixtures" / "sandbox"


def _parse_files(bpmn: str, process_id: str, dmn: str | None = None):
    parser = SpiffBpmnParser()
    xml_parser = etree.XMLParser(resolve_entities=False, no_network=True)
    parser.add_bpmn_xml(etree.fromstring((FIXTURES / bpmn).read_bytes(), xml_parser), bpmn)
    if dmn is not None:
        parser.add_dmn_xml(etree.fromstring(dmn.encode("utf-8"), xml_parser), "grade.dmn")
    return parser.get_spec(process_id), parser.get_subprocess_specs(process_id)


def test_check_specs_finds_code_everywhere_including_subprocesses():
    spec, subprocess_specs = _parse_files("every_code_place.bpmn", "Everything")
    problems = check_specs([spec, *subprocess_specs.values()], "every_code_place.bpmn")
    found = {(p.element, p.reason.split(":")[0]) for p in problems}
    assert found == {
        ("Task_pre", "prescript"), ("Task_pre", "postscript"),
        ("Timer_wait", "DurationTimerEventDefinition expression"),
        ("Cond_wait", "ConditionalEventDefinition expression"),
        ("Task_multi", "cardinality"), ("Task_multi", "condition"), ("Task_loop", "condition"),
        ("Sub_script", "script"),
    }
    assert all(p.file == "every_code_place.bpmn" and "__class__" in p.reason for p in problems)


def test_decision_tables_run_and_are_checked():
    clean = (FIXTURES / "grade.dmn").read_text(encoding="utf-8")
    spec, subprocess_specs = _parse_files("business_rule.bpmn", "P", clean)
    assert check_specs([spec, *subprocess_specs.values()], "business_rule.bpmn") == []
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=SandboxScriptEngine())
    workflow.get_tasks()[0].data["age"] = 85
    workflow.do_engine_steps()
    assert workflow.data["grade"] == "old"
    for entry in ("<text>&lt; ().__class__</text>", "<text>? &lt; 80 and open('x')</text>"):
        bad = clean.replace("<text>&lt; 80</text>", entry)
        spec, subprocess_specs = _parse_files("business_rule.bpmn", "P", bad)
        problems = check_specs([spec, *subprocess_specs.values()], "business_rule.bpmn")
        assert [(p.element, p.reason.split(":")[0]) for p in problems] == [
            ("Task_rules", "decision table T rule R2")]


# --- harmless statements and methods --------------------------------------------------------

def test_del_of_a_name_or_subscript_removes_it_from_the_task_data():
    data = {"draft": 1, "decision": {"note": "x", "outcome": "approve"}, "keep": 2}
    SandboxScriptEngine().environment.execute("del draft\ndel decision['note']\ntemp = 1\ndel temp", data)
    assert data == {"decision": {"outcome": "approve"}, "keep": 2}


def test_isoformat_is_a_safe_method():
    check_script("d.isoformat()", "eval")
    assert evaluate_expression("d.isoformat()", {"d": date(2024, 3, 1)}) == "2024-03-01"


def test_a_decision_entry_is_checked_as_the_dmn_engine_will_evaluate_it():
    """One match-expression path (rules.dmn.match_expression): the sandbox built its own in
    eval mode where DMNEngine parses in exec mode, so `x = 1` was checked as `agex = 1` (a
    harmless assignment) and deployed, while the engine evaluates `(age) == (x = 1)`."""
    clean = (FIXTURES / "grade.dmn").read_text(encoding="utf-8")
    spec, subprocess_specs = _parse_files("business_rule.bpmn", "P", clean.replace("<text>&lt; 80</text>",
                                                                                  "<text>x = 1</text>"))
    problems = check_specs([spec, *subprocess_specs.values()], "business_rule.bpmn")
    assert [(p.element, p.reason.split(":")[0]) for p in problems] == [("Task_rules", "decision table T rule R2")]
