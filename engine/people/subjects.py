"""Subject binding: whom an application is for, and whether the caller may apply for them.

Each matter's catalogue entry declares its subject (申请对象): the form field naming the
person (resident ID) or company (unified social credit code) the application is for, and
the identity fields the registry fills in (秒填) for the caller's own party: ``fields`` are
filled and checked against the registry, ``fill`` only offered (an applicant unit's name
may replace the handler's). A rental filing names two parties; either may file, naming the
other. A submission is accepted only when a party is

- the caller (a verified person, 实名认证: engine/people/identity.py),
- a company the caller acts for (法定代表人 or 经办人: engine/people/company_roles.py), or
- a person who authorised the caller for this matter (授权代办: engine/people/authorisations.py);

otherwise ``SubjectRefused`` (403) names the rule that failed. A matter that declares no
subject (an analyst's new matter) is for the caller, who must be verified. 免申即享 is the
system applying by law for the person its scan found (``bind_proactive``).

    subject:
      - {person: id_number, fields: {applicant_name: name}}     # form field: registry column
      - {company: credit_code, fields: {company_name: name, legal_representative: legal_rep_name}}
      - {person: id_number, fill: {applicant_name: name}}       # offered, not checked
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy import or_
from sqlalchemy.orm import Session

from engine.people.authorisations import AGENT_ROLE, Refusal, authorisation_for, holds
from engine.errors import InvalidInput, SubjectRefused
from engine.people.identity import Identity, companies_of, identity_of
from engine.store.models import Application, Authorisation, User
from engine.store.registries import CompanyRecord, RegistryPerson
from forms.identifiers import normalise_resident_id


class SubjectKind(StrEnum):
    PERSON = "person"  # by resident ID (人口库)
    COMPANY = "company"  # by unified social credit code (市场主体登记)


class Basis(StrEnum):
    """Why the caller may apply for the subject."""

    SELF = "self"
    COMPANY_ROLE = "company_role"
    AUTHORISATION = "authorisation"  # 授权代办
    PROACTIVE = "proactive"  # 免申即享: started by the system


class SubjectRule(StrEnum):
    """The ``rule`` of a refusal that is not an authorisation's (engine/authorisations.Refusal)."""

    NOT_VERIFIED = "identity_not_verified"
    NOT_COMPANY_ROLE = "not_company_role"
    NO_SUBJECT = "no_subject"
    AUTHORISATION_ENDED = "authorisation_ended"  # an agent acting on what they submitted, no longer authorised


REGISTRY = {SubjectKind.PERSON: RegistryPerson, SubjectKind.COMPANY: CompanyRecord}
MISMATCH = "与登记信息不一致，请核对（可留空，由系统自动填写）"
MISMATCH_OTHER = "与身份证号码的登记信息不一致，请核对"
NOT_IN_REGISTRY = {SubjectKind.PERSON: "人口库中没有这个身份证号码，请核对",
                   SubjectKind.COMPANY: "市场主体登记中没有这个统一社会信用代码，请核对"}


@dataclass(frozen=True)
class Party:
    """One party an application may be for: its form field and the fields the registry fills."""

    kind: SubjectKind
    id_field: str
    fields: dict[str, str]  # form field -> registry column (秒填, checked)
    fill: dict[str, str]  # form field -> registry column (秒填 when left empty, not checked: may name a unit)

    @classmethod
    def of(cls, entry: dict) -> Party:
        kinds = [kind for kind in SubjectKind if kind.value in entry]
        unknown = set(entry) - {kind.value for kind in SubjectKind} - {"fields", "fill"}
        if len(kinds) != 1 or unknown:
            raise ValueError(f"subject: each party names one of person/company, and fields or fill, not {entry}")
        fields, fill = dict(entry.get("fields") or {}), dict(entry.get("fill") or {})
        columns = REGISTRY[kinds[0]].__table__.columns.keys()
        wrong = sorted(column for column in [*fields.values(), *fill.values()] if column not in columns)
        if wrong:
            raise ValueError(f"subject: the {kinds[0].value} registry has no column {', '.join(wrong)}")
        return cls(kinds[0], entry[kinds[0].value], fields, fill)

    @property
    def filled(self) -> dict[str, str]:
        """Every field the registry fills when the form leaves it empty."""
        return {**self.fill, **self.fields}

    def subject_id(self, data: dict) -> str | None:
        value = data.get(self.id_field)
        if not isinstance(value, str) or not value.strip():
            return None
        return normalise_resident_id(value) if self.kind is SubjectKind.PERSON else value.strip().upper()

@dataclass(frozen=True)
class SubjectPolicy:
    """A matter's ``subject:``: the parties, any one of whom the application may be for."""

    parties: tuple[Party, ...]

    @classmethod
    def of(cls, elements: dict) -> SubjectPolicy | None:
        entries = elements.get("subject")
        if entries is None:
            return None
        if not isinstance(entries, list) or not entries:
            raise ValueError("subject: a list of parties, e.g. [{person: id_number}]")
        return cls(tuple(Party.of(entry) for entry in entries))


@dataclass(frozen=True)
class Binding:
    """Whom the application is for and on what basis (recorded on the application)."""

    kind: SubjectKind
    subject_id: str
    basis: Basis
    authorisation: Authorisation | None = None
    party: Party | None = None  # the form's party it binds (None: a matter without ``subject:``)
    # The subject's registry record, read once and held: the identity map keeps objects only
    # while referenced, so each later read was another SELECT.
    record: RegistryPerson | CompanyRecord | None = None


def prefill(session: Session, binding: Binding | None, data: dict) -> dict:
    """秒填: the identity fields the form leaves empty, from the registry record of the party
    the caller may apply for — never of another party (a tenant filing learnt the named
    landlord's name); the form names the other parties itself."""
    if binding is None or binding.party is None:
        return data
    record = binding.record
    filled = dict(data)
    for form_field, column in binding.party.filled.items():
        if record is not None and filled.get(form_field) in (None, ""):
            filled[form_field] = getattr(record, column)
    return filled


def left_to_registry(policy: SubjectPolicy | None, data: dict) -> set[str]:
    """The identity fields the form leaves empty, for the registry to fill (秒填)."""
    if policy is None:
        return set()
    return {name for party in policy.parties for name in party.filled if data.get(name) in (None, "")}


def check_identity_fields(session: Session, policy: SubjectPolicy | None, binding: Binding | None,
                          data: dict) -> None:
    """Every party's ID must be in its registry and the identity fields must match it:
    InvalidInput naming each field that does not (names are checked, not trusted). For a
    party the caller does not act for, an unknown ID and a wrong name read the same: the
    caller learns only that the pair they typed is not registered."""
    if policy is None:
        return
    errors: dict[str, list[str]] = {}
    for party in policy.parties:
        subject_id = party.subject_id(data)
        own = binding is not None and party == binding.party
        record = binding.record if own else _record(session, party, subject_id)
        if subject_id is not None and record is None and (own or not party.fields):
            errors[party.id_field] = [NOT_IN_REGISTRY[party.kind]]
            continue
        for form_field, column in party.fields.items():
            if subject_id is not None and (record is None
                                           or str(data.get(form_field, "")).strip() != getattr(record, column)):
                errors[form_field] = [MISMATCH if own else MISMATCH_OTHER]
    if errors:
        raise InvalidInput("the identity fields do not match the registry", errors)


def bind(session: Session, user: User, matter: str, policy: SubjectPolicy | None, data: dict,
         now: datetime) -> Binding:
    """The party the caller may apply for, or SubjectRefused naming the rule that failed
    (for an agent: the rule the principal's latest authorisation fails).

    Called with the data as submitted, before the registry fills anything in (秒填): a
    stranger gets the same answer for an ID the registry holds and for one it does not."""
    identity = identity_of(session, user)
    if policy is None:
        if identity is None:
            raise SubjectRefused("请先完成实名认证再申请", SubjectRule.NOT_VERIFIED)
        return Binding(SubjectKind.PERSON, identity.resident_id, Basis.SELF)
    refusals: list[tuple[str, str]] = []
    for party in policy.parties:
        subject_id = party.subject_id(data)
        if subject_id is None:
            refusals.append((SubjectRule.NO_SUBJECT, f"表单未填写{party.id_field}"))
            continue
        try:
            binding = _bind_party(session, user, identity, matter, party, subject_id, now)
        except SubjectRefused as refused:
            refusals.append((refused.rule, str(refused.detail)))
            continue
        return replace(binding, record=_record(session, party, subject_id))
    raise _refused(refusals)


def reuse_binding(earlier: Binding | None, policy: SubjectPolicy | None, data: dict) -> Binding | None:
    """An earlier binding of the same caller that holds for this matter too, or None: one made
    on the caller's own identity or company role (those do not depend on the matter, unlike
    an authorisation), for the same subject as this form's first party names. A bundle's
    members, checked one after another, then read the registries once."""
    if earlier is None or policy is None or earlier.basis not in (Basis.SELF, Basis.COMPANY_ROLE):
        return None
    party = policy.parties[0]
    if party.kind is not earlier.kind or party.subject_id(data) != earlier.subject_id:
        return None
    return replace(earlier, party=party)


def bind_proactive(session: Session, policy: SubjectPolicy | None, data: dict) -> Binding | None:
    """免申即享: the system applies for the person in the form (the first party)."""
    if policy is None:
        return None
    party = policy.parties[0]
    subject_id = party.subject_id(data)
    return Binding(party.kind, subject_id, Basis.PROACTIVE, party=party, record=_record(session, party, subject_id))


def _bind_party(session: Session, user: User, identity: Identity | None, matter: str, party: Party,
                subject_id: str, now: datetime) -> Binding:
    if party.kind is SubjectKind.COMPANY:
        if subject_id in companies_of(session, user):
            return Binding(party.kind, subject_id, Basis.COMPANY_ROLE, party=party)
        raise SubjectRefused("您不是该企业的法定代表人或经办人，不能以该企业名义申请", SubjectRule.NOT_COMPANY_ROLE)
    if identity is not None and identity.resident_id == subject_id:
        return Binding(party.kind, subject_id, Basis.SELF, party=party)
    if identity is None and user.role != AGENT_ROLE:  # outlet staff act only under authorisations
        raise SubjectRefused("请先完成实名认证再申请", SubjectRule.NOT_VERIFIED)
    authorisation = authorisation_for(session, user, subject_id, matter, now)
    return Binding(party.kind, subject_id, Basis.AUTHORISATION, authorisation, party)


def _refused(refusals: list[tuple[str, str]]) -> SubjectRefused:
    """The most telling refusal: an authorisation that exists but fails beats none at all."""
    order = [rule.value for rule in (SubjectRule.NOT_VERIFIED, Refusal.REVOKED, Refusal.EXPIRED, Refusal.NOT_YET,
                                     Refusal.OTHER_MATTER, SubjectRule.NOT_COMPANY_ROLE, Refusal.NONE,
                                     SubjectRule.NO_SUBJECT)]
    rule, detail = min(refusals, key=lambda refusal: order.index(refusal[0]))
    return SubjectRefused(detail, rule)


def _record(session: Session, party: Party, subject_id: str | None):
    return session.get(REGISTRY[party.kind], subject_id) if subject_id else None


def represented_by(session: Session, user: User) -> set[str]:
    """The subjects whose applications are the user's own: their resident ID and the
    companies they act for now (a principal sees everything done in their name)."""
    identity = identity_of(session, user)
    return set(companies_of(session, user)) | ({identity.resident_id} if identity else set())


def theirs(session: Session, user: User):
    """The SQL condition for "the user's applications": submitted by them (an agent sees
    only these), or for a subject they are or act for."""
    mine = [Application.applicant_id == user.id]
    subjects = represented_by(session, user)
    if subjects:
        mine.append(Application.subject_id.in_(subjects))
    return or_(*mine)


def is_theirs(session: Session, user: User, application: Application) -> bool:
    """Whether the user may read the application as theirs (what an agent did stays readable)."""
    return application.applicant_id == user.id or application.subject_id in represented_by(session, user)


def about(session: Session, user: User):
    """The SQL condition of ``is_about``: the applications that are the user's own matter."""
    return or_(Application.subject_id.in_(represented_by(session, user)),
               Application.subject_id.is_(None) & (Application.applicant_id == user.id))


def is_about(session: Session, user: User, application: Application) -> bool:
    """Whether the application is the user's own matter — theirs as its subject, or their
    company's (好差评 belongs to them); one made before subject binding, its applicant's."""
    if application.subject_id is None:
        return application.applicant_id == user.id
    return application.subject_id in represented_by(session, user)


def may_act_on(session: Session, user: User, application: Application, now: datetime) -> bool:
    """Whether the user may act on the application as its applicant (补正): its subject, or
    the agent who submitted it while their authorisation still holds."""
    if is_about(session, user, application):
        return True
    if application.applicant_id != user.id or application.authorisation_id is None:
        return False
    return holds(session.get(Authorisation, application.authorisation_id), application.matter_code, now)


def basis_of(application: Application) -> Basis | None:
    """On what basis the application was made (None: made before subject binding)."""
    if application.proactive:
        return Basis.PROACTIVE
    if application.subject_kind is None:
        return None
    if application.authorisation_id is not None:
        return Basis.AUTHORISATION
    return Basis.COMPANY_ROLE if application.subject_kind == SubjectKind.COMPANY else Basis.SELF
