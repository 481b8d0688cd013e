"""The applicant's answer, recorded the moment a run reaches it.

For 告知承诺 that is in the submitting request, while the verification still lies ahead; a
later failed verification turns it into ``revoked``. An approval enters the register of
holders (one per subject, engine/policy/holdings.py) and gets its result number
(engine/policy/numbers.py) in the same transaction.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine.explanation import record_reasons
from engine.oversight.deadlines import local_day
from engine.events import EventKind, record
from engine.policy.holdings import ALREADY_HELD_RULE, HoldingPolicy, Repeat, enrol, record_number, refusal
from engine.store.models import Application, Outcome
from engine.policy.numbers import NumberPolicy, issue


def decide(session: Session, application: Application, outcome: str, result: dict | None, now: datetime,
           actor: str) -> None:
    previous, application.outcome, application.result = application.outcome, outcome, dict(result or {})
    extra = {"previous": previous} if previous else {}
    if outcome == Outcome.APPROVE:
        extra |= _grant(session, application, now)
    record_reasons(session, application)
    record(session, EventKind.DECIDED, actor, now, {"outcome": application.outcome, "result": application.result,
                                                     **extra}, application=application)


def final_result(application: Application, result: dict) -> dict:
    """The result a finished application shows: the process's, with the number the approval
    was issued (once, at the decision) — or the refusal of a subject someone else holds."""
    if refused_as_held(application):
        return application.result
    policy = NumberPolicy.of(application.definition.policy)
    return {**result, policy.field: application.result_no} if policy and application.result_no else result


def refused_as_held(application: Application) -> bool:
    return any(reason.get("rule") == ALREADY_HELD_RULE for reason in (application.decision or {}).get("reasons", []))


def _grant(session: Session, application: Application, now: datetime) -> dict:
    """Register the holding and number the result; a subject someone else's approval
    registered first is refused (or re-issued to), in this same transaction."""
    policy = application.definition.policy
    holding, numbering = HoldingPolicy.of(policy), NumberPolicy.of(policy)
    if holding is None and numbering is None:
        return {}
    held = enrol(session, holding, application, now) if holding else None
    if held is not None and holding.repeat == Repeat.REJECT:
        reason = refusal(held, application.definition.matter.name)
        application.outcome = Outcome.REJECT
        application.result = {"stage": "holding", "reason": reason}
        application.decision = {**(application.decision or {}), "outcome": Outcome.REJECT.value,
                                "reasons": [{"rule": ALREADY_HELD_RULE, "message": reason}]}
        return {"already_held_by": held.tracking_no}
    replaced = {"replaces": held.result_no} if held is not None else {}  # read before the holding changes
    if numbering is not None:
        application.result_no = issue(session, application.matter_code, numbering, local_day(now))
        application.result[numbering.field] = application.result_no
    if holding is not None:
        record_number(session, holding, application, application.result_no)
    return replaced
