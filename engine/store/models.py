"""The SQL store: one table per concept of ARCHITECTURE.md.

The database is the truth. ``application.workflow`` holds SpiffWorkflow's own
serialized instance state (the spec is stored once, with the service definition);
``task`` is the queue index projected from it so queues never deserialize workflows;
``event`` is the append-only audit log.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

DEFAULT_REGION = "460100"  # 海口市: every row carries its administrative region


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if moment is None or moment.tzinfo:
        return moment
    return moment.replace(tzinfo=timezone.utc)


class ApplicationStatus(StrEnum):
    RUNNING = "running"  # work handed to a worker, not yet done
    WAITING = "waiting"  # for a person (a clerk's task, the applicant's supplement) or a timer
    COMPLETED = "completed"  # an end event was reached
    FAILED = "failed"  # a run failed: see its incident (engine/oversight/incidents.py)


class Outcome(StrEnum):
    """The applicant's answer a process leaves in ``outcome`` (engine/definitions/bpmn.py OUTCOME_VARIABLE)."""

    APPROVE = "approve"
    REJECT = "reject"
    REVOKED = "revoked"  # 告知承诺: approved on commitment, then the verification failed
    # Only a bundle's (一件事) answer, never a process's: some members approved, some refused.
    PARTIAL = "partial"
    # Only a bundle member's: stopped, unanswered, because another member of its bundle was
    # refused and the bundle's policy stops the rest (engine/bundles/policy.py).
    WITHDRAWN = "withdrawn"


PROCESS_OUTCOMES = (Outcome.APPROVE, Outcome.REJECT, Outcome.REVOKED)  # what a process itself may set


class TaskStatus(StrEnum):
    OPEN = "open"  # in its queue, nobody holds it
    CLAIMED = "claimed"  # a clerk holds it
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # the workflow moved on without it (send-back, a boundary event, a retry)


ACTIVE_TASK = (TaskStatus.OPEN, TaskStatus.CLAIMED)  # still to be done


class JobOutcome(StrEnum):
    """How a periodic job's last run went (``periodic_job_run.outcome``)."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"


class RectificationStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Base(DeclarativeBase):
    type_annotation_map = {dict: JSON, list: JSON, datetime: DateTime(timezone=True)}


class User(Base):
    """A person who signs in: applicant, clerk (with department), analyst, supervisor, admin."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(12), default=DEFAULT_REGION)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)  # cannot sign in; no token works
    # The password is the published demo password: the server refuses to start on such
    # an account unless demo data is allowed (ONEWINDOW_DEMO).
    demo_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # 实名认证: the person's identity, verified against the population registry when the
    # account was registered (engine/people/identity.py). Staff accounts may have none.
    resident_id: Mapped[str | None] = mapped_column(String(18), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(100))
    verified_at: Mapped[datetime | None]


class CompanyRoleKind(StrEnum):
    """What a person may do for a company (法人): the legal representative (法定代表人) is
    named by the company registry; a handler (经办人) acts because the legal
    representative authorised them."""

    LEGAL_REPRESENTATIVE = "legal_representative"
    HANDLER = "handler"


class CompanyRole(Base):
    """A verified person's role for a company; revoked roles stay as history."""

    __tablename__ = "company_role"
    __table_args__ = (
        # One active role per person and company; revoked ones may repeat.
        Index("uq_company_role_active", "user_id", "credit_code", unique=True,
              sqlite_where=text("revoked_at IS NULL"), postgresql_where=text("revoked_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    role: Mapped[str] = mapped_column(String(32))  # a CompanyRoleKind
    granted_by: Mapped[str] = mapped_column(String(64))  # username; for a handler, the legal representative
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    user: Mapped[User] = relationship()


class Authorisation(Base):
    """授权代办: a principal (by resident ID) lets a person or a service outlet apply in
    their name (engine/people/authorisations.py); revoked ones stay as history."""

    __tablename__ = "authorisation"
    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id_number: Mapped[str] = mapped_column(String(18), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)  # a person agent...
    outlet: Mapped[str | None] = mapped_column(String(64), index=True)  # ...or a service outlet's staff
    matters: Mapped[list | None] = mapped_column(JSON)  # matter codes; None: every matter
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime]
    given_by: Mapped[str] = mapped_column(String(16))  # a GivenBy: online | paper
    document_ref: Mapped[str | None] = mapped_column(String(100))  # the paper form's reference
    recorded_by: Mapped[str] = mapped_column(String(64))  # the principal (online) or the outlet's staff
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    agent: Mapped[User | None] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored so a leaked table grants nothing."""

    __tablename__ = "api_token"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    user: Mapped[User] = relationship()


class Matter(Base):
    """事项: the catalogue entry with its standard elements (四级四同)."""

    __tablename__ = "matter"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(12), default=DEFAULT_REGION)
    promised_days: Mapped[int] = mapped_column(Integer)
    legal_days: Mapped[int] = mapped_column(Integer)
    elements: Mapped[dict] = mapped_column(JSON)


class ServiceDefinition(Base):
    """A deployed, immutable version of a matter's BPMN + rule set + form."""

    __tablename__ = "service_definition"
    __table_args__ = (UniqueConstraint("matter_code", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    matter_code: Mapped[str] = mapped_column(ForeignKey("matter.code"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(12), default=DEFAULT_REGION)
    process_id: Mapped[str] = mapped_column(String(100))
    # The files and the serialized specs are read only when a process has not seen this
    # version yet (engine/running/compiled.py caches them by checksum): deferred, so loading a
    # definition, or an application with its definition, does not carry them each time.
    bpmn: Mapped[str] = mapped_column(Text, deferred=True)
    dmn: Mapped[list] = mapped_column(JSON, default=list, deferred=True)
    ruleset: Mapped[str] = mapped_column(Text, deferred=True)
    form: Mapped[str] = mapped_column(Text, deferred=True)
    spec: Mapped[str] = mapped_column(Text, deferred=True)  # serialized process + subprocess specs
    # The names the analyst gave the files (every problem names its file), and further BPMN
    # documents (file name -> text) whose processes the main one's call activities call.
    file_names: Mapped[dict | None] = mapped_column(JSON, deferred=True)
    called_bpmn: Mapped[dict | None] = mapped_column(JSON, default=dict, deferred=True)
    checksum: Mapped[str] = mapped_column(String(64), index=True)
    # The matter's policy when this version was deployed (catalogue keys: credit, grant,
    # materials, result_number, subject…): running applications keep the one they started
    # with, whatever the catalogue says later.
    policy: Mapped[dict] = mapped_column(JSON, default=dict)
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)
    deployed_by: Mapped[str] = mapped_column(String(64))
    # From the repository's catalogue (onewindow serve / deploy), not an analyst's upload:
    # the catalogue never deploys over an analyst's version (engine/definitions/catalogue.py).
    shipped: Mapped[bool] = mapped_column(Boolean, default=False)
    # Every run of a definition reads its matter (department, time limits, catalogue
    # elements): loaded in the same query, so ``session.get(Matter, …)`` after it costs no
    # round trip.
    matter: Mapped[Matter] = relationship(lazy="joined")


def new_public_ref() -> str:
    """The reference applicants see instead of the sequential id (engine/store/references.py)."""
    return secrets.token_urlsafe(16)


class Application(Base):
    """办件: one process instance with its applicant, data, status and decision."""

    __tablename__ = "application"
    __table_args__ = (
        UniqueConstraint("applicant_id", "idempotency_key"),
        UniqueConstraint("matter_code", "result_no", name="uq_application_result_no"),  # a number is issued once
        Index("ix_application_pending", "pending_since"),
        Index("ix_application_applicant", "applicant_id", "created_at"),
        Index("ix_application_supervision", "status", "colour", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_no: Mapped[str] = mapped_column(String(32), unique=True)
    public_ref: Mapped[str] = mapped_column(String(32), unique=True, index=True, default=new_public_ref)
    matter_code: Mapped[str] = mapped_column(ForeignKey("matter.code"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("service_definition.id"))
    applicant_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))  # the account that submitted it
    # Whom it is for (engine/people/subjects.py): a resident ID or a credit code, and the
    # authorisation an agent applied under (授权代办); the principal sees it as theirs.
    subject_kind: Mapped[str | None] = mapped_column(String(8))  # a SubjectKind
    subject_id: Mapped[str | None] = mapped_column(String(18), index=True)
    authorisation_id: Mapped[int | None] = mapped_column(ForeignKey("authorisation.id"))
    region: Mapped[str] = mapped_column(String(12), default=DEFAULT_REGION)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    # SHA-256 of what was submitted under the key: the same key with another body is refused.
    request_digest: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # ApplicationStatus
    outcome: Mapped[str | None] = mapped_column(String(16))
    decision: Mapped[dict | None] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON)
    reasons: Mapped[list] = mapped_column(JSON, default=list)  # engine/explanation.py: why it was answered so
    result_no: Mapped[str | None] = mapped_column(String(64))  # 证照/文书编号: engine/policy/numbers.py
    form_data: Mapped[dict] = mapped_column(JSON)
    workflow: Mapped[str] = mapped_column(Text)
    pending_since: Mapped[datetime | None]  # work handed to a worker, not yet done
    timer_due_at: Mapped[datetime | None] = mapped_column(index=True)  # next BPMN timer; never scan workflows
    due_at: Mapped[datetime | None]
    # 电子监察: when 80% of the promised limit is used (yellow) and the colour now; kept in
    # columns so the sweep and the supervisor's lists are indexed queries.
    yellow_at: Mapped[datetime | None]
    colour: Mapped[str] = mapped_column(String(8), default="green", index=True)
    clock_pauses: Mapped[list] = mapped_column(JSON, default=list)  # [{start, end, reason, by}]
    # Red credit tier's fast lane cuts the promised limit for this application; None: the matter's.
    promised_days: Mapped[int | None]
    # 免证办: materials fetched from the e-licence library, asked of the applicant, avoided.
    materials: Mapped[dict | None] = mapped_column(JSON)
    proactive: Mapped[bool] = mapped_column(Boolean, default=False)  # 免申即享: started for the person
    # 一件事: a member application belongs to the bundle application that started it, at the
    # bundle's step ``bundle_element`` (engine/bundles/): its own matter, queue and answer.
    bundle_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), index=True)
    bundle_element: Mapped[str | None] = mapped_column(String(100))
    # A cart order's matters (政务超市), in order; a declared bundle's come from its policy.
    ordered_matters: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    definition: Mapped[ServiceDefinition] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}


class Task(Base):
    """A human task in a queue: the index clerks read instead of the workflow."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_queue", "department", "status", "due_at"),
        Index("ix_task_assignee", "assignee_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    candidate_role: Mapped[str] = mapped_column(String(16), default="clerk")
    department: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(12), default=DEFAULT_REGION)
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.OPEN)  # a TaskStatus
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    # ",name,name,": only these clerks may take it (engine/people/assignment.py); None: any of the department
    candidate_users: Mapped[str | None] = mapped_column(String(1000))
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    result: Mapped[dict | None] = mapped_column(JSON)
    # Claim, release, delegate, complete and send-back each move the version: of any two
    # at once, exactly one commits (StaleDataError for the other -> 409).
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    application: Mapped[Application] = relationship()

    __mapper_args__ = {"version_id_col": version}


class ResultCounter(Base):
    """The last result number (证照/文书编号) issued per matter and year: one row bumped by
    ``UPDATE … RETURNING`` inside the deciding transaction, so numbers are unique and,
    because a rolled-back approval rolls its number back too, without gaps."""

    __tablename__ = "result_counter"
    matter_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Incident(Base):
    """A run that failed (Camunda Cockpit's incident): where, why, and whether it was retried.
    The applicant sees only that the case went to a person (转人工处理); staff see this."""

    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_open", "status", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    matter_code: Mapped[str] = mapped_column(String(64))
    definition_version: Mapped[int] = mapped_column(Integer)
    element_id: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(32))  # engine.oversight.incidents.IncidentKind
    error: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # engine.oversight.incidents.IncidentStatus
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    application: Mapped[Application] = relationship()


class PeriodicJobRun(Base):
    """The last run of each periodic job (timers, deadlines, reconciler, 免申即享): the
    health endpoint answers 503 when one is older than three of its intervals."""

    __tablename__ = "periodic_job_run"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # JobOutcome
    detail: Mapped[str] = mapped_column(Text, default="")
    runs: Mapped[int] = mapped_column(Integer, default=0)


class Event(Base):
    """Append-only audit log: who did what, when. Nothing updates or deletes it."""

    __tablename__ = "event"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # Lets a new application and its first events go to the database in one flush.
    application: Mapped[Application | None] = relationship()


class Rating(Base):
    """好差评: one rating per finished application."""

    __tablename__ = "rating"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    matter_code: Mapped[str] = mapped_column(ForeignKey("matter.code"), index=True)
    department: Mapped[str] = mapped_column(String(64), index=True)
    level: Mapped[int] = mapped_column(Integer)  # 5 非常满意 … 1 非常不满意
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rectification(Base):
    """整改: a bad review's follow-up for the handling department, with a due date."""

    __tablename__ = "rectification"
    __table_args__ = (Index("ix_rectification_queue", "department", "status", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("rating.id"), unique=True)
    department: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=RectificationStatus.OPEN)  # a RectificationStatus
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    answer: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[Rating] = relationship(lazy="joined")


class UploadKind(StrEnum):
    """What an uploaded material is, as its bytes say (engine/uploads/sniffing.py): never the
    file name's ending or the client's Content-Type."""

    PDF = "pdf"
    JPEG = "jpeg"
    PNG = "png"
    OFD = "ofd"  # GB/T 33190 版式文档: a ZIP with OFD.xml at its root


class ScanStatus(StrEnum):
    """The virus scan's verdict (engine/uploads/scanning.py); an infected file is refused, so
    only clean and not_scanned uploads are stored."""

    CLEAN = "clean"
    INFECTED = "infected"
    NOT_SCANNED = "not_scanned"  # no scanner configured (ONEWINDOW_UPLOAD_SCAN_COMMAND)


class StorageKind(StrEnum):
    """Where an upload's bytes are (engine/uploads/storage.py)."""

    DATABASE = "database"  # the upload_blob table: the embedded default
    DIRECTORY = "directory"  # ONEWINDOW_UPLOAD_DIR, one file per SHA-256


class Upload(Base):
    """A material file an applicant (or a clerk) uploaded: unattached until a submission or a
    补正 answer names it (``upload:<public_id>``), then part of that application."""

    __tablename__ = "upload"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_ref)  # what paths name
    owner_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))  # the client's file name, sanitised (engine/uploads/names.py)
    kind: Mapped[str] = mapped_column(String(8))  # an UploadKind
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_kind: Mapped[str] = mapped_column(String(16))  # a StorageKind
    storage_key: Mapped[str] = mapped_column(String(200))
    scan: Mapped[str] = mapped_column(String(16))  # a ScanStatus
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    application: Mapped[Application | None] = relationship()


class UploadBlob(Base):
    """An upload's bytes when they are kept in the database, once per content (SHA-256)."""

    __tablename__ = "upload_blob"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
