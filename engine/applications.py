"""Applications (办件), the applicant's use cases: submit, read, list, hand in supplements.

Each change is one transaction at the outer edge: load what it needs, run the workflow
(engine/running/run.py) until it waits, commit, then hand pending work to the queue. The
``version`` column makes a conflicting commit fail (StaleDataError -> Conflict).
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from engine.bundles.policy import is_bundle
from engine.people import regions, subjects
from engine.access import may_read, require_submitter
from engine.config import Settings
from engine.oversight.deadlines import colour_at, deadline_for
from engine.definitions.versions import current_definition
from engine.errors import Conflict, InvalidInput, NotFound, SubjectRefused
from engine.events import EventKind, record
from engine.store.models import Application, ApplicationStatus, Event, Matter, Task, TaskStatus, User
from engine.running.compiled import compiled
from engine.running.run import Runner
from engine.running.transaction import end_reads, stale_is_conflict
from engine.people.subjects import Binding, SubjectPolicy, SubjectRule
from engine.tasks import answer_task
from engine.uploads import attaching
from forms import FormValidationError


@dataclass(frozen=True)
class Admission:
    """A submission let in: its cleaned data, whom it is for, where it is handled."""

    data: dict
    binding: Binding | None
    region: str


@dataclass
class Applications:
    sessions: sessionmaker[Session]
    runner: Runner

    def submit(self, user: User, matter_code: str, data: dict, idempotency_key: str | None = None,
               proactive: bool = False, region: str | None = None, uploads: Sequence[str] = (),
               upload_limit: int = Settings.upload_max_per_application) -> tuple[Application, bool]:
        """Validate, start and run a new application; returns (application, created).

        The same ``Idempotency-Key`` from the same applicant returns the first
        application instead of starting a second one. ``proactive``: started by 免申即享
        on the person's behalf. ``region``: where the applicant chooses to apply (就近办),
        where the matter allows it (engine/people/regions.py). ``uploads``: material files
        uploaded before (engine/uploads/attaching.py), made part of it; at most ``upload_limit``.
        """
        require_submitter(user)
        digest = request_digest(matter_code, data)
        with self.sessions() as session:
            existing = by_idempotency_key(session, user.id, idempotency_key, digest)
            if existing is not None:
                return existing, False
            definition = current_definition(session, matter_code)
            if is_bundle(definition):
                raise InvalidInput(f"{matter_code} is a bundle", {"matter": [bundle_path_hint(definition)]})
            admission = self.admit(session, user, definition, data, proactive, region)
            application, created = self.start_once(session, user, definition, admission, idempotency_key, digest,
                                                   proactive=proactive, uploads=attaching.in_submission(uploads),
                                                   upload_limit=upload_limit)
        if not created:
            return application, False
        self.runner.hand_over(application)
        return application, True

    def start_once(self, session: Session, user: User, definition, admission: Admission,
                   idempotency_key: str | None, digest: str, **start) -> tuple[Application, bool]:
        """Start and commit a new application (``start``'s keywords); (application, created).
        When the same key, submitted at the same moment, won the race: the winner's."""
        try:
            application = self.start(session, user, definition, admission, idempotency_key, **start)
            application.request_digest = digest if idempotency_key else None
            session.commit()
        except IntegrityError:
            session.rollback()
            existing = by_idempotency_key(session, user.id, idempotency_key, digest)
            if existing is None:
                raise
            return existing, False
        return application, True

    def get(self, user: User, application_id: int) -> tuple[Application, list[Event], list[Task]]:
        """The application, its history, and its steps (every human task, in order) — what
        the applicant follows: 受理, 补正, 审核, 审批, 出件."""
        with self.sessions() as session:
            application = session.get(Application, application_id)
            if application is None or not may_read(user, application, session):
                raise NotFound("no such application")  # the same for "not yours": nothing learnt
            history = session.scalars(select(Event).where(Event.application_id == application_id)
                                      .order_by(Event.id)).all()
            steps = session.scalars(select(Task).where(Task.application_id == application_id).order_by(Task.id)).all()
            return application, list(history), list(steps)

    def mine(self, user: User, limit: int = 50) -> list[Application]:
        with self.sessions() as session:
            return list(session.scalars(select(Application).where(subjects.theirs(session, user))
                                        .order_by(Application.id.desc()).limit(limit)))

    def supplement(self, user: User, application_id: int, answer: dict,
                   upload_limit: int = Settings.upload_max_per_application) -> Application:
        """The applicant hands in the materials the window asked for (补正); the clock resumes.
        A material whose reference is ``upload:<id>`` attaches that upload (engine/uploads/attaching.py)."""
        with self.sessions() as session, stale_is_conflict(session, "the application changed meanwhile; reload it"):
            application = session.get(Application, application_id)
            if application is None or not subjects.is_theirs(session, user, application):
                raise NotFound("no such application of yours")
            if not subjects.may_act_on(session, user, application, self.runner.clock()):
                raise SubjectRefused("代办授权已不再有效，补正须由本人或持有效授权的代办人提交",
                                     SubjectRule.AUTHORISATION_ENDED)
            task = session.scalars(select(Task).where(Task.application_id == application_id,
                                                      Task.candidate_role == "applicant",
                                                      Task.status == TaskStatus.OPEN)).first()
            if task is None:
                raise Conflict(f"该申请现在不需要补正材料 (application {application_id} is not waiting for materials from you)")
            application = answer_task(self.runner, session, task, user, answer)
            attaching.attach(session, user, application, attaching.in_materials(task.result or {}), upload_limit,
                             self.runner.clock())
            session.commit()
        self.runner.hand_over(application)
        return application

    def admit(self, session: Session, user: User, definition, data: dict, proactive: bool = False,
              region: str | None = None, earlier: Binding | None = None) -> Admission:
        """The form as submitted first, then who may apply for whom (engine/people/subjects.py), and
        only then does the registry fill and check the names (秒填): a stranger learns nothing
        of what the registry holds. Then where it is handled (engine/people/regions.py)."""
        matter = session.get(Matter, definition.matter_code)
        binding = self.check(session, user, definition, data, proactive=proactive, earlier=earlier)
        try:
            cleaned = compiled(definition).form.validate(subjects.prefill(session, binding, data))
        except FormValidationError as exc:
            raise InvalidInput("the form has errors", exc.errors) from exc
        subjects.check_identity_fields(session, SubjectPolicy.of(definition.policy), binding, cleaned)
        return Admission(cleaned, binding, regions.route(matter, definition.policy, binding, region))

    def check(self, session: Session, user: User, definition, data: dict, later: Iterable[str] = (),
              proactive: bool = False, earlier: Binding | None = None) -> Binding | None:
        """The first half of ``admit``: the form as submitted (but for the fields in ``later``,
        which a bundle fills from an earlier member's result), then whom it is for (``earlier``:
        the binding of the member checked before, reused where it holds here too).
        InvalidInput (422) or SubjectRefused (403)."""
        policy = SubjectPolicy.of(definition.policy)
        form = compiled(definition).form
        errors = _form_errors(form, data, ignore=subjects.left_to_registry(policy, data) | set(later))
        if errors:
            raise InvalidInput("the form has errors", errors)
        if proactive:
            return subjects.bind_proactive(session, policy, data)
        return (subjects.reuse_binding(earlier, policy, data)
                or subjects.bind(session, user, definition.matter_code, policy, data, self.runner.clock()))

    def start(self, session: Session, user: User, definition, admission: Admission, idempotency_key: str | None,
              proactive: bool = False, bundle: Application | None = None, element: str | None = None,
              ordered: list[str] | None = None, uploads: dict[str, str] | None = None,
              upload_limit: int = Settings.upload_max_per_application) -> Application:
        """Store the new application and run it until it waits. ``bundle``/``element``: a member
        application started by that bundle's step (一件事); ``ordered``: a cart order's matters;
        ``uploads``: the uploads it names, by field (engine/uploads/attaching.py), attached
        once it has run (a refusal rolls it all back)."""
        data, binding = admission.data, admission.binding
        now = self.runner.clock()
        matter = session.get(Matter, definition.matter_code)
        workflow, service_tasks = self.runner.start(definition, data)
        if bundle is None:  # a member starts inside its bundle's run, which has written already
            end_reads(session)
        application = Application(
            tracking_no=f"{now:%Y%m%d}{secrets.token_hex(5).upper()}", matter_code=definition.matter_code,
            definition_id=definition.id, applicant_id=user.id, region=admission.region,
            idempotency_key=idempotency_key, status=ApplicationStatus.RUNNING, form_data=data, workflow="",
            created_at=now, updated_at=now, clock_pauses=[], proactive=proactive, bundle_element=element,
            ordered_matters=ordered)
        if bundle is not None:
            application.bundle_id = bundle.id
        if binding is not None:
            application.subject_kind, application.subject_id = binding.kind, binding.subject_id
            application.authorisation_id = binding.authorisation.id if binding.authorisation else None
        deadline = deadline_for(self.runner.calendar, now, matter.promised_days, [])
        application.due_at, application.yellow_at = deadline.due_at, deadline.yellow_at
        application.colour = colour_at(deadline, now)
        application.definition = definition
        session.add(application)  # inserted with its events in one flush, at commit
        record(session, EventKind.SUBMITTED, user.username, now, application=application, data={
            "matter": definition.matter_code, "version": definition.version,
            "basis": binding.basis if binding else None})
        self.runner.run(session, application, workflow, service_tasks, allow_deferred=False, actor=user.username)
        attaching.attach(session, user, application, uploads or {}, upload_limit, now)
        return application


def bundle_path_hint(definition) -> str:
    """Where a bundle (or the cart) is applied for instead of /api/applications."""
    if (definition.policy.get("bundle") or {}).get("cart"):
        return "这是政务超市订单，请在政务超市选择事项后一次下单 (POST /api/cart/orders)"
    return f"这是“一件事”套餐，请在政务超市一表申请 (POST /api/bundles/{definition.matter_code}/applications)"


def _form_errors(form, data: dict, ignore: set[str]) -> dict[str, list[str]]:
    """The form's errors on the data as submitted, but for the fields in ``ignore``."""
    try:
        form.validate(data)
    except FormValidationError as exc:
        return {name: messages for name, messages in exc.errors.items() if name not in ignore}
    return {}


def request_digest(matter_code: str, data: dict) -> str:
    """What an ``Idempotency-Key`` stands for: the matter and the form data as submitted."""
    canonical = json.dumps({"matter": matter_code, "data": data}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def by_idempotency_key(session: Session, applicant_id: int, key: str | None, digest: str) -> Application | None:
    """The application first submitted under the key; the same key with another body is a
    client's mistake that would otherwise lose the second application silently: refused."""
    if not key:
        return None
    existing = session.scalars(select(Application).where(Application.applicant_id == applicant_id,
                                                         Application.idempotency_key == key)).first()
    if existing is not None and existing.request_digest not in (None, digest):
        raise InvalidInput("Idempotency-Key reused for another request", {"Idempotency-Key": [
            f"this key was used for application {existing.tracking_no} with other data; "
            "use a new key for a new application"]})
    return existing
