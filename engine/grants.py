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
from decimal import Decimal, InvalidOperation

from engine.errors import InvalidInput
from rules import RuleSet

AMOUNT = "amount"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class GrantPolicy:
    amounts: frozenset[Decimal]  # the rule set's bands; empty when a range is declared or nothing is granted
    amount_range: tuple[Decimal, Decimal] | None
    second_approver_above: Decimal | None

    @classmethod
    def of(cls, elements: dict, ruleset: RuleSet) -> GrantPolicy:
        declared = elements.get("grant") or {}
        bounds = declared.get("amount_range")
        threshold = declared.get("second_approver_above")
        bands = frozenset(exact(r.values[AMOUNT]) for r in ruleset.rules
                          if r.outcome == "approve" and AMOUNT in r.values)
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
        return (self.second_approver_above is not None and answer.get("outcome") == "approve"
                and AMOUNT in answer and exact(answer[AMOUNT]) > self.second_approver_above)


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
