"""One explanation per decision (办理结果说明): whoever answered an application — the rule
set, a clerk, the credit check, the register of holders — the answer carries ``reasons``
in one shape, recorded the moment it is decided (engine/running/decision.py).

Each reason has ``text`` (plain Chinese for the applicant: no rule ids, source names or
English), ``basis`` (the legal basis: the matter's 设定依据) and ``by`` (who decided, a
:class:`DecidedBy`). ``detail`` holds the technical side — the rule id and its full
message, the task and clerk, the credit tier — for staff only (:func:`for_applicant`).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.people.assignment import CLERK
from engine.policy.holdings import ALREADY_HELD_RULE
from engine.store.models import Application, Outcome, Task, TaskStatus


class DecidedBy(StrEnum):
    RULES = "rules"      # 规则自动判断 (秒批)
    CLERK = "clerk"      # 工作人员审核、受理或核查
    CREDIT = "credit"    # 信用核查 (失信被执行人等)
    HOLDING = "holding"  # 已持有同类证照或待遇，不得重复办理
    SYSTEM = "system"    # 平台的其他处理 (一件事中的联动撤回等)


class Stage(StrEnum):
    """Where a process says its answer was given: ``result['stage']`` in the shipped BPMN."""

    INTAKE = "intake"
    REVIEW = "review"
    APPROVAL = "approval"
    CREDIT = "credit"
    RULES = "rules"
    HOLDING = "holding"


DECIDED_AT_STAGE = {Stage.INTAKE: DecidedBy.CLERK, Stage.REVIEW: DecidedBy.CLERK, Stage.APPROVAL: DecidedBy.CLERK,
                    Stage.CREDIT: DecidedBy.CREDIT, Stage.RULES: DecidedBy.RULES, Stage.HOLDING: DecidedBy.HOLDING}

# What a clerk's task form calls the words of their decision, and the answers that decide
# (forms/tasks/review.form.json, verification.form.json; intake's accept only passes it on).
CLERK_WORDS = ("comment", "findings")
DECIDING_ANSWERS = (Outcome.APPROVE, Outcome.REJECT)

# Said when whoever decided gave no words of their own.
PLAIN_OUTCOME = {
    Outcome.APPROVE: "经审核，符合办理条件，准予办理",
    Outcome.REJECT: "经审核，不符合办理条件，不予办理",
    Outcome.REVOKED: "经核查，承诺的条件未能兑现，已撤销此前的决定",
    Outcome.PARTIAL: "联办事项部分办结，详见各事项的结果",
    Outcome.WITHDRAWN: "联办的其他事项未能办理，本事项已撤回",
}

# A technical tail a message carries for staff: "(aged 80-89, 100 yuan per month)" or
# "（population_registry: no_record）" — only ASCII inside the brackets, a Latin letter among it.
_TECHNICAL_TAIL = re.compile(r"\s*[(（][\x00-\x7f]*[A-Za-z][\x00-\x7f]*[)）]\s*$")


@dataclass(frozen=True)
class Reason:
    text: str
    by: DecidedBy
    basis: str | None = None
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {**asdict(self), "by": self.by.value}


def plain(message: str) -> str:
    """A message as the applicant reads it: without its technical tail."""
    return _TECHNICAL_TAIL.sub("", message or "").strip()


def explain(session: Session, application: Application) -> list[Reason]:
    """Why the application was answered as it was (nothing before it is answered), from
    whoever gave the answer, in this order: the register of holders; the stage a process
    names in ``result``; the clerk whose review or verification decided; the rule set."""
    outcome = application.outcome
    if not outcome:
        return []
    result, decision = application.result or {}, application.decision or {}
    basis = (application.definition.matter.elements or {}).get("legal_basis") or None
    held = [r for r in decision.get("reasons", []) if r.get("rule") == ALREADY_HELD_RULE]
    if held and outcome == Outcome.REJECT:
        return [Reason(plain(held[0]["message"]), DecidedBy.HOLDING, basis, {"rule": ALREADY_HELD_RULE})]
    stage = result.get("stage")
    if stage in DECIDED_AT_STAGE and result.get("reason"):
        return [Reason(plain(str(result["reason"])), DECIDED_AT_STAGE[Stage(stage)], basis,
                       {key: value for key, value in result.items() if key != "reason"})]
    clerk = _deciding_task(session, application)
    if clerk is not None:
        words = next((str(clerk.result[key]) for key in CLERK_WORDS if clerk.result.get(key)), "")
        return [Reason(plain(words) or PLAIN_OUTCOME.get(outcome, ""), DecidedBy.CLERK, basis,
                       {"task_id": clerk.id, "task": clerk.title, "element_id": clerk.element_id,
                        "clerk_id": clerk.completed_by})]
    if result.get("reason"):  # a process's or the platform's own words (a bundle member withdrawn)
        return [Reason(plain(str(result["reason"])), DecidedBy.SYSTEM, basis, {})]
    reasons = decision.get("reasons", [])
    given = [r for r in reasons if r.get("outcome") == outcome] or reasons
    if given:
        return [Reason(plain(r["message"]), DecidedBy.RULES, basis, {"rule": r["rule"], "message": r["message"]})
                for r in given]
    return [Reason(PLAIN_OUTCOME.get(outcome, ""), DecidedBy.SYSTEM, basis, {})]


def record_reasons(session: Session, application: Application) -> None:
    """Store the explanation with the application, the moment it is answered."""
    application.reasons = [reason.to_dict() for reason in explain(session, application)]


def _deciding_task(session: Session, application: Application) -> Task | None:
    """The clerk's step that gave the answer: the latest completed clerk task whose form
    decides (a review's approve / reject, a verification's passed), if any."""
    session.flush()  # the task just completed: the runner's no-autoflush block would hide it
    tasks = session.scalars(select(Task).where(
        Task.application_id == application.id, Task.status == TaskStatus.COMPLETED, Task.candidate_role == CLERK)
        .order_by(Task.completed_at.desc(), Task.id.desc()))
    for task in tasks:
        answer = task.result or {}
        if answer.get("outcome") in DECIDING_ANSWERS or "passed" in answer:
            return task
    return None


def for_applicant(reasons: list[dict]) -> list[dict]:
    """What an applicant (or their agent) is shown: text, basis and who decided."""
    return [{key: value for key, value in reason.items() if key != "detail"} for reason in reasons]
