"""The run side of a bundle (一件事): its member steps and its member applications.

A bundle's BPMN waits at a member step while that matter's own application runs — its own
process version, rules, department queue, deadline, decision and number. The runner
(engine/running/run.py) calls ``settle`` after each run of a bundle:

- a member step that became ready starts its member (its form fed from the bundle's,
  engine/bundles/policy.py) — unless it is not selected, or the bundle stopped;
- a member step whose members have all ended is completed with their answer, and the
  bundle's workflow goes on (the next steps, in parallel or in order as drawn).

A member that ends later (a clerk decides it) marks its bundle pending in the clerk's own
transaction (``member_ended``); the worker's advance settles it. Member data stays in the
member applications: the bundle's workflow holds only each step's answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.util import identity_key
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.explanation import record_reasons
from engine.bundles.policy import ORDER_STEP, BundlePolicy, Member, OnRefusal, is_bundle, member_of
from engine.definitions.versions import current_definitions
from engine.errors import Forbidden, InvalidInput
from engine.events import EventKind, record
from engine.running.compiled import compiled
from engine.store.models import (ACTIVE_TASK, Application, ApplicationStatus, Event, Matter, Outcome,
                                 ServiceDefinition, Task, TaskStatus, User)

if TYPE_CHECKING:
    from engine.applications import Applications

# A run starts at most this many members (a member's start is a whole submission: 10-20 ms
# on PostgreSQL): each step of a large cart order stays short, and the worker starts the
# rest, a slice per advance, the bundle pending meanwhile (bench/RESULTS.md, "Bundles").
MEMBERS_STARTED_PER_RUN = 2


class MemberProgress(StrEnum):
    """Where a bundle's member stands, as the combined status shows it."""

    DONE = "done"  # approved
    REFUSED = "refused"  # answered with a refusal (or revoked)
    IN_PROGRESS = "in_progress"  # its application runs or waits in its department
    FAILED = "failed"  # its run failed: an incident, a person takes it over
    WITHDRAWN = "withdrawn"  # stopped by its bundle after another member's refusal
    NOT_STARTED = "not_started"  # could not start (its form, its subject, a result it needs)
    NOT_SELECTED = "not_selected"  # the bundle's form did not choose it
    WAITING_FOR_EARLIER = "waiting_for_earlier"  # its step is still ahead
    SKIPPED = "skipped"  # its step was passed without starting it (the bundle stopped)


SKIPPED = MemberProgress.SKIPPED.value  # a member step's answer when its member was not started
REFUSED = (Outcome.REJECT, Outcome.REVOKED)


def policy_of(bundle: Application) -> BundlePolicy:
    """The bundle's members: its version's policy, or for a cart the matters of its order."""
    policy = BundlePolicy.of(bundle.definition.policy)
    return policy.for_order(bundle.ordered_matters or []) if policy.cart else policy


class MemberState(NamedTuple):
    """What settling a bundle reads of a member: one narrow row each, however many members."""

    id: int | None  # None: started in this run, not flushed yet (``loaded`` holds it)
    matter_code: str
    status: str
    outcome: str | None
    loaded: Application | None = None

    @classmethod
    def of(cls, member: Application) -> MemberState:
        return cls(member.id, member.matter_code, member.status, member.outcome, member)


def member_states(session: Session, bundle_id: int) -> dict[str, MemberState]:
    return {row.matter_code: MemberState(*row) for row in session.execute(
        select(Application.id, Application.matter_code, Application.status, Application.outcome)
        .where(Application.bundle_id == bundle_id))}


def members_of(session: Session, bundle_id: int) -> dict[str, Application]:
    """The bundle's member applications by matter (their workflow state left unread)."""
    return {member.matter_code: member for member in session.scalars(
        select(Application).where(Application.bundle_id == bundle_id).options(defer(Application.workflow))
        .order_by(Application.id))}


def not_started_of(session: Session, bundle_id: int) -> dict[str, str]:
    """Members that could not start (their form or subject refused), with the reason."""
    return {event.data["matter"]: event.data["reason"] for event in session.scalars(
        select(Event).where(Event.application_id == bundle_id, Event.kind == EventKind.BUNDLE_MEMBER_NOT_STARTED))}


def skipped_of(session: Session, bundle_id: int) -> set[str]:
    """Members whose steps were passed without starting them (not selected, or stopped)."""
    return {matter for event in session.scalars(select(Event).where(
        Event.application_id == bundle_id, Event.kind == EventKind.BUNDLE_MEMBER_ANSWERED))
        for matter, answer in event.data["members"].items() if answer == SKIPPED}


def pending_members(session: Session, bundle: Application) -> list[int]:
    """A bundle's members with work left pending (a deferred source): handed over with it."""
    if not is_bundle(bundle.definition):
        return []
    return list(session.scalars(select(Application.id).where(Application.bundle_id == bundle.id,
                                                             Application.pending_since.is_not(None))))


def ended(member: Application | MemberState) -> bool:
    return member.status == ApplicationStatus.COMPLETED


def refused(member: Application | MemberState) -> bool:
    return ended(member) and member.outcome in REFUSED


def combined_outcome(answers: list[str]) -> Outcome:
    """The bundle's answer from its members' (withdrawn ones left out): approve when all
    were approved, reject when none was, partial otherwise."""
    answers = [a for a in answers if a != Outcome.WITHDRAWN]
    approved = sum(1 for a in answers if a == Outcome.APPROVE)
    if answers and approved == len(answers):
        return Outcome.APPROVE
    return Outcome.REJECT if approved == 0 else Outcome.PARTIAL


@dataclass
class MemberSteps:
    applications: Applications  # members start as any submission does: admitted, then started

    def settle(self, session: Session, bundle: Application, workflow: BpmnWorkflow, now: datetime,
               actor: str) -> bool:
        """Start the members of ready steps; complete the steps whose members have all ended.
        True when a step was completed (the workflow can go on)."""
        ready = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if member_of(t.task_spec)]
        if not ready:
            return False
        if bundle.id is None:  # members refer to it
            session.flush()
        policy = policy_of(bundle)
        members, not_started = member_states(session, bundle.id), not_started_of(session, bundle.id)
        stopped = self._stop_if_refused(session, bundle, policy, members, not_started, now, actor)
        started, completed = 0, False
        for step in ready:
            code = member_of(step.task_spec)
            matters = (bundle.ordered_matters or []) if code == ORDER_STEP else [code]
            due = [] if stopped else [m for m in matters if m not in members and m not in not_started
                                      and policy.member(m).selected(bundle.form_data)]
            if len(due) > MEMBERS_STARTED_PER_RUN - started:
                due = due[:MEMBERS_STARTED_PER_RUN - started]
                bundle.pending_since = now  # the worker starts the rest, a slice per advance
            definitions = current_definitions(session, due) if due else {}
            for matter in due:
                if stopped:
                    break
                started += 1
                application = self._start(session, bundle, policy.member(matter), definitions.get(matter),
                                          step.task_spec.bpmn_id, now, actor)
                if application is None:
                    not_started = not_started_of(session, bundle.id)
                else:
                    members[matter] = MemberState.of(application)
                stopped = self._stop_if_refused(session, bundle, policy, members, not_started, now, actor)
            answers = {}
            for matter in matters:
                if matter in members and ended(members[matter]):
                    answers[matter] = members[matter].outcome
                elif matter in not_started:
                    answers[matter] = Outcome.REJECT
                elif matter not in members and (stopped or not policy.member(matter).selected(bundle.form_data)):
                    answers[matter] = SKIPPED
            if len(answers) == len(matters):
                self._complete(session, bundle, step, answers, now, actor)
                completed = True
        return completed

    def answer(self, session: Session, bundle: Application) -> tuple[Outcome, dict]:
        """The bundle's answer when its process ends: the combined outcome and every member's result."""
        session.flush()  # members started in this very run (the runner's no-autoflush block would hide them)
        members, not_started = members_of(session, bundle.id), not_started_of(session, bundle.id)
        rows = [{"matter": m.matter_code, "tracking_no": m.tracking_no, "outcome": m.outcome,
                 "result_no": m.result_no} for m in members.values()]
        rows += [{"matter": matter, "tracking_no": None, "outcome": Outcome.REJECT.value, "reason": reason}
                 for matter, reason in not_started.items()]
        return combined_outcome([row["outcome"] for row in rows]), {"members": rows}

    def member_ended(self, session: Session, member: Application, now: datetime) -> None:
        """A member application ended: its bundle has a step to complete. When the bundle's own
        run started it (the bundle is in this session), that run settles it; otherwise the
        bundle is marked pending here, in the member's transaction, with its version moved on
        so an advance of the bundle that read it before loses and runs again — two members
        ending at once in two departments both go through, neither gets a conflict."""
        if identity_key(Application, member.bundle_id) in session.identity_map:
            return
        session.execute(update(Application).where(Application.id == member.bundle_id).values(
            pending_since=func.coalesce(Application.pending_since, now), version=Application.version + 1)
            .execution_options(synchronize_session=False))

    def _start(self, session: Session, bundle: Application, member: Member, definition: ServiceDefinition | None,
               element: str, now: datetime, actor: str) -> Application | None:
        """Start one member application, its form fed from the bundle's; None, with the reason
        recorded, when it cannot start (an earlier member it needs was refused, its subject…)."""
        results = _results(session, bundle.id, {f.result_of for f in member.fields.values() if f.result_of})
        user = session.get(User, bundle.applicant_id)
        if definition is None:
            return self._not_started(session, bundle, member, element, "该事项暂未上线，未能办理", now, actor)
        fed = member.data(compiled(definition).form.fields, bundle.form_data, results)
        if fed.waiting_for:
            names = "、".join(sorted({_matter_name(session, m) for m in fed.waiting_for.values()}))
            return self._not_started(session, bundle, member, element, f"所需的{names}结果未取得，无法办理", now, actor)
        try:
            admission = self.applications.admit(session, user, definition, fed.data)
        except InvalidInput as exc:  # its messages are the applicant's words; the detail may be English
            reason = "申请信息有误，未能办理：" + "；".join(m for messages in exc.errors.values() for m in messages)
            return self._not_started(session, bundle, member, element, reason, now, actor, exc.errors)
        except Forbidden as exc:  # whom it is for: the rule's Chinese reason
            return self._not_started(session, bundle, member, element, str(exc.detail), now, actor)
        application = self.applications.start(session, user, definition, admission, None, bundle=bundle,
                                              element=element)
        record(session, EventKind.BUNDLE_MEMBER_STARTED, actor, now, {
            "matter": member.matter, "element": element, "tracking_no": application.tracking_no,
            "status": application.status, "outcome": application.outcome}, application=bundle)
        return application

    @staticmethod
    def _not_started(session: Session, bundle: Application, member: Member, element: str, reason: str,
                     now: datetime, actor: str, errors: dict | None = None) -> None:
        """A member that cannot start: its step is answered as refused, with the reason recorded."""
        record(session, EventKind.BUNDLE_MEMBER_NOT_STARTED, actor, now, {
            "matter": member.matter, "element": element, "reason": reason, **({"errors": errors} if errors else {})},
            application=bundle)

    def _complete(self, session: Session, bundle: Application, step, answers: dict[str, str], now: datetime,
                  actor: str) -> None:
        """The member step's answer goes under its element id (a gateway may read it), then on."""
        element = step.task_spec.bpmn_id
        answered = [a for a in answers.values() if a not in (SKIPPED, Outcome.WITHDRAWN)]
        outcome = (combined_outcome(answered).value if answered
                   else Outcome.WITHDRAWN.value if Outcome.WITHDRAWN in answers.values() else SKIPPED)
        step.data[element] = {"outcome": outcome}
        step.run()
        record(session, EventKind.BUNDLE_MEMBER_ANSWERED, actor, now, {
            "element": element, "outcome": outcome, "members": {m: str(a) for m, a in answers.items()}},
            application=bundle)

    def _stop_if_refused(self, session: Session, bundle: Application, policy: BundlePolicy,
                         members: dict[str, MemberState], not_started: dict[str, str], now: datetime,
                         actor: str) -> bool:
        """on_refusal: stop — once a member is refused (or could not start), withdraw the
        members still running (their open tasks leave the queues); True when stopped."""
        refusals = [m.matter_code for m in members.values() if refused(m)] + sorted(not_started)
        if policy.on_refusal != OnRefusal.STOP or not refusals:
            return False
        running = [m for m in members.values() if not ended(m)]
        if not running:
            return True
        reason = f"同一件事中的{'、'.join(_matter_name(session, m) for m in refusals)}未获办理，本件随之终止"
        for member in (m.loaded or session.get(Application, m.id) for m in running):
            member.status, member.outcome, member.completed_at = ApplicationStatus.COMPLETED, Outcome.WITHDRAWN, now
            member.result, member.pending_since, member.timer_due_at = {"reason": reason}, None, None
            for task in session.scalars(select(Task).where(Task.application_id == member.id,
                                                           Task.status.in_(ACTIVE_TASK))):
                task.status = TaskStatus.CANCELLED
            record_reasons(session, member)
            record(session, EventKind.MEMBER_WITHDRAWN, actor, now, {"bundle": bundle.tracking_no, "reason": reason},
                   application_id=member.id)
        record(session, EventKind.BUNDLE_STOPPED, actor, now, {
            "refused": refusals, "withdrawn": [m.matter_code for m in running], "reason": reason}, application=bundle)
        return True


def _results(session: Session, bundle_id: int, matters: set[str]) -> dict[str, dict]:
    """The results of the bundle's approved members among ``matters`` (what feeds a later one)."""
    if not matters:
        return {}
    return {code: result or {} for code, result in session.execute(
        select(Application.matter_code, Application.result).where(
            Application.bundle_id == bundle_id, Application.matter_code.in_(matters),
            Application.outcome == Outcome.APPROVE))}


def _matter_name(session: Session, code: str) -> str:
    matter = session.get(Matter, code)
    return matter.name if matter else code
