"""What goes into and comes out of a rule evaluation: facts in, a Decision out.

A Decision is stored with the application (申请) as the record of why it was approved,
rejected or sent to manual review (转人工), so it carries the facts it was based on and
the checksum of the rule set that judged them, and survives a JSON round trip.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OUTCOMES = ("approve", "reject", "manual")
# The most severe outcome among fired rules wins: a single reject beats any approvals.
SEVERITY = {"approve": 0, "manual": 1, "reject": 2}
FACT_STATUSES = ("ok", "no_record", "unavailable", "invalid")


@dataclass(frozen=True)
class Fact:
    """One value read by the engine from a data-sharing source (数据共享), with provenance.

    ``status`` says whether the read succeeded; anything but "ok" makes the fact unusable.
    """

    name: str
    value: Any
    source: str
    read_at: str
    status: str = "ok"

    def to_dict(self) -> dict:
        """Serialise without the name, which is the key in ``Decision.to_dict()['facts']``."""
        return {"value": self.value, "source": self.source,
                "read_at": self.read_at, "status": self.status}


@dataclass(frozen=True)
class Reason:
    """Why the decision went the way it did: one fired rule, a missing fact, or the default."""

    rule: str
    outcome: str
    message: str


@dataclass(frozen=True)
class Decision:
    """The outcome of evaluating one rule set against one application's facts."""

    outcome: str
    reasons: tuple[Reason, ...]
    values: dict
    matter: str
    ruleset_checksum: str
    facts: dict[str, Fact] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict, the form in which decisions are stored and audited."""
        return {
            "outcome": self.outcome,
            "reasons": [{"rule": r.rule, "outcome": r.outcome, "message": r.message}
                        for r in self.reasons],
            "values": dict(self.values),
            "ruleset": {"matter": self.matter, "checksum": self.ruleset_checksum},
            "facts": {name: fact.to_dict() for name, fact in self.facts.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> Decision:
        """Rebuild a Decision stored with ``to_dict`` (e.g. when an officer reviews it)."""
        return cls(
            outcome=data["outcome"],
            # a refusal of the register of holders (engine/applications.py) records its reason
            # without an outcome of its own: it is the decision's
            reasons=tuple(Reason(r["rule"], r.get("outcome", data["outcome"]), r["message"]) for r in data["reasons"]),
            values=dict(data["values"]),
            matter=data["ruleset"]["matter"],
            ruleset_checksum=data["ruleset"]["checksum"],
            facts={name: Fact(name=name, value=f["value"], source=f["source"],
                              read_at=f["read_at"], status=f.get("status", "ok"))
                   for name, f in data["facts"].items()},
        )
