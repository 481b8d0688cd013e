"""信用等级审批: what an applicant's credit tier and the dishonest-debtor list mean for a matter.

Each matter says in its catalogue entry (``credit:``) whose credit counts (the form field
holding the resident ID or unified social credit code), whether black tier or the debtor
list blocks it (with the legal basis quoted in the refusal), and what each tier allows:

- red: 容缺后补 (accept with materials missing, under commitment), 告知承诺, fast lane
  (the promised limit cut by 30%);
- orange: 容缺后补 and 告知承诺;
- blue: normal handling, no commitment;
- black, or on the debtor list: refused where the matter blocks them, otherwise manual.

A tier that cannot be read grants nothing (normal handling); a debtor list that cannot be
read sends the case to manual review — "cannot verify" never refuses anyone.

Operations: ``credit.check`` (needs the ``credit`` policy; reads the credit registry and
the debtor list; effects: the check in the history, the red tier's fast lane) and
``credit.false_commitment`` (a failed 告知承诺 verification lowers the tier).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy.orm import Session

from engine.oversight.deadlines import refresh_deadline
from engine.events import EventKind, record
from engine.store.registries import CreditRecord
from engine.operations.base import EffectTarget, Operation, OperationContext, Result
from engine.sources import Reading, ReadStatus, Source, read_all

CREDIT_SOURCE = "credit_registry"
DEBTOR_SOURCE = "debtor_list"
TIERS = ("red", "orange", "blue", "black")
PRIVILEGES = ("tolerate_missing", "commitment", "fast_lane")
DEFAULT_TIERS = {
    "red": {"tolerate_missing": True, "commitment": True, "fast_lane": True},
    "orange": {"tolerate_missing": True, "commitment": True},
    "blue": {},
    "black": {},
}
FAST_LANE_CUT_PERCENT = 30
TIER_AFTER_FALSE_COMMITMENT = "blue"  # no 告知承诺 from blue on


def check(policy: Mapping[str, Any], data: Mapping[str, Any], sources: Mapping[str, Source]) -> dict:
    """The credit part of a Decision: tier and debtor status with their sources, what the
    tier allows for this matter, and the path to take (refuse / manual / normal)."""
    subject = str(data.get(policy["subject_field"], ""))
    readings = read_all(sources, [(CREDIT_SOURCE, subject), (DEBTOR_SOURCE, subject)])
    tier, debtor = readings[(CREDIT_SOURCE, subject)], readings[(DEBTOR_SOURCE, subject)]
    tier_name = tier.data["tier"] if tier.status == ReadStatus.OK else "unknown"
    allows = {name: bool(tiers_of(policy).get(tier_name, {}).get(name)) for name in PRIVILEGES}
    path, message = _path(policy, tier_name, debtor)
    return {"subject": subject, "tier": tier_name, "path": path, "message": message, "allows": allows,
            "sources": {CREDIT_SOURCE: tier.provenance, DEBTOR_SOURCE: debtor.provenance},
            "debtor": debtor.data if debtor.status == ReadStatus.OK else None}


def tiers_of(policy: Mapping[str, Any]) -> dict:
    return {**DEFAULT_TIERS, **(policy.get("tiers") or {})}


def fast_lane_days(promised_days: int) -> int:
    """The promised limit cut by 30% (rounded down, at least one working day). Integer
    arithmetic: 90 * 0.7 in floating point is 62.999… and would round down to 62."""
    return max(1, promised_days * (100 - FAST_LANE_CUT_PERCENT) // 100)


def report_false_commitment(session: Session, subject: str, application_id: int, now: datetime) -> dict:
    """A failed verification of a 告知承诺: the credit registry lowers the tier so the same
    applicant cannot commit again. Embedded, the registry is a local table; a production
    adapter reports to the provincial credit platform instead."""
    registered = session.get(CreditRecord, subject)
    before = registered.tier if registered else "blue"
    reason = f"虚假承诺（办件 {application_id}）false commitment"
    session.merge(CreditRecord(subject=subject, tier=_lowered(before), reason=reason, updated_at=now))
    data = {"subject": subject, "from": before, "to": _lowered(before), "reason": reason}
    record(session, EventKind.CREDIT_LOWERED, "engine", now, data, application_id=application_id)
    return data


def _lowered(tier: str) -> str:
    return "black" if tier == "black" else TIER_AFTER_FALSE_COMMITMENT


def _path(policy: Mapping[str, Any], tier: str, debtor: Reading) -> tuple[str, str]:
    listed = debtor.status == ReadStatus.OK and debtor.data.get("listed")
    if tier == "black" or listed:
        who = "失信被执行人" if listed else "信用等级为黑色"
        if policy.get("blocks"):
            return "refuse", f"申请人为{who}，依据{policy.get('legal_basis', '有关规定')}不予办理 (blocked: {who})"
        return "manual", f"申请人为{who}，转人工审核 ({who}: manual review)"
    if debtor.status != ReadStatus.OK:
        return "manual", "失信被执行人名单暂时无法核验，转人工审核 (debtor list cannot be verified)"
    return "normal", ""


# --- the operations -------------------------------------------------------------------

@dataclass(frozen=True)
class CreditChecked:
    """The history shows the tier, the debtor status and their sources."""

    result: dict

    def apply(self, target: EffectTarget) -> None:
        record(target.session, EventKind.CREDIT_CHECKED, target.actor, target.now, self.result,
               application=target.application)


@dataclass(frozen=True)
class FastLane:
    """A red tier's fast lane: the application's promised limit cut by 30%."""

    def apply(self, target: EffectTarget) -> None:
        application = target.application
        promised = application.definition.matter.promised_days
        application.promised_days = fast_lane_days(promised)
        refresh_deadline(target.session, target.calendar, application, target.now)
        record(target.session, EventKind.CREDIT_FAST_LANE, target.actor, target.now,
               {"promised_days": application.promised_days, "instead_of": promised}, application=application)


@dataclass(frozen=True)
class FalseCommitment:
    subject: str

    def apply(self, target: EffectTarget) -> None:
        report_false_commitment(target.session, self.subject, target.application.id, target.now)


def _check(context: OperationContext, params: dict, data: dict) -> Result:
    result = check(context.policy["credit"], data, context.sources)
    fast = result["allows"]["fast_lane"] and result["path"] == "normal"
    return Result(result, (CreditChecked(result), *((FastLane(),) if fast else ())))


def _false_commitment(context: OperationContext, params: dict, data: dict) -> Result:
    return Result(None, (FalseCommitment((data.get("credit") or {}).get("subject", "")),))


CHECK = Operation("credit.check", _check, "read the credit tier and the debtor list under the matter's credit policy",
                  policy="credit", reads=lambda context: (CREDIT_SOURCE, DEBTOR_SOURCE))
FALSE_COMMITMENT = Operation("credit.false_commitment", _false_commitment,
                             "a failed 告知承诺 verification: the credit registry lowers the tier")
