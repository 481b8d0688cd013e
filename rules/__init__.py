"""Eligibility rules (办事规则) as data: load a YAML rule set per matter, evaluate it on facts.

The engine gathers the facts from data-sharing sources and calls ``evaluate``; this package
never fetches anything itself.
"""
from .decision import OUTCOMES, SEVERITY, Decision, Fact, Reason
from .evaluate import RuleEvaluationError, evaluate
from .ruleset import (FactSpec, Rule, RuleProblem, RuleSet, RuleSetError, load_ruleset,
                      load_ruleset_file)

__all__ = [
    "OUTCOMES", "SEVERITY", "Decision", "Fact", "Reason", "RuleEvaluationError", "evaluate",
    "FactSpec", "Rule", "RuleProblem", "RuleSet", "RuleSetError", "load_ruleset",
    "load_ruleset_file",
]
