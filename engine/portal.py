"""What the applicant portal reads that no other use case does: the form values the
registry fills for whom the caller may apply (秒填, before they submit).

Only for a party the caller may apply for (engine/people/subjects.py ``bind``: themselves,
a company they act for, a person who authorised them); anyone else is "not found", as
everywhere: nothing is learnt by asking.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from engine.definitions.versions import current_definition
from engine.errors import NotFound, SubjectRefused
from engine.people import subjects
from engine.people.authorisations import visible_to
from engine.people.identity import identity_of
from engine.people.subjects import SubjectKind, SubjectPolicy, SubjectRule
from engine.store.models import Matter, User
from forms.identifiers import is_valid_resident_id

NOT_YOURS = "没有可代为填写的信息：只能为本人、所代表的企业或授权您代办的人申请"


@dataclass(frozen=True)
class Prefill:
    matter: str
    subject: str | None  # the resident ID or credit code it was filled for
    data: dict  # form field -> value: the party's ID and what the registry fills (秒填)


def prefill(session: Session, user: User, matter_code: str, now: datetime, subject: str | None = None,
            authorisation: int | None = None) -> Prefill:
    """The values the registry would fill in the matter's form (engine/people/subjects.py
    ``prefill``, the same that fills them at submission) for the party the caller applies
    for: ``authorisation`` (an agent: the principal of one of theirs), else ``subject`` (a
    company they act for, a person who authorised them), else themselves. NotFound for a
    party they may not apply for; SubjectRefused (403) only for their own unverified identity."""
    if session.get(Matter, matter_code) is None:
        raise NotFound(f"no matter {matter_code!r}")
    definition = current_definition(session, matter_code)
    policy = SubjectPolicy.of(definition.policy)
    if authorisation is not None:
        subject = _principal_of(session, user, authorisation)
    elif subject is None:
        identity = identity_of(session, user)
        if identity is None:
            raise SubjectRefused("请先完成实名认证再申请", SubjectRule.NOT_VERIFIED)
        subject = identity.resident_id
    if policy is None:  # a matter without ``subject:`` is for the caller; nothing to fill
        return Prefill(matter_code, subject, {})
    kind = SubjectKind.PERSON if is_valid_resident_id(subject) else SubjectKind.COMPANY
    party = next((p for p in policy.parties if p.kind is kind), None)
    if party is None:
        raise NotFound(NOT_YOURS)
    data = {party.id_field: party.subject_id({party.id_field: subject})}
    try:
        binding = subjects.bind(session, user, matter_code, SubjectPolicy((party,)), data, now)
    except SubjectRefused as refused:
        if refused.rule == SubjectRule.NOT_VERIFIED:
            raise
        raise NotFound(NOT_YOURS) from refused
    filled = subjects.prefill(session, binding, data)
    return Prefill(matter_code, binding.subject_id, {key: value for key, value in filled.items() if value is not None})


def _principal_of(session: Session, user: User, authorisation_id: int) -> str:
    """The principal of an authorisation the caller may act on (as its agent or outlet)."""
    held = next((a for a in visible_to(session, user) if a.id == authorisation_id
                 and a.principal_id_number != user.resident_id), None)
    if held is None:
        raise NotFound(f"no authorisation {authorisation_id} of yours")
    return held.principal_id_number
