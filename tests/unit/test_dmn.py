"""DMN decision tables judged into the same Decision as a rule set (rules/dmn.py), their
lint, and their place in a deployment (a business-rule task, engine/definitions/bpmn.py, runtime.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.definitions.bpmn import DecisionTableTask, ProcessProblem, parse_decision, parse_process
from engine.running.workflow import new_workflow, spec_to_json
from engine.definitions.catalogue import read_catalogue, upload_for
from engine.people.assignment import Staffing
from engine.definitions.bpmn import DMN_NAMESPACES
from engine.people.organisation import read_departments
from engine.definitions.versions import check_upload
from engine.errors import DeploymentRefused
from engine.sandbox import FUNCTION_NAMES, evaluate_expression
from rules import Fact, RuleEvaluationError, RuleSetError, load_ruleset
from rules.dmn import evaluate_table, load_table

ROOT = Path(__file__).resolve().parents[2]
PENSION = next(e for e in read_catalogue() if e["code"] == "resident_pension")
FACTS = """matter: t
table: d
facts:
  age:   {type: integer, label: 年龄, source: form}
  local: {type: boolean, label: 本地户籍, source: population_registry, key: id_number, field: household_local}
"""
DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def dmn(rows: list[tuple], inputs=("age", "local"), outputs=("outcome", "message"), hit_policy="COLLECT") -> str:
    """A decision table document: rows are (id, input entries..., output entries...)."""
    head = "".join(f'<input id="in_{i}"><inputExpression><text>{name}</text></inputExpression></input>'
                   for i, name in enumerate(inputs))
    head += "".join(f'<output id="out_{i}" name="{name}"/>' for i, name in enumerate(outputs))
    body = ""
    for row_id, *cells in rows:
        entries = cells[:len(inputs)]
        results = cells[len(inputs):]
        body += f'<rule id="{row_id}">' + "".join(
            f'<inputEntry id="{row_id}_i{n}"><text>{text}</text></inputEntry>' for n, text in enumerate(entries)) + "".join(
            f'<outputEntry id="{row_id}_o{n}"><text>{text}</text></outputEntry>' for n, text in enumerate(results)) + "</rule>"
    return (f'<definitions xmlns="{DMN_NS}" id="defs" namespace="t"><decision id="d" name="d">'
            f'<decisionTable id="table" hitPolicy="{hit_policy}">{head}{body}</decisionTable></decision></definitions>')


ROWS = [("young", "&lt; 60", "-", '"reject"', '"too young"'),
        ("elsewhere", "-", "False", '"reject"', '"not local"'),
        ("ok", "&gt;= 60", "True", '"approve"', '"eligible"')]


def table(rows=ROWS, facts=FACTS, **shape):
    _, parsed = parse_decision(dmn(rows, **shape), "t.dmn")
    return load_table(parsed, load_ruleset(facts), FUNCTION_NAMES, "t.dmn")


def facts(**values) -> dict[str, Fact]:
    return {name: Fact(name, value, "test", "2025-01-01T00:00:00+00:00") for name, value in values.items()}


def judge(rules, **values):
    return evaluate_table(rules, facts(**values), evaluate_expression)


def rule_ids(decision) -> list[str]:
    return [reason.rule for reason in decision.reasons]


def test_matching_rows_are_the_reasons_and_the_most_severe_wins():
    rules = table()
    assert (judge(rules, age=65, local=True).outcome, rule_ids(judge(rules, age=65, local=True))) == ("approve", ["ok"])
    rejected = judge(rules, age=50, local=False)
    assert rejected.outcome == "reject" and rule_ids(rejected) == ["young", "elsewhere"]
    assert [r.message for r in rejected.reasons] == ["too young", "not local"]


def test_a_fact_that_cannot_be_verified_skips_its_rows_and_means_manual():
    rules = table()
    unknown = {**facts(age=65), "local": Fact("local", None, "population_registry", "t", "unavailable")}
    decision = evaluate_table(rules, unknown, evaluate_expression)
    assert decision.outcome == "manual" and rule_ids(decision) == ["missing:local"]
    assert "population_registry: unavailable" in decision.reasons[0].message
    still_young = judge(rules, age=40)  # a reject row on a verified fact still decides
    assert still_young.outcome == "reject" and rule_ids(still_young) == ["young", "missing:local"]


def test_the_decision_records_facts_and_a_checksum_of_table_and_facts():
    decision = judge(table(), age=65, local=True)
    stored = decision.to_dict()
    assert stored["facts"]["local"]["value"] is True and stored["ruleset"]["matter"] == "t"
    changed = table(rows=[*ROWS[:2], ("ok", "&gt;= 61", "True", '"approve"', '"eligible"')])
    assert len(decision.ruleset_checksum) == 64
    assert judge(changed, age=65, local=True).ruleset_checksum != decision.ruleset_checksum


def test_no_matching_row_gives_the_default_and_unique_takes_the_first_match():
    assert rule_ids(judge(table(), age=60, local=None)) == ["missing:local"]
    nothing = table(rows=[ROWS[0]])
    assert (judge(nothing, age=70, local=True).outcome, rule_ids(judge(nothing, age=70, local=True))) == (
        "manual", ["default"])
    first = table(rows=[("a", "&gt; 10", "-", '"approve"', '"a"'), ("b", "&gt; 20", "-", '"reject"', '"b"')],
                  hit_policy="UNIQUE")
    assert rule_ids(judge(first, age=30, local=True)) == ["a"]


def test_other_outputs_are_values_and_question_mark_entries_work():
    rows = [("band", "60 &lt;= ? &lt; 70", "True", '"approve"', '"60-69"', "150"),
            ("old", "? &gt;= 70", "True", '"approve"', '"70+"', "200")]
    rules = table(rows=rows, outputs=("outcome", "message", "amount"))
    assert judge(rules, age=65, local=True).values == {"amount": 150}
    assert judge(rules, age=75, local=True).values == {"amount": 200}


def test_an_entry_that_fails_on_the_facts_is_an_evaluation_error_naming_the_table():
    rules = table(rows=[("r", '&gt; "sixty"', "-", '"approve"', '"m"')])
    with pytest.raises(RuleEvaluationError, match="decision table table"):
        judge(rules, age=65, local=True)


def test_the_shipped_pension_table_loads():
    upload = upload_for(PENSION)
    decision_id, parsed = parse_decision(upload.dmn[0], "resident_pension.dmn")
    rules = load_table(parsed, load_ruleset(upload.ruleset), FUNCTION_NAMES)
    assert decision_id == "pension_eligibility"
    assert list(rules.rows) == ["under_60", "not_local", "short_contribution", "eligible"]
    assert rules.rows["eligible"].facts == {"age", "household_local", "contribution_years"}


# --- lint ---------------------------------------------------------------------------------

def problems(**kwargs) -> list[str]:
    with pytest.raises(RuleSetError) as caught:
        table(**kwargs)
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize("kwargs, expected", [
    ({"inputs": ("agee", "local")}, "input in_0: 'agee' is not a fact the rule set declares (declared: age, local)"),
    ({"rows": [("r", "&lt; min_age", "-", '"reject"', '"m"')]}, "rule r: unknown fact 'min_age' in input entry '< min_age'"),
    ({"rows": [("r", "-", "-", '"approved"', '"m"')]}, "rule r: outcome 'approved' is not one of approve, reject, manual"),
    ({"rows": [("r", "-", "-", "outcome_of(age)", '"m"')]}, "rule r: output outcome 'outcome_of(age)' must be a literal"),
    ({"rows": [("r", "-", "-", '"reject"', '""')]}, "rule r: missing 'message'"),
    ({"rows": [("r", "&gt;= &gt;= 3", "-", '"reject"', '"m"')]}, "rule r: input entry '>= >= 3' on 'age' is not a valid expression"),
    ({"outputs": ("result", "message")}, "missing output column(s) outcome (outputs: result, message)"),
    ({"hit_policy": "FIRST"}, "hit policy 'FIRST' (expected one of UNIQUE, COLLECT)"),
    ({"rows": [ROWS[0], ROWS[0]]}, "rule young: duplicate rule id"),
])
def test_lint_refuses_a_table_naming_the_rule_or_input(kwargs, expected):
    assert any(expected in problem for problem in problems(**kwargs))


def test_entries_may_call_sandbox_functions_and_read_other_facts():
    rows = [("r", "&gt; len(str(local))", "-", '"approve"', '"m"')]
    assert table(rows=rows).rows["r"].facts == {"age", "local"}


@pytest.mark.parametrize("document, words", [
    ("<a/>", "not a DMN document"),
    (f"<definitions xmlns='{DMN_NS}'/>", "exactly one decision"),
    (f"<definitions xmlns='{DMN_NS}'><decision id='d'/></definitions>", "no decision table"),
    (f"<definitions xmlns='{DMN_NS}'><decision id='d'><decisionTable id='t'><input/></decisionTable></decision></definitions>",
     "input has no id"),
    (f"<definitions xmlns='{DMN_NS}'><decision id='d'><decisionTable id='t'><input id='i'/><rule id='r'>"
     "<inputEntry id='a'><text>1</text></inputEntry><inputEntry id='b'><text>1</text></inputEntry></rule>"
     "</decisionTable></decision></definitions>", "2 inputEntry(s) for 1 input(s)"),
    (f"<definitions xmlns='{DMN_NS}'><decision id='d'><decisionTable id='t'><input id='i'/><rule id='r'>"
     "<inputEntry id='a'/></rule></decisionTable></decision></definitions>", "inputEntry has no text"),
])
def test_a_malformed_dmn_document_is_refused_not_crashed_on(document, words):
    with pytest.raises(ProcessProblem) as refused:
        parse_decision(document, "bad.dmn")
    assert words in refused.value.problems[0].reason


# --- deployment ---------------------------------------------------------------------------

SOURCES = {"population_registry"}
STAFFING = Staffing(read_departments(), clerks={})


def refused(upload) -> list[dict]:
    with pytest.raises(DeploymentRefused) as caught:
        check_upload(upload, SOURCES, STAFFING, "social_security")
    return caught.value.problems


def test_the_pension_matter_deploys_and_its_business_rule_task_survives_serialization():
    upload = upload_for(PENSION)
    parsed = check_upload(upload, SOURCES, STAFFING, "social_security")
    workflow = new_workflow(spec_to_json(parsed), script_engine=None)
    task_spec = workflow.spec.task_specs["Task_decide"]
    assert isinstance(task_spec, DecisionTableTask) and task_spec.decision_id == "pension_eligibility"
    assert [r.id for r in task_spec.dmnEngine.decision_table.rules][0] == "under_60"
    assert json.loads(spec_to_json(parsed))["spec"]["task_specs"]["Task_decide"]["decision_id"] == "pension_eligibility"


def test_a_typo_in_the_deployed_table_is_refused_naming_the_rule():
    upload = upload_for(PENSION)
    typo = upload.dmn[0].replace("<text>&gt;= 15</text>", "<text>&gt;= min_years</text>")
    problems = refused(upload.__class__(**{**upload.__dict__, "dmn": [typo]}))
    assert [(p.file, p.element) for p in problems] == [("DMN pension_eligibility", "eligible")]
    assert "min_years" in problems[0].reason


def test_process_and_rule_set_must_agree_on_what_decides():
    upload = upload_for(PENSION)
    other_decision = upload.ruleset.replace("table: pension_eligibility", "table: something_else")
    problems = refused(upload.__class__(**{**upload.__dict__, "ruleset": other_decision}))
    assert {p.element for p in problems} == {"Task_decide", "table"}
    elderly = upload_for(next(e for e in read_catalogue() if e["code"] == "elderly_subsidy"))
    with_table_rules = elderly.__class__(**{**elderly.__dict__, "ruleset": upload.ruleset,
                                            "matter_code": "elderly_subsidy"})
    reasons = [p.reason for p in refused(with_table_rules) if p.element == "Task_decide"]
    assert reasons and "rules.decide needs rules" in reasons[0]


def test_a_business_rule_task_calling_a_missing_decision_is_refused():
    upload = upload_for(PENSION)
    with pytest.raises(ProcessProblem) as caught:
        parse_process(upload.bpmn, "p.bpmn", [], process_id="resident_pension")
    assert "pension_eligibility" in caught.value.problems[0].reason


@pytest.mark.parametrize("namespace", DMN_NAMESPACES)  # DMN 1.1 to 1.5
@pytest.mark.parametrize("prefix", ["", "semantic:"])
def test_a_dmn_in_any_version_and_namespace_spelling_reads_like_the_shipped_one(namespace, prefix):
    """Trisotech and others write <semantic:definitions xmlns:semantic=…>: a 500 before."""
    import re

    from engine.definitions.bpmn import parse_decision
    from engine.config import PROCESSES_DIR

    shipped = (PROCESSES_DIR / "resident_pension.dmn").read_text(encoding="utf-8")
    exported = re.sub(r"<(/?)(?![?!])([A-Za-z])", rf"<\1{prefix}\2", shipped)
    exported = exported.replace('xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"',
                                f'xmlns{":" + prefix.rstrip(":") if prefix else ""}="{namespace}"')
    assert f"<{prefix}definitions" in exported and namespace in exported
    decision, table = parse_decision(exported, "exported.dmn")
    expected_decision, expected_table = parse_decision(shipped, "resident_pension.dmn")
    assert decision == expected_decision
    assert len(table.rules) == len(expected_table.rules) and len(table.inputs) == len(expected_table.inputs)
