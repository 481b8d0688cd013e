"""A bundle's policy (一件事): which matters it orders, how its one form feeds each member's
form (一表申请), when a member is selected, and whether a refusal stops the others.

A bundle is deployed like a matter: BPMN + form + this policy (catalogue key ``bundle``),
versioned together. Its BPMN's *member steps* are tasks with the extension property
``member`` naming a matter: the step waits while that matter's own application runs, in
its own department's queue, and is completed with its answer (engine/bundles/members.py).
A step whose ``member`` is ``*`` stands for every matter of a cart order (政务超市).

The field map: a member's form field is fed by the bundle field of the same name, unless
the map says otherwise — another bundle field (a rename), an earlier member's result
(``{result: company_registration.licence_no}``: 免证办, the licence the registration issued
feeds the seal and tax steps), or a constant (``{value: …}``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Iterable, Mapping

from engine.errors import Problem

MEMBER_PROPERTY = "member"  # the BPMN extension property naming a member step's matter
ORDER_STEP = "*"  # a member step standing for every matter of a cart order


class OnRefusal(StrEnum):
    CONTINUE = "continue"  # the others go on; the refusal is reported with their results
    STOP = "stop"  # members not started are not started; running ones are withdrawn


def is_bundle(definition) -> bool:
    """Whether a service definition is a bundle's (its policy has ``bundle``)."""
    return (definition.policy or {}).get("bundle") is not None


def member_of(task_spec) -> str | None:
    """The matter a BPMN member step stands for, or None for any other element."""
    extensions = getattr(task_spec, "extensions", None) or {}
    return (extensions.get("properties") or {}).get(MEMBER_PROPERTY)


@dataclass(frozen=True)
class Feed:
    """Where one member field's value comes from."""

    field: str | None = None  # a bundle form field
    result_of: str | None = None  # an earlier member's matter …
    result_key: str | None = None  # … and the key of its result
    value: Any = None  # a constant

    @classmethod
    def of(cls, spec: Any) -> Feed:
        if isinstance(spec, str) and spec:
            return cls(field=spec)
        if isinstance(spec, Mapping) and set(spec) == {"result"}:
            matter, _, key = str(spec["result"]).partition(".")
            if matter and key:
                return cls(result_of=matter, result_key=key)
        if isinstance(spec, Mapping) and set(spec) == {"value"}:
            return cls(value=spec["value"])
        raise ValueError(f"{spec!r}: a member field is fed by a bundle field's name, "
                         "{result: <member matter>.<result key>} or {value: <constant>}")


@dataclass(frozen=True)
class MemberData:
    """A member's form data from the bundle's, and what it still waits for."""

    data: dict
    waiting_for: dict[str, str]  # member field -> the earlier member whose result feeds it, not known yet


@dataclass(frozen=True)
class Member:
    matter: str
    fields: Mapping[str, Feed] = field(default_factory=dict)  # member field -> its feed, where not the same name
    when: Mapping[str, Any] = field(default_factory=dict)  # bundle field -> value: selected when all hold

    def selected(self, form: Mapping[str, Any]) -> bool:
        return all(form.get(name) == value for name, value in self.when.items())

    def feed(self, member_field: str) -> Feed:
        return self.fields.get(member_field) or Feed(field=member_field)

    def data(self, member_fields: Iterable[str], form: Mapping[str, Any],
             results: Mapping[str, Mapping[str, Any]]) -> MemberData:
        """The member's form data: each of its fields from its feed (a field the bundle form
        left empty stays out, so the member's form names it if required)."""
        data, waiting = {}, {}
        for name in member_fields:
            feed = self.feed(name)
            if feed.result_of is not None:
                result = results.get(feed.result_of)
                if result is None or result.get(feed.result_key) in (None, ""):
                    waiting[name] = feed.result_of
                else:
                    data[name] = result[feed.result_key]
            elif feed.field is not None:
                if form.get(feed.field) not in (None, ""):
                    data[name] = form[feed.field]
            else:
                data[name] = feed.value
        return MemberData(data, waiting)


@dataclass(frozen=True)
class BundlePolicy:
    members: tuple[Member, ...]
    on_refusal: OnRefusal = OnRefusal.CONTINUE
    cart: bool = False  # the members come from each order (政务超市), not from this policy

    @classmethod
    def of(cls, elements: Mapping[str, Any] | None) -> BundlePolicy | None:
        """The policy of a bundle's catalogue entry (key ``bundle``); None for a matter.
        ValueError naming what is wrong."""
        declared = (elements or {}).get("bundle")
        if declared is None:
            return None
        if not isinstance(declared, Mapping):
            raise ValueError("bundle: a mapping with members (or cart: true) and on_refusal")
        on_refusal = OnRefusal(declared.get("on_refusal", OnRefusal.CONTINUE))
        if declared.get("cart"):
            return cls((), on_refusal, cart=True)
        members = []
        for entry in declared.get("members") or []:
            fields = {str(name): Feed.of(spec) for name, spec in (entry.get("fields") or {}).items()}
            members.append(Member(str(entry["matter"]), fields, dict(entry.get("when") or {})))
        if not members:
            raise ValueError("bundle.members: a bundle orders at least one matter")
        codes = [m.matter for m in members]
        if len(set(codes)) != len(codes):
            raise ValueError(f"bundle.members: a matter is listed twice ({', '.join(codes)})")
        return cls(tuple(members), on_refusal)

    def for_order(self, matters: Iterable[str]) -> BundlePolicy:
        """A cart's policy for one order: each matter it lists, fed by the same field names."""
        return BundlePolicy(tuple(Member(code) for code in matters), self.on_refusal, cart=True)

    def member(self, matter: str) -> Member | None:
        return next((m for m in self.members if m.matter == matter), None)

    @property
    def matters(self) -> list[str]:
        return [m.matter for m in self.members]


def check_bundle(elements: Mapping[str, Any] | None, specs: list, filename: str, form_fields: list[str] | None,
                 has_ruleset: bool) -> list[Problem]:
    """Deploy-time: the policy parses; every member step names a member of the policy (or
    ``*`` in a cart) and every member has a step; results feed only from other members; the
    bundle fields the map and ``when`` name are on the bundle's form. A matter (no
    ``bundle``) with member steps, or without a rule set, is refused too."""
    problems = []
    try:
        policy = BundlePolicy.of(elements)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return [Problem("policy", "bundle", None, str(exc))]
    steps = {task_spec.bpmn_id: member_of(task_spec) for spec in specs for task_spec in spec.task_specs.values()
             if member_of(task_spec)}
    if policy is None:
        problems += [Problem(filename, element, None, "a member step belongs in a bundle (policy key bundle)")
                     for element in steps]
        if not has_ruleset:
            problems.append(Problem(filename, reason="a matter needs a rule set"))
        return problems
    if any(getattr(t, "operation_name", "").startswith("rules.") for spec in specs for t in spec.task_specs.values()
           if getattr(t, "operation_name", None)) and not has_ruleset:
        problems.append(Problem(filename, reason="rules.* service tasks need a rule set; none was given"))
    expected = {ORDER_STEP} if policy.cart else set(policy.matters)
    for element, matter in steps.items():
        if matter not in expected:
            problems.append(Problem(filename, element, None, f"member {matter!r} is not a member of the bundle "
                                                             f"(members: {', '.join(sorted(expected))})"))
    for matter in sorted(expected - set(steps.values())):
        problems.append(Problem(filename, reason=f"no member step (task with property member={matter!r}) "
                                                 "for this member"))
    for member in policy.members:
        for name, feed in member.fields.items():
            where = f"bundle.members.{member.matter}.fields.{name}"
            if feed.result_of is not None and (feed.result_of == member.matter or policy.member(feed.result_of) is None):
                problems.append(Problem("policy", where, None, f"{feed.result_of!r} is not another member"))
            if feed.field is not None and form_fields is not None and feed.field not in form_fields:
                problems.append(Problem("policy", where, None, f"{feed.field!r} is not a field of the bundle's form"))
        for name in member.when:
            if form_fields is not None and name not in form_fields:
                problems.append(Problem("policy", f"bundle.members.{member.matter}.when", None,
                                        f"{name!r} is not a field of the bundle's form"))
    return problems
