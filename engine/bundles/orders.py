"""The applicant's use cases for bundles (一件事一次办) and the cart (政务超市): submit one
form for several matters, order a cart, follow the combined status.

一表申请: the bundle's form asks each field once; each selected member's form is filled from
it by the field map (engine/bundles/policy.py) and checked at submission, so an error names
the bundle field and every member that needs it — before anything is stored. Members fed
by an earlier member's result (the licence number) are checked again when they start.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.access import may_read, require_submitter
from engine.applications import Admission, Applications, bundle_path_hint, by_idempotency_key, request_digest
from engine.bundles import cart
from engine.bundles.members import (MemberProgress, ended, members_of, not_started_of, pending_members, policy_of,
                                    skipped_of)
from engine.bundles.policy import BundlePolicy
from engine.definitions.guides import materials_for
from engine.definitions.versions import current_definition, current_definitions
from engine.errors import InvalidInput, NotFound
from engine.people import regions
from engine.running.compiled import compiled
from engine.store.models import Application, ApplicationStatus, Matter, Outcome, Task, TaskStatus, User, as_utc
from forms import FormValidationError

CART_MATTER = "cart"
UNKNOWN_FIELD = "未知字段：所选事项的表单中没有这一项"  # the generic orchestrating process every cart order runs (processes/cart.bpmn)


@dataclass
class Bundles:
    sessions: sessionmaker[Session]
    applications: Applications

    def submit(self, user: User, bundle_code: str, data: dict, idempotency_key: str | None = None,
               ordered: list[str] | None = None) -> tuple[Application, bool]:
        """Check the one form against every selected member's, then start the bundle (its
        first members start in the same transaction); returns (bundle application, created).
        ``ordered``: a cart order's matters (``bundle_code`` is then the cart's)."""
        require_submitter(user)
        digest = request_digest(bundle_code if ordered is None else f"{bundle_code}:{','.join(ordered)}", data)
        with self.sessions() as session:
            existing = by_idempotency_key(session, user.id, idempotency_key, digest)
            if existing is not None:
                return existing, False
            definition = current_definition(session, bundle_code)
            policy = BundlePolicy.of(definition.policy)
            if policy is None:
                raise NotFound("没有这个“一件事”")
            if policy.cart != (ordered is not None):
                raise InvalidInput(f"{bundle_code} is the cart", {"matter": [bundle_path_hint(definition)]})
            if ordered is not None:
                policy = policy.for_order(ordered)
            admission = self._admit(session, user, definition, policy, data)
            bundle, created = self.applications.start_once(session, user, definition, admission, idempotency_key,
                                                           digest, ordered=ordered)
            if not created:
                return bundle, False
            members_pending = pending_members(session, bundle)  # members whose first run was deferred
        self.applications.runner.hand_over(bundle, members_pending)
        return bundle, True

    def order(self, user: User, matters: list[str], data: dict,
              idempotency_key: str | None = None) -> tuple[Application, bool]:
        """政务超市: one order of the matters in the cart, with their merged form's answers; it
        runs as an ad-hoc bundle of the generic cart process. Matters that cannot be ordered
        together are refused (422) naming each and why."""
        require_submitter(user)
        with self.sessions() as session:
            cart.check_order(session, user, matters)
        return self.submit(user, CART_MATTER, data, idempotency_key, ordered=list(matters))

    def merged_form(self, matters: list[str], user: User | None = None) -> dict:
        """The cart's one form: each field once, saying which matters need it."""
        with self.sessions() as session:
            if user is not None:
                cart.check_order(session, user, matters)
            return cart.merged_form(session, matters, CART_MATTER)

    def materials(self, user: User, matters: list[str], answers: dict) -> list[dict]:
        """场景式服务 for the cart: each matter's materials for the answers to its own scenario
        questions (``answers``: matter -> question -> option); every error at once, each
        question named under its matter (``hygiene_licence.central_ac``)."""
        with self.sessions() as session:
            chosen = cart.check_order(session, user, matters)
        lists, errors = [], {code: ["不在购物车中 not in the cart"] for code in answers
                             if code not in {m.code for m in chosen}}
        for matter in chosen:
            try:
                lists.append({"matter": matter.code, "name": matter.name,
                              **materials_for(matter.elements or {}, answers.get(matter.code) or {})})
            except InvalidInput as exc:
                errors.update({f"{matter.code}.{question}": messages for question, messages in exc.errors.items()})
        if errors:
            raise InvalidInput("the situation answers have errors", errors)
        return lists

    def status(self, user: User, bundle_id: int) -> dict:
        """The combined status: each member with its state, answer and why, its deadline and
        result; the combined deadline (the longest member's); the delivery."""
        with self.sessions() as session:
            bundle = session.get(Application, bundle_id)
            if bundle is None or not may_read(user, bundle, session) or BundlePolicy.of(
                    bundle.definition.policy) is None:
                raise NotFound("no such bundle application")
            return bundle_status(session, bundle)

    def _admit(self, session: Session, user: User, definition, policy: BundlePolicy, data: dict) -> Admission:
        """一表申请: the bundle's own form, then every selected member's form as the field map
        fills it, then whom each is for. Every error at once, each on its bundle field naming
        the members that need it."""
        form = compiled(definition).form
        errors: dict[str, list[str]] = {}
        cleaned = dict(data) if isinstance(data, dict) else {}
        own = {k: v for k, v in cleaned.items() if k in form.fields} if policy.cart else data  # a cart's: its note
        try:
            cleaned = {**cleaned, **form.validate(own)}
        except FormValidationError as exc:
            errors = {name: list(messages) for name, messages in exc.errors.items()}
            cleaned = {k: v for k, v in cleaned.items() if k not in errors}
        selected = [m for m in policy.members if m.selected(cleaned)]
        if not selected:
            raise InvalidInput("nothing to apply for", {"_schema": ["未选择任何事项"]})
        bindings, by_field = [], {}
        definitions = current_definitions(session, [m.matter for m in selected])
        if policy.cart:  # the merged form's fields only: a typo must not vanish silently
            known = set(form.fields).union(*(compiled(d).form.fields for d in definitions.values()))
            errors.update({name: [UNKNOWN_FIELD] for name in cleaned if name not in known})
        names = dict(session.execute(select(Matter.code, Matter.name).where(
            Matter.code.in_([m.matter for m in selected]))).all())
        for member in selected:
            member_definition, name = definitions.get(member.matter), names.get(member.matter, member.matter)
            if member_definition is None:
                raise NotFound(f"member {member.matter!r} has no deployed version")
            fed = member.data(compiled(member_definition).form.fields, cleaned, results={})
            earlier = next((b for b in reversed(bindings) if b), None)
            try:  # in full (the registry's names checked too) unless it waits for an earlier member's result
                bindings.append(self.applications.check(session, user, member_definition, fed.data,
                                                        later=fed.waiting_for, earlier=earlier) if fed.waiting_for
                                else self.applications.admit(session, user, member_definition, fed.data,
                                                             earlier=earlier).binding)
            except InvalidInput as exc:
                for member_field, messages in exc.errors.items():
                    feed = member.feed(member_field)
                    bundle_field = feed.field or f"{member.matter}.{member_field}"
                    if bundle_field in errors:
                        continue  # the bundle's own form said what is wrong with it
                    for message in messages:
                        by_field.setdefault(bundle_field, {}).setdefault(message, []).append(name)
        for bundle_field, messages in by_field.items():
            errors.setdefault(bundle_field, []).extend(
                f"{message}（{'、'.join(names)}需要）" for message, names in messages.items())
        if errors:
            raise InvalidInput("the form has errors", errors)
        binding = next((b for b in bindings if b is not None), None)
        matter = session.get(Matter, definition.matter_code)
        return Admission(cleaned, binding, regions.route(matter, definition.policy, binding, None))


def bundle_status(session: Session, bundle: Application) -> dict:
    policy = policy_of(bundle)
    members, not_started = members_of(session, bundle.id), not_started_of(session, bundle.id)
    skipped = skipped_of(session, bundle.id)
    rows = [_member_status(session, member.matter, members.get(member.matter), not_started.get(member.matter),
                           member.selected(bundle.form_data), member.matter in skipped)
            for member in policy.members]
    refusals = [row["name"] for row in rows if row["state"] in (MemberProgress.REFUSED, MemberProgress.NOT_STARTED)]
    for row in rows:
        if row["state"] == MemberProgress.SKIPPED and refusals:  # a stopping bundle passed it by
            row["reasons"] = [f"因{'、'.join(refusals)}未获办理，本事项未启动"]
    dues = [as_utc(m.due_at) for m in members.values() if m.due_at is not None] or (
        [as_utc(bundle.due_at)] if bundle.due_at else [])  # the longest member's; before any starts, the bundle's
    delivery = next((t for t in session.scalars(select(Task).where(
        Task.application_id == bundle.id, Task.status == TaskStatus.COMPLETED).order_by(Task.id.desc()))
        if "method" in (t.result or {})), None)  # the 出件 step's answer
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    return {"reference": bundle.public_ref, "tracking_no": bundle.tracking_no, "bundle": bundle.matter_code,
            "name": bundle.definition.matter.name, "status": bundle.status, "outcome": bundle.outcome,
            "due_at": _iso(max(dues) if dues else None), "counts": counts, "members": rows,
            "delivery": _delivery_shown(delivery)}


DELIVERY_SHOWN = ("method", "courier", "tracking_no")  # not the address or who collected it: personal data


def _delivery_shown(task: Task | None) -> dict | None:
    """一窗出件 as the status shows it to anyone who may read the bundle (staff included)."""
    return None if task is None else {k: v for k, v in (task.result or {}).items() if k in DELIVERY_SHOWN}


def _member_status(session: Session, matter: str, member: Application | None, not_started: str | None,
                   selected: bool, skipped: bool) -> dict:
    entry = session.get(Matter, matter)
    row = {"matter": matter, "name": entry.name if entry else matter,
           "department": entry.department if entry else None,
           "department_name": (entry.elements or {}).get("department_name") if entry else None}
    if member is None:
        if not_started is not None:
            return {**row, "state": MemberProgress.NOT_STARTED, "reasons": [not_started]}
        if not selected:
            return {**row, "state": MemberProgress.NOT_SELECTED, "reasons": []}
        return {**row, "state": MemberProgress.SKIPPED if skipped else MemberProgress.WAITING_FOR_EARLIER,
                "reasons": []}
    state = (MemberProgress.DONE if member.outcome == Outcome.APPROVE
             else MemberProgress.WITHDRAWN if member.outcome == Outcome.WITHDRAWN
             else MemberProgress.REFUSED if ended(member)
             else MemberProgress.FAILED if member.status == ApplicationStatus.FAILED
             else MemberProgress.IN_PROGRESS)
    return {**row, "state": state, "tracking_no": member.tracking_no, "status": member.status,
            "outcome": member.outcome, "reasons": reasons_of(member), "due_at": _iso(as_utc(member.due_at)),
            "colour": member.colour, "result": member.result, "result_no": member.result_no}


def reasons_of(application: Application) -> list[str]:
    """Why an application was answered as it was, in the applicant's words (engine/explanation.py)."""
    return [reason["text"] for reason in application.reasons or []]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
