"""What a clerk may grant when completing a review (核定金额), and when a second clerk must
approve too (四眼原则).

The amounts a matter allows come from its rule set's bands (every ``set: {amount: N}`` of
an approving rule: 100, 200, 500 for 高龄补贴) or from the catalogue's declared range::

    grant:
      amount_range: [0, 3000]        # instead of the rule set's bands
      second_approver_above: 200     # an approval granting more needs a second clerk

Amounts are exact: a value with more than two decimal places, or between the allowed
values, is refused with the allowed ones named — never rounded or truncated. A matter
whose rule set sets no amount and declares no range grants none: an amount is refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidInput
from engine.events import EventKind, record
from engine.store.models import Outcome, Task, TaskStatus, User
from rules import RuleSet

AMOUNT = "amount"
FIRST_APPROVAL = "first_approval"  # 四眼: the first clerk's answer, kept on the task
CENT = Decimal("0.01")


@dataclass(frozen=True)
class GrantPolicy:
    amounts: frozenset[Decimal]  # the rule set's bands; empty when a range is declared or nothing is granted
    amount_range: tuple[Decimal, Decimal] | None
    second_approver_above: Decimal | None

    @classmethod
    def of(cls, elements: dict, ruleset: RuleSet | None) -> GrantPolicy:
        declared = elements.get("grant") or {}
        bounds = declared.get("amount_range")
        threshold = declared.get("second_approver_above")
        bands = frozenset(exact(r.values[AMOUNT]) for r in (ruleset.rules if ruleset else ())
                          if r.outcome == Outcome.APPROVE and AMOUNT in r.values)
        return cls(frozenset() if bounds else bands,
                   (exact(bounds[0]), exact(bounds[1])) if bounds else None,
                   exact(threshold) if threshold is not None else None)

    def check(self, answer: dict) -> None:
        """Refuse an amount the matter does not allow (422 naming what it allows)."""
        if AMOUNT not in answer:
            return
        amount = exact(answer[AMOUNT])
        if self.amount_range is not None:
            low, high = self.amount_range
            if not low <= amount <= high:
                _refuse(f"核定金额须在 {low} 至 {high} 元之间 the amount must lie within {low}..{high}")
        elif not self.amounts:
            _refuse("本事项不核定金额 this matter grants no amount")
        elif amount not in self.amounts:
            allowed = "、".join(str(a) for a in sorted(self.amounts))
            _refuse(f"核定金额只能是 {allowed} 元（规则集的档次） the amount must be one of {allowed}")

    def needs_second_approver(self, answer: dict) -> bool:
        return (self.second_approver_above is not None and answer.get("outcome") == Outcome.APPROVE
                and AMOUNT in answer and exact(answer[AMOUNT]) > self.second_approver_above)


def second_approval(task: Task, user: User, answer: dict, now: datetime, session: Session) -> bool:
    """四眼: a grant above the matter's threshold is approved by two clerks. The first
    approval is recorded on the task, which returns to the queue; True once a different
    clerk approves the same answer (or refuses it)."""
    first = (task.result or {}).get(FIRST_APPROVAL)
    if first is None:
        task.status, task.assignee_id = TaskStatus.OPEN, None
        task.result = {FIRST_APPROVAL: {**answer, "by": user.username}}
        record(session, EventKind.TASK_FIRST_APPROVAL, user.username, now, {"task": task.id, "answer": answer},
               application_id=task.application_id)
        return False
    if first["by"] == user.username:
        raise Conflict(f"该审批需要本部门另一名工作人员复核（四眼原则） (task {task.id} needs a second approver of {task.department})")
    if answer["outcome"] != Outcome.APPROVE:  # the second clerk may refuse what the first approved
        return True
    if first.get(AMOUNT) != answer.get(AMOUNT):
        raise InvalidInput("differs from the first approval", {AMOUNT: [
            f"第一位审批人核定 {first.get(AMOUNT)}，第二位审批须一致或退回 the second approval must agree with the first"]})
    return True


def exact(value: object) -> Decimal:
    """A money amount in yuan, exactly (at most two decimal places)."""
    if isinstance(value, bool):
        _refuse("金额不是数字 not a number")
    try:
        amount = Decimal(str(value))
        cents = amount.is_finite() and amount == amount.quantize(CENT)
    except InvalidOperation:
        _refuse("金额不是数字，或超出范围 not a number, or out of range")
    if not cents or amount < 0:
        _refuse("金额须为非负数，最多两位小数 a non-negative amount with at most two decimals")
    return amount


def as_json_number(amount: Decimal) -> int | float:
    """How an amount travels in task data (JSON): an int when whole, else its cents' float."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _refuse(message: str) -> None:
    raise InvalidInput("the task form has errors", {AMOUNT: [message]})
