"""Unit tests of the rules package: shipped rule sets, lint, evaluation semantics, durability."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from rules import (Decision, Fact, Reason, RuleProblem, RuleSetError, evaluate, load_ruleset,
                   load_ruleset_file)

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
READ_AT = "2024-05-01T09:30:00+08:00"


def fact(name, value, source="test", status="ok"):
    return Fact(name=name, value=value, source=source, read_at=READ_AT, status=status)


def facts(**values):
    return {name: fact(name, value) for name, value in values.items()}


@pytest.fixture(scope="module")
def elderly():
    return load_ruleset_file(RULES_DIR / "elderly_subsidy.yaml")


@pytest.fixture(scope="module")
def rental():
    return load_ruleset_file(RULES_DIR / "rental_filing.yaml")


def applicant(age=85, household_local=True, alive=True, already_receiving=False):
    return facts(age=age, household_local=household_local, alive=alive,
                 already_receiving=already_receiving)


def rule_ids(decision):
    return [reason.rule for reason in decision.reasons]


# --- elderly subsidy ------------------------------------------------------------------

def test_elderly_ruleset_declares_facts_for_the_engine(elderly):
    assert elderly.matter == "elderly_subsidy"
    assert elderly.default == "manual"
    assert len(elderly.checksum) == 64
    age = elderly.facts["age"]
    assert (age.type, age.label, age.source, age.expr) == (
        "integer", "年龄", "form", "age_from_id(id_number)")
    alive = elderly.facts["alive"]
    assert (alive.source, alive.key, alive.field) == ("death_records", "id_number", "alive")
    assert elderly.facts["already_receiving"].expr == "'elderly_subsidy' in record['matters']"


@pytest.mark.parametrize("age, amount, rule", [
    (80, 100, "band_80_89"), (89, 100, "band_80_89"),
    (90, 200, "band_90_99"), (99, 200, "band_90_99"),
    (100, 500, "band_100_plus"), (112, 500, "band_100_plus"),
])
def test_elderly_bands_approve_with_amount(elderly, age, amount, rule):
    decision = evaluate(elderly, applicant(age=age))
    assert decision.outcome == "approve"
    assert decision.values == {"amount": amount}
    assert rule_ids(decision) == [rule]


@pytest.mark.parametrize("changes, rule", [
    ({"age": 79}, "under_80"),
    ({"household_local": False}, "not_local"),
    ({"alive": False}, "deceased"),
    ({"already_receiving": True}, "already_receiving"),
])
def test_elderly_rejects(elderly, changes, rule):
    decision = evaluate(elderly, applicant(**changes))
    assert decision.outcome == "reject"
    assert rule in rule_ids(decision)
    assert decision.values == {}  # the band's amount belongs to approve, not the final reject


def test_reject_wins_and_all_fired_rules_are_listed_in_file_order(elderly):
    decision = evaluate(elderly, applicant(age=95, household_local=False, alive=False))
    assert decision.outcome == "reject"
    assert rule_ids(decision) == ["not_local", "deceased", "band_90_99"]


def test_missing_fact_sends_to_manual(elderly):
    given = applicant(age=85)
    given["alive"] = fact("alive", None, source="death_records", status="unavailable")
    decision = evaluate(elderly, given)
    assert decision.outcome == "manual"
    assert rule_ids(decision) == ["band_80_89", "missing:alive"]
    assert decision.reasons[-1] == Reason("missing:alive", "manual",
                                          "无法核验在世（death_records: unavailable）")
    assert decision.values == {}


def test_absent_and_no_record_facts_are_missing(elderly):
    given = facts(age=85, alive=True)
    given["household_local"] = fact("household_local", None, "population_registry", "no_record")
    decision = evaluate(elderly, given)
    assert decision.outcome == "manual"
    assert rule_ids(decision) == ["band_80_89", "missing:household_local",
                                  "missing:already_receiving"]
    assert "population_registry: no_record" in decision.reasons[1].message
    assert "subsidy_register" in decision.reasons[2].message


def test_under_80_with_registries_down_still_rejects_on_age(elderly):
    decision = evaluate(elderly, facts(age=75))
    assert decision.outcome == "reject"
    assert rule_ids(decision) == ["under_80", "missing:household_local", "missing:alive",
                                  "missing:already_receiving"]


def test_missing_fact_never_rejects_by_itself(elderly):
    decision = evaluate(elderly, {})
    assert decision.outcome == "manual"
    assert all(r.rule.startswith("missing:") for r in decision.reasons)


@pytest.mark.parametrize("age", ["75", "abc", 75.0, True, None])
def test_wrong_type_fact_is_missing_not_reject(elderly, age):
    decision = evaluate(elderly, applicant(age=age))
    assert decision.outcome == "manual"
    assert rule_ids(decision) == ["missing:age"]


def test_boolean_fact_given_as_int_is_invalid(elderly):
    decision = evaluate(elderly, applicant(household_local=0))
    assert decision.outcome == "manual"
    assert decision.reasons[-1].message == "无法核验本地户籍（test: invalid）"


def test_decision_records_facts_and_ruleset(elderly):
    decision = evaluate(elderly, applicant())
    assert decision.matter == "elderly_subsidy"
    assert decision.ruleset_checksum == elderly.checksum
    assert list(decision.facts) == ["age", "household_local", "alive", "already_receiving"]


# --- rental filing --------------------------------------------------------------------

def lease(owner_matches=True, seized=False, contract_days=365):
    return facts(owner_matches=owner_matches, seized=seized, contract_days=contract_days)


@pytest.mark.parametrize("changes, outcome, rules", [
    ({}, "approve", ["ok"]),
    ({"contract_days": 7300}, "approve", ["ok"]),
    ({"owner_matches": False}, "manual", ["owner_mismatch"]),
    ({"seized": True}, "manual", ["seized"]),
    ({"owner_matches": False, "seized": True}, "manual", ["owner_mismatch", "seized"]),
    ({"contract_days": 0}, "reject", ["bad_dates"]),
    ({"contract_days": -3}, "reject", ["bad_dates"]),
    ({"contract_days": 7301}, "reject", ["too_long"]),
    ({"seized": True, "contract_days": 0}, "reject", ["seized", "bad_dates"]),
])
def test_rental_filing(rental, changes, outcome, rules):
    decision = evaluate(rental, lease(**changes))
    assert decision.outcome == outcome
    assert rule_ids(decision) == rules


def test_rental_messages(rental):
    assert evaluate(rental, lease(owner_matches=False)).reasons[0].message.startswith(
        "出租人与不动产登记权利人不一致，转人工审核")
    assert evaluate(rental, lease()).reasons[0].message.startswith("房屋租赁备案通过")


def test_rental_registry_unavailable(rental):
    given = facts(contract_days=365)
    given["owner_matches"] = fact("owner_matches", None, "property_registry", "unavailable")
    given["seized"] = fact("seized", None, "property_registry", "unavailable")
    decision = evaluate(rental, given)
    assert decision.outcome == "manual"
    assert rule_ids(decision) == ["missing:owner_matches", "missing:seized"]


# --- small rule sets for semantics ----------------------------------------------------

def make(rules_yaml, facts_yaml=None, extra=""):
    facts_yaml = facts_yaml or """
  age:    {type: integer, label: 年龄, source: form}
  income: {type: number, label: 收入, source: tax}
  city:   {type: string, label: 城市, source: form}
  local:  {type: boolean, label: 本地, source: registry}
  born:   {type: date, label: 出生日期, source: registry}
"""
    return f"matter: test\n{extra}facts:{facts_yaml}rules:\n{rules_yaml}"


def test_default_outcome_when_no_rule_fires():
    ruleset = load_ruleset(make("""
  - {id: old, when: {age: {gte: 65}}, outcome: approve, message: 老年}
""", extra="default: reject\n"))
    decision = evaluate(ruleset, facts(age=30))
    assert decision.outcome == "reject"
    assert rule_ids(decision) == ["default"]
    assert evaluate(load_ruleset(make("""
  - {id: old, when: {age: {gte: 65}}, outcome: approve, message: 老年}
""")), facts(age=30)).outcome == "manual"


def test_operators_any_in_ne_date_and_implicit_all():
    ruleset = load_ruleset(make("""
  - {id: city_in, when: {city: {in: [上海, 北京]}}, outcome: approve, message: m}
  - {id: not_sh, when: {city: {ne: 上海}}, outcome: manual, message: m}
  - {id: either, when: {any: [{age: {gt: 60}}, {income: {lt: 1000.5}}]}, outcome: approve, message: m}
  - {id: both, when: {age: {gte: 18, lte: 60}, local: {eq: true}}, outcome: approve, message: m}
  - {id: born_early, when: {born: {lt: 1950-01-01}}, outcome: approve, message: m}
  - {id: born_day, when: {born: {eq: "1960-02-29"}}, outcome: approve, message: m}
"""))
    decision = evaluate(ruleset, facts(city="上海", age=30, income=900, local=True,
                                       born="1960-02-29"))
    assert rule_ids(decision) == ["city_in", "either", "both", "born_day"]
    decision = evaluate(ruleset, facts(city="广州", age=70, income=5000.0, local=False,
                                       born="1949-12-31"))
    assert rule_ids(decision) == ["not_sh", "either", "born_early"]
    assert decision.outcome == "manual"


def test_bad_date_fact_is_invalid():
    ruleset = load_ruleset(make("""
  - {id: born_early, when: {born: {lt: "1950-01-01"}}, outcome: approve, message: m}
"""))
    decision = evaluate(ruleset, facts(born="1949-13-01"))
    assert rule_ids(decision) == ["missing:born"]


def test_values_come_only_from_rules_with_the_final_outcome():
    ruleset = load_ruleset(make("""
  - {id: a, when: {age: {gte: 18}}, outcome: approve, message: m, set: {amount: 1, tier: a}}
  - {id: b, when: {age: {gte: 60}}, outcome: approve, message: m, set: {amount: 2}}
  - {id: c, when: {local: {eq: false}}, outcome: manual, message: m, set: {queue: review}}
"""))
    assert evaluate(ruleset, facts(age=70, local=True)).values == {"amount": 2, "tier": "a"}
    assert evaluate(ruleset, facts(age=70, local=False)).values == {"queue": "review"}


# --- lint -----------------------------------------------------------------------------

def problems_of(text):
    with pytest.raises(RuleSetError) as caught:
        load_ruleset(text, filename="bad.yaml")
    return [str(problem) for problem in caught.value.problems]


def test_lint_typo_fact_names_the_rule():
    text = make("  - {id: under_80, when: {agee: {lt: 80}}, outcome: reject, message: m}\n")
    assert problems_of(text) == ["rule under_80: unknown fact 'agee'"]


def test_lint_reports_every_problem_at_once():
    text = make("""
  - {id: a, when: {agee: {lt: 80}}, outcome: reject, message: m}
  - {id: b, when: {age: {lesser: 80}}, outcome: reject, message: m}
  - {id: c, when: {age: {lt: "80"}}, outcome: maybe, message: m}
  - {id: a, when: {age: {gt: 1}}, outcome: approve}
""")
    with pytest.raises(RuleSetError) as caught:
        load_ruleset(text, filename="bad.yaml")
    problems = caught.value.problems
    assert all(isinstance(problem, RuleProblem) for problem in problems)
    assert [p.rule_id for p in problems] == ["a", "b", "c", "c", "a", "a"]
    message = str(caught.value)
    assert message.startswith("invalid rule set bad.yaml:")
    for expected in ["rule a: unknown fact 'agee'", "rule b: unknown operator 'lesser'",
                     "rule c: literal '80' does not fit integer fact 'age'",
                     "rule c: outcome 'maybe'", "rule a: duplicate rule id",
                     "rule a: missing 'message'"]:
        assert expected in message


@pytest.mark.parametrize("when", [
    "{all: [{age: {lt: 80}}, {age: {gte: 90}}]}",
    "{age: {gt: 5, lt: 6}}",
    "{age: {eq: 5, ne: 5}}",
    "{all: [{age: {eq: 5}}, {age: {eq: 6}}]}",
    "{age: {in: [1, 2], gt: 2}}",
    "{income: {gt: 5.0, lt: 5.0}}",
    "{income: {gte: 5, lt: 5}}",
    "{all: [{local: {eq: true}}, {local: {ne: true}}]}",
    "{local: {ne: true, eq: true}}",
    "{city: {in: [a, b], eq: c}}",
    "{born: {gt: 2000-01-01, lt: 2000-01-02}}",
    "{any: [{age: {lt: 1, gt: 1}}, {age: {in: [3], ne: 3}}]}",
])
def test_lint_rule_that_can_never_fire(when):
    text = make(f"  - {{id: never, when: {when}, outcome: approve, message: m}}\n")
    assert problems_of(text) == [
        "rule never: can never fire: its conditions contradict each other"]


@pytest.mark.parametrize("when", [
    "{age: {gte: 5, lte: 5}}",
    "{income: {gt: 5, lt: 5.01}}",
    "{any: [{age: {lt: 1, gt: 1}}, {age: {eq: 3}}]}",
    "{age: {gt: 1, lt: 4, ne: 2}}",
    "{local: {ne: false}}",
])
def test_lint_accepts_satisfiable_conditions(when):
    load_ruleset(make(f"  - {{id: fine, when: {when}, outcome: approve, message: m}}\n"))


@pytest.mark.parametrize("when, expected", [
    ("{age: {lt: true}}", "literal True does not fit integer fact 'age'"),
    ("{age: {eq: 1.5}}", "literal 1.5 does not fit integer fact 'age'"),
    ("{local: {eq: 1}}", "literal 1 does not fit boolean fact 'local'"),
    ("{income: {eq: x}}", "literal 'x' does not fit number fact 'income'"),
    ("{born: {lt: 2024-13-01}}", "literal '2024-13-01' does not fit date fact 'born'"),
    ("{local: {lt: true}}", "operator 'lt' does not apply to boolean fact 'local'"),
    ("{age: {in: []}}", "'in' on fact 'age' needs a non-empty list"),
    ("{age: {in: [1, x]}}", "literal 'x' does not fit integer fact 'age'"),
    ("{age: 80}", "test of fact 'age' must be a mapping"),
    ("{all: []}", "'all' must be a non-empty list"),
    ("{any: [5]}", "condition 5 must be a non-empty mapping"),
])
def test_lint_bad_conditions(when, expected):
    problems = problems_of(make(f"  - {{id: r, when: {when}, outcome: approve, message: m}}\n"))
    assert len(problems) == 1
    assert problems[0].startswith(f"rule r: {expected}")


def test_lint_set_must_be_json_scalars():
    problems = problems_of(make(
        "  - {id: r, when: {age: {gt: 1}}, outcome: approve, message: m, set: {a: [1]}}\n"))
    assert problems == ["rule r: 'set' entry 'a': [1] is not a JSON scalar under a string key"]
    problems = problems_of(make(
        "  - {id: r, when: {age: {gt: 1}}, outcome: approve, message: m, set: [1]}\n"))
    assert problems == ["rule r: 'set' must be a mapping"]


def test_lint_bad_yaml_names_the_line():
    text = "matter: test\nfacts: {}\nrules:\n  - id: a\n    when: {age: [\n"
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].startswith("bad.yaml:")
    assert "YAML syntax error" in problems[0]
    line = int(problems[0].split(":")[1])
    assert 5 <= line <= 6


def test_lint_duplicate_yaml_key_names_the_line():
    text = make("  - id: r\n    when: {age: {gte: 80}, age: {lt: 90}}\n"
                "    outcome: approve\n    message: m\n")
    problems = problems_of(text)
    assert problems[0].startswith("bad.yaml:10: YAML syntax error: duplicate key 'age'")


@pytest.mark.parametrize("text, expected", [
    ("- a\n- b\n", "bad.yaml: a rule set must be a mapping"),
    ("facts: {a: {type: integer, source: s}}\n"
     "rules: [{id: r, when: {a: {gt: 1}}, outcome: approve, message: m}]\n",
     "missing 'matter' (a non-empty string)"),
    ("matter: x\nfacts: {}\n", "missing 'rules' (a non-empty list)"),
    ("matter: x\ndefault: maybe\nfacts: {a: {type: integer, source: s}}\n"
     "rules: [{id: r, when: {a: {gt: 1}}, outcome: approve, message: m}]\n",
     "default 'maybe' is not one of approve, reject, manual"),
    ("matter: x\nfacts: {a: {type: decimal, source: s}}\n"
     "rules: [{id: r, when: {a: {gt: 1}}, outcome: approve, message: m}]\n",
     "fact 'a': unknown type 'decimal' (expected one of integer, number, boolean, string, date)"),
    ("matter: x\nfacts: {a: {type: integer}}\n"
     "rules: [{id: r, when: {a: {gt: 1}}, outcome: approve, message: m}]\n",
     "fact 'a': missing 'source'"),
    ("matter: x\nfacts: {a: {type: integer, source: s, sorce: t}}\n"
     "rules: [{id: r, when: {a: {gt: 1}}, outcome: approve, message: m}]\n",
     "unknown key 'sorce' in fact 'a'"),
])
def test_lint_structure(text, expected):
    assert problems_of(text) == [expected]


def test_lint_rule_without_id_and_unknown_rule_key():
    problems = problems_of(make(
        "  - {when: {age: {gt: 1}}, outcome: approve, message: m, sett: {a: 1}}\n"))
    assert problems == ["rule #1 has no 'id'", "rule #1: unknown key 'sett' in rule"]


def test_unused_facts_are_fine_and_checksum_is_sha256_of_text():
    import hashlib
    text = make("  - {id: r, when: {age: {gt: 1}}, outcome: approve, message: m}\n")
    ruleset = load_ruleset(text)
    assert ruleset.checksum == hashlib.sha256(text.encode()).hexdigest()
    assert evaluate(ruleset, facts(age=2)).outcome == "approve"  # other facts not needed


# --- determinism, serialisation -------------------------------------------------------

def test_evaluation_is_deterministic(elderly):
    given = applicant(age=95, household_local=False)
    first = evaluate(elderly, given)
    for _ in range(20):
        assert evaluate(elderly, given) == first
    reloaded = load_ruleset_file(RULES_DIR / "elderly_subsidy.yaml")
    assert evaluate(reloaded, given) == first


def test_a_stored_reason_without_its_own_outcome_reads_as_the_decisions(elderly):
    """The register of holders' refusal is stored so; replaying such an application was a 500."""
    data = {**evaluate(elderly, applicant(age=85)).to_dict(), "outcome": "reject",
            "reasons": [{"rule": "already_held", "message": "已持有有效证照"}]}
    assert Decision.from_dict(data).reasons == (Reason("already_held", "reject", "已持有有效证照"),)


def test_decision_round_trip(elderly):
    given = applicant(age=85)
    given["alive"] = fact("alive", None, source="death_records", status="unavailable")
    decision = evaluate(elderly, given)
    data = decision.to_dict()
    text = json.dumps(data, ensure_ascii=False)
    assert Decision.from_dict(json.loads(text)) == decision
    assert set(data) == {"outcome", "reasons", "values", "ruleset", "facts"}
    assert data["ruleset"] == {"matter": "elderly_subsidy", "checksum": elderly.checksum}
    assert data["facts"]["alive"] == {"value": None, "source": "death_records",
                                      "read_at": READ_AT, "status": "unavailable"}
    assert data["reasons"][0] == {"rule": "band_80_89", "outcome": "approve",
                                  "message": decision.reasons[0].message}


# --- durability -----------------------------------------------------------------------

CASES = [
    (applicant(age=75), "reject"),
    (applicant(age=85), "approve"),
    (applicant(age=95, alive=False), "reject"),
    (applicant(age=101), "approve"),
    (applicant(age="x"), "manual"),
    (facts(age=85), "manual"),
]


def test_thread_safety(elderly, rental):
    errors: list[str] = []

    def worker(offset: int) -> None:
        for i in range(200):
            if i % 7 == 0:
                outcome = evaluate(rental, lease(seized=bool(i % 2))).outcome
                expected = "manual" if i % 2 else "approve"
            else:
                given, expected = CASES[(offset + i) % len(CASES)]
                outcome = evaluate(elderly, given).outcome
            if outcome != expected:
                errors.append(f"thread {offset} step {i}: {outcome} != {expected}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_sessions_are_cleaned_up(elderly):
    for i in range(1500):
        given, expected = CASES[i % len(CASES)]
        assert evaluate(elderly, given).outcome == expected


def test_error_inside_durable_action_is_raised_not_swallowed(monkeypatch, elderly):
    import importlib
    evaluation = importlib.import_module("rules.evaluate")  # rules.evaluate is the function

    def failing_recorder(fired, rule_id):
        def action(closure):
            raise RuntimeError("recorder broke")
        return action

    monkeypatch.setattr(evaluation, "_recorder", failing_recorder)
    ruleset = load_ruleset(make(
        "  - {id: r, when: {age: {gt: 1}}, outcome: approve, message: raising}\n"))
    with pytest.raises(evaluation.RuleEvaluationError, match="recorder broke"):
        evaluate(ruleset, facts(age=2))
    monkeypatch.undo()
    assert evaluate(elderly, applicant()).outcome == "approve"


def test_no_durable_timer_threads_are_started(elderly):
    evaluate(elderly, applicant())
    assert [t for t in threading.enumerate() if isinstance(t, threading.Timer)] == []
