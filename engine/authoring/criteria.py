"""What a template's rule set checks, as an analyst states it: 秒批 criteria (minimum age,
local household…) and 智能审批 comparisons (the form against a data-sharing source).

Each kind is one or two facts the rule language can gather (rules/ruleset.py: a form
expression or a registry field) and one rule with the message an applicant reads. Nothing
here is free text turned into rules: a kind not listed cannot be asked for.

    criteria:     [{kind: min_age, age: 60}, {kind: local_household}]   # 秒批: any unmet -> reject
    comparisons:  [name, property_owner]                                # 智能审批: any mismatch -> clerk
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# The facts the kinds below read, and the 告知承诺 form's commitment (a rule set's ``facts:``), by name.
FACTS: dict[str, dict] = {
    "age": {"type": "integer", "label": "年龄", "source": "form", "expr": "age_from_id(id_number)"},
    "household_local": {"type": "boolean", "label": "本地户籍", "source": "population_registry",
                        "key": "id_number", "field": "household_local"},
    "alive": {"type": "boolean", "label": "在世", "source": "death_records", "key": "id_number", "field": "alive"},
    "name_matches": {"type": "boolean", "label": "姓名与人口库一致", "source": "population_registry",
                     "key": "id_number", "expr": "record['name'] == applicant_name"},
    "owner_matches": {"type": "boolean", "label": "申请人为不动产登记权利人", "source": "property_registry",
                      "key": "property_cert_no", "expr": "record['owner_id_number'] == id_number"},
    "seized": {"type": "boolean", "label": "房屋查封状态", "source": "property_registry",
               "key": "property_cert_no", "field": "seized"},
    "commitment": {"type": "string", "label": "告知承诺", "source": "form", "field": "commitment"},
}


class CriterionKind(StrEnum):
    """A 秒批 condition the rules check at once; an unmet one refuses with its message."""

    MIN_AGE = "min_age"  # 年满N周岁 (age from the resident ID number)
    MAX_AGE = "max_age"  # N周岁以下 (at most N)
    LOCAL_HOUSEHOLD = "local_household"  # 本地户籍 (population registry)
    ALIVE = "alive"  # 在世 (death records)

    @property
    def title(self) -> str:
        return {CriterionKind.MIN_AGE: "年满N周岁", CriterionKind.MAX_AGE: "N周岁以下",
                CriterionKind.LOCAL_HOUSEHOLD: "本地户籍", CriterionKind.ALIVE: "在世"}[self]

    @property
    def takes_age(self) -> bool:
        return self in (CriterionKind.MIN_AGE, CriterionKind.MAX_AGE)


@dataclass(frozen=True)
class Criterion:
    kind: CriterionKind
    age: int | None = None  # MIN_AGE, MAX_AGE
    message: str | None = None  # what a refused applicant reads; a default per kind

    @property
    def refusal(self) -> str:
        if self.message:
            return self.message
        return {CriterionKind.MIN_AGE: f"申请人未满{self.age}周岁，不符合办理条件",
                CriterionKind.MAX_AGE: f"申请人已超过{self.age}周岁，不符合办理条件",
                CriterionKind.LOCAL_HOUSEHOLD: "申请人非本地户籍，不符合办理条件",
                CriterionKind.ALIVE: "申请人已死亡，不予办理"}[self.kind]

    @property
    def fact(self) -> str:
        return {CriterionKind.MIN_AGE: "age", CriterionKind.MAX_AGE: "age",
                CriterionKind.LOCAL_HOUSEHOLD: "household_local", CriterionKind.ALIVE: "alive"}[self.kind]

    @property
    def met(self) -> dict:
        """The condition when it holds (the approve rule needs every one)."""
        return {CriterionKind.MIN_AGE: {"age": {"gte": self.age}}, CriterionKind.MAX_AGE: {"age": {"lte": self.age}},
                CriterionKind.LOCAL_HOUSEHOLD: {"household_local": {"eq": True}},
                CriterionKind.ALIVE: {"alive": {"eq": True}}}[self.kind]

    def rule(self) -> dict:
        """The reject rule: the condition fails."""
        unmet = {CriterionKind.MIN_AGE: {"age": {"lt": self.age}}, CriterionKind.MAX_AGE: {"age": {"gt": self.age}},
                 CriterionKind.LOCAL_HOUSEHOLD: {"household_local": {"eq": False}},
                 CriterionKind.ALIVE: {"alive": {"eq": False}}}[self.kind]
        rule_id = {CriterionKind.MIN_AGE: "under_min_age", CriterionKind.MAX_AGE: "over_max_age",
                   CriterionKind.LOCAL_HOUSEHOLD: "not_local", CriterionKind.ALIVE: "deceased"}[self.kind]
        return {"id": rule_id, "when": unmet, "outcome": "reject", "message": self.refusal}

    def as_dict(self) -> dict:
        shown: dict = {"kind": self.kind.value}
        if self.age is not None:
            shown["age"] = self.age
        if self.message:
            shown["message"] = self.message
        return shown


class ComparisonKind(StrEnum):
    """A 智能审批 comparison of the form with a data-sharing source; a mismatch goes to a clerk."""

    NAME = "name"  # the applicant's name as the population registry has it
    PROPERTY_OWNER = "property_owner"  # the applicant owns the property (不动产登记), not seized

    @property
    def title(self) -> str:
        return {ComparisonKind.NAME: "姓名与人口库登记一致",
                ComparisonKind.PROPERTY_OWNER: "申请人为不动产登记权利人且房屋未被查封"}[self]

    @property
    def facts(self) -> tuple[str, ...]:
        return {ComparisonKind.NAME: ("name_matches",), ComparisonKind.PROPERTY_OWNER: ("owner_matches", "seized")}[self]

    @property
    def matched(self) -> list[dict]:
        return {ComparisonKind.NAME: [{"name_matches": {"eq": True}}],
                ComparisonKind.PROPERTY_OWNER: [{"owner_matches": {"eq": True}}, {"seized": {"eq": False}}]}[self]

    def rules(self) -> list[dict]:
        """The manual rules: what does not match goes to a clerk."""
        if self is ComparisonKind.NAME:
            return [{"id": "name_mismatch", "when": {"name_matches": {"eq": False}}, "outcome": "manual",
                     "message": "申请人姓名与人口库登记不一致，转人工审核"}]
        return [{"id": "not_owner", "when": {"owner_matches": {"eq": False}}, "outcome": "manual",
                 "message": "申请人不是不动产登记权利人，转人工审核"},
                {"id": "seized", "when": {"seized": {"eq": True}}, "outcome": "manual",
                 "message": "房屋已被查封，转人工审核"}]


def all_of(conditions: list[dict]) -> dict:
    """One condition, or ``all`` of several (the approve rules')."""
    return conditions[0] if len(conditions) == 1 else {"all": conditions}
