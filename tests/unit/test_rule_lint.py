"""Rule-set lint beyond the basics (tests/unit/test_rules.py): overlapping rules with
contradicting outcomes are warnings naming the rule, conditions too large to check are a
warning instead of a silent pass, and a ``table:`` rule set declares facts for a DMN table."""
from __future__ import annotations

from pathlib import Path

import pytest

from rules import RuleSetError, load_ruleset, load_ruleset_file
from rules.ruleset import lint_warnings
from tests.unit.test_rules import make, problems_of

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"


def warnings_of(text: str) -> list[str]:
    return [str(warning) for warning in lint_warnings(load_ruleset(text))]


@pytest.mark.parametrize("name", sorted(p.name for p in RULES_DIR.glob("*.yaml")))
def test_the_shipped_rule_sets_have_no_warnings(name):
    """They let a reject on one fact win over an approval on another on purpose: not an overlap."""
    assert lint_warnings(load_ruleset_file(RULES_DIR / name)) == []


def test_approve_and_reject_that_can_both_hold_on_one_fact_is_a_warning_naming_both_rules():
    text = make("  - {id: young, when: {age: {lt: 85}}, outcome: reject, message: m}\n"
                "  - {id: band, when: {age: {gte: 80, lt: 90}}, outcome: approve, message: m}\n")
    assert warnings_of(text) == [
        "rule band: overlaps rule young on age: both can hold (reject vs approve); reject wins"]


@pytest.mark.parametrize("rules", [
    pytest.param("  - {id: not_local, when: {local: {eq: false}}, outcome: reject, message: m}\n"
                 "  - {id: band, when: {age: {gte: 80}}, outcome: approve, message: m}\n",
                 id="different facts: layering, not an overlap"),
    pytest.param("  - {id: young, when: {age: {lt: 80}}, outcome: reject, message: m}\n"
                 "  - {id: old, when: {all: [{age: {gte: 80}}, {local: {eq: true}}]}, outcome: approve, message: m}\n"
                 "  - {id: city, when: {city: {in: [a, b]}}, outcome: manual, message: m}\n"
                 "  - {id: city_ok, when: {city: {eq: c}}, outcome: approve, message: m}\n",
                 id="a shared fact, but they exclude each other"),
    pytest.param("  - {id: a, when: {age: {lt: 85}}, outcome: reject, message: m}\n"
                 "  - {id: b, when: {age: {lt: 90}}, outcome: reject, message: m}\n",
                 id="the same outcome"),
])
def test_rules_that_do_not_contradict_each_other_are_not_warned_about(rules):
    assert warnings_of(make(rules)) == []


def test_an_overlap_through_one_alternative_of_any_is_found():
    text = make("  - {id: r, when: {any: [{age: {lt: 10}}, {age: {gt: 100}}]}, outcome: reject, message: m}\n"
                "  - {id: a, when: {age: {gte: 95, lte: 120}}, outcome: approve, message: m}\n"
                "  - {id: m, when: {all: [{age: {gte: 20}}, {age: {lte: 90}}]}, outcome: manual, message: m}\n")
    assert warnings_of(text) == [
        "rule a: overlaps rule r on age: both can hold (reject vs approve); reject wins"]


def choices(count: int) -> str:
    """``count`` two-way ``any``s: 2**count alternatives, none excluding another."""
    return ", ".join("{any: [{age: {ne: %d}}, {income: {ne: %d}}]}" % (i, i) for i in range(count))


CONTRADICTION = "{age: {lt: 0}}, {age: {gt: 0}}"


def test_a_large_satisfiable_condition_is_checked_without_expanding_every_alternative():
    """2**20 alternatives would never be listed; the search finds a satisfiable one at once."""
    when = "{all: [%s]}" % choices(20)
    assert warnings_of(make(f"  - {{id: big, when: {when}, outcome: approve, message: m}}\n")) == []


def test_a_contradiction_beside_many_alternatives_is_still_found():
    when = "{all: [%s, %s]}" % (choices(20), CONTRADICTION)
    assert problems_of(make(f"  - {{id: never, when: {when}, outcome: approve, message: m}}\n")) == [
        "rule never: can never fire: its conditions contradict each other"]


def test_a_condition_too_complex_to_check_is_a_warning_not_a_silent_pass():
    """The search meets the contradiction only after choosing every alternative, so it
    would have to try all 2**20 of them: it stops and says it could not tell."""
    when = "{all: [%s, %s]}" % (CONTRADICTION, choices(20))
    assert warnings_of(make(f"  - {{id: hard, when: {when}, outcome: approve, message: m}}\n")) == [
        "rule hard: too many alternatives to check whether it can ever fire"]


# --- a rule set that declares facts for a DMN table ------------------------------------------

TABLE_FACTS = "\n  age: {type: integer, label: 年龄, source: form}\n"


def test_a_table_rule_set_has_facts_and_no_rules():
    ruleset = load_ruleset(f"matter: t\ntable: eligibility\nfacts:{TABLE_FACTS}")
    assert (ruleset.table, ruleset.rules, list(ruleset.facts)) == ("eligibility", (), ["age"])
    assert load_ruleset_file(RULES_DIR / "resident_pension.yaml").table == "pension_eligibility"


@pytest.mark.parametrize("text, expected", [
    (f"matter: t\ntable: x\nfacts:{TABLE_FACTS}rules: [{{id: r, when: {{age: {{gt: 1}}}}, outcome: approve, message: m}}]\n",
     "'rules' and 'table' exclude each other"),
    (f"matter: t\ntable: ''\nfacts:{TABLE_FACTS}", "'table' must name a DMN decision (its id)"),
    (f"matter: t\nfacts:{TABLE_FACTS}", "missing 'rules' (a non-empty list)"),
])
def test_a_table_rule_set_is_refused_when_malformed(text, expected):
    with pytest.raises(RuleSetError) as caught:
        load_ruleset(text)
    assert [p.message for p in caught.value.problems if expected in p.message]


def test_the_overlap_check_of_a_huge_rule_set_stops_and_says_so():
    """Every pair of 800 rules is more than the check compares; it ends with a warning."""
    rules = "".join(f"  - {{id: r{i}, when: {{city: {{eq: c{i}}}}}, outcome: {'approve' if i % 2 else 'reject'}, "
                    "message: m}\n" for i in range(800))
    assert warnings_of(make(rules)) == [
        "overlap check stopped after 200000 steps: not every pair of rules was compared"]
