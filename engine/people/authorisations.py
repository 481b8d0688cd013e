"""授权代办: the register of who may apply in whose name.

A principal (委托人, a person known by resident ID) lets an agent (代办人) apply for them:
a person with a verified account, or a service outlet (代办点 — a post office, a community
station) whose staff have the ``agent`` role. It is given online by the principal, or on
paper at an outlet, where the staff member records it with the paper's reference after
checking the principal's name against the population registry. It names the matters it
covers (or all), is valid from/to, and the principal (or the outlet that recorded it)
can revoke it. Elderly people without a smartphone are the seeds' named users of this.

``authorisation_for`` answers whether an agent may act for a principal in a matter now,
or says which rule the latest authorisation fails: none, not yet valid, expired, revoked,
another matter.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.errors import AuthorisationRefused, Forbidden, InvalidInput, NotFound
from engine.store.models import Authorisation, Matter, User, as_utc
from engine.store.registries import DeathRecord, RegistryPerson
from engine.events import record
from forms.identifiers import normalise_resident_id, resident_id_problem

AGENT_ROLE = "agent"  # staff of a service outlet (代办点)
MAX_VALIDITY = timedelta(days=366 * 3)  # an authorisation is renewed at least every three years


class GivenBy(StrEnum):
    ONLINE = "online"  # by the principal, signed in
    PAPER = "paper"  # on paper at an outlet, recorded by its staff


class AuthorisationEvent(StrEnum):
    GIVEN = "authorisation.given"
    REVOKED = "authorisation.revoked"


class Refusal(StrEnum):
    """Why an agent may not act for a principal (the ``rule`` of the 403)."""

    NONE = "no_authorisation"
    NOT_YET = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    OTHER_MATTER = "other_matter"


REFUSAL_TEXT = {
    Refusal.NONE: "没有委托人的代办授权",
    Refusal.NOT_YET: "代办授权尚未生效",
    Refusal.EXPIRED: "代办授权已过期",
    Refusal.REVOKED: "代办授权已被撤销",
    Refusal.OTHER_MATTER: "代办授权不包括此事项",
}


@dataclass(frozen=True)
class Grant:
    """What an authorisation says, as given."""

    principal_id_number: str
    matters: list[str] | None  # None: every matter
    valid_from: datetime
    valid_to: datetime
    agent: User | None = None  # a person agent...
    outlet: str | None = None  # ...or a service outlet
    document_ref: str | None = None  # the paper form's reference


def give_online(session: Session, principal: User, agent_username: str, matters: list[str] | None,
                valid_from: datetime, valid_to: datetime) -> Authorisation:
    """The principal, signed in with a verified identity, authorises a person with one."""
    if not principal.resident_id:
        raise Forbidden("only a person with a verified identity (实名认证) can authorise an agent")
    agent = session.scalars(select(User).where(User.username == agent_username)).first()
    if agent is None or not agent.resident_id:
        raise InvalidInput("the agent must be a person with a verified identity", {"agent": ["未找到已实名的代办人"]})
    if agent.id == principal.id:
        raise InvalidInput("one cannot authorise oneself", {"agent": ["不能授权给自己"]})
    grant = Grant(principal.resident_id, matters, valid_from, valid_to, agent=agent)
    return _record(session, grant, GivenBy.ONLINE, principal.username)


def record_paper(session: Session, staff: User, principal_id_number: str, principal_name: str,
                 matters: list[str] | None, valid_from: datetime, valid_to: datetime,
                 document_ref: str) -> Authorisation:
    """Outlet staff record a paper authorisation for their outlet, the principal's name and
    ID checked against the population registry."""
    if staff.role != AGENT_ROLE or not staff.department:
        raise Forbidden("only the staff of a service outlet record paper authorisations")
    principal_id_number = normalise_resident_id(principal_id_number)
    _check_person(session, principal_id_number, principal_name)
    if not document_ref.strip():
        raise InvalidInput("the paper's reference is required", {"document_ref": ["请填写授权书编号"]})
    grant = Grant(principal_id_number, matters, valid_from, valid_to, outlet=staff.department,
                  document_ref=document_ref.strip())
    return _record(session, grant, GivenBy.PAPER, staff.username)


def _check_person(session: Session, id_number: str, name: str) -> None:
    problem = resident_id_problem(id_number)
    if problem:
        raise InvalidInput("not a valid resident ID", {"principal_id_number": [problem]})
    person = session.get(RegistryPerson, id_number)
    if person is None or person.name != name.strip():
        raise InvalidInput("the name and ID do not match the population registry",
                           {"principal_name": ["姓名与身份证号不符"]})
    if session.get(DeathRecord, id_number) is not None:
        raise InvalidInput("the death register has this person", {"principal_id_number": ["该身份证号码登记为已死亡"]})


def _record(session: Session, grant: Grant, given_by: GivenBy, actor: str) -> Authorisation:
    _check_period(grant.valid_from, grant.valid_to)
    _check_matters(session, grant.matters)
    authorisation = Authorisation(
        principal_id_number=grant.principal_id_number, agent=grant.agent,
        outlet=grant.outlet, matters=sorted(set(grant.matters)) if grant.matters is not None else None,
        # in UTC: SQLite keeps the clock time and drops the offset (a Beijing time started 8 hours late)
        valid_from=as_utc(grant.valid_from).astimezone(timezone.utc),
        valid_to=as_utc(grant.valid_to).astimezone(timezone.utc), given_by=given_by,
        document_ref=grant.document_ref, recorded_by=actor)
    session.add(authorisation)
    session.flush()
    record(session, AuthorisationEvent.GIVEN, actor, data={
        "authorisation": authorisation.id, "given_by": given_by.value, "matters": authorisation.matters,
        "agent": grant.agent.username if grant.agent else None, "outlet": grant.outlet,
        "valid_to": grant.valid_to.isoformat()})
    return authorisation


def _check_period(valid_from: datetime, valid_to: datetime) -> None:
    if as_utc(valid_to) <= as_utc(valid_from):
        raise InvalidInput("an authorisation ends after it starts", {"valid_to": ["须晚于生效时间"]})
    if as_utc(valid_to) - as_utc(valid_from) > MAX_VALIDITY:
        raise InvalidInput("an authorisation is valid for at most three years", {"valid_to": ["有效期最长三年"]})


def _check_matters(session: Session, matters: list[str] | None) -> None:
    if matters is None:
        return
    if not matters:
        raise InvalidInput("name the matters, or leave them out for all", {"matters": ["至少一个事项"]})
    known = set(session.scalars(select(Matter.code).where(Matter.code.in_(matters))))
    unknown = sorted(set(matters) - known)
    if unknown:
        raise InvalidInput(f"unknown matters: {', '.join(unknown)}", {"matters": [f"未知事项 {', '.join(unknown)}"]})


def revoke(session: Session, user: User, authorisation_id: int, now: datetime) -> Authorisation:
    """The principal, or the outlet that recorded it, revokes an authorisation."""
    authorisation = session.get(Authorisation, authorisation_id)
    if authorisation is None or not _may_revoke(authorisation, user):
        raise NotFound(f"no authorisation {authorisation_id} of yours")
    if authorisation.revoked_at is None:
        authorisation.revoked_at, authorisation.revoked_by = now, user.username
        record(session, AuthorisationEvent.REVOKED, user.username, data={"authorisation": authorisation.id})
    return authorisation


def _may_revoke(authorisation: Authorisation, user: User) -> bool:
    if user.resident_id and user.resident_id == authorisation.principal_id_number:
        return True
    return user.role == AGENT_ROLE and authorisation.outlet is not None and authorisation.outlet == user.department


def visible_to(session: Session, user: User) -> list[Authorisation]:
    """The authorisations a user gave (as principal) or may act on (as agent or outlet staff)."""
    mine = [Authorisation.agent_id == user.id]
    if user.resident_id:
        mine.append(Authorisation.principal_id_number == user.resident_id)
    if user.role == AGENT_ROLE and user.department:
        mine.append(Authorisation.outlet == user.department)
    return list(session.scalars(select(Authorisation).where(or_(*mine)).order_by(Authorisation.id.desc())))


def authorisation_for(session: Session, agent: User, principal_id_number: str, matter: str,
                      now: datetime) -> Authorisation:
    """The authorisation that lets ``agent`` act for the principal in ``matter`` now, or
    AuthorisationRefused naming the rule the latest authorisation given to them fails."""
    principal_id_number = normalise_resident_id(principal_id_number)
    held = [a for a in session.scalars(select(Authorisation).where(
        Authorisation.principal_id_number == principal_id_number).order_by(Authorisation.id.desc()))
        if _names_agent(a, agent)]
    refusals = [_refusal(authorisation, matter, now) for authorisation in held]
    for authorisation, refusal in zip(held, refusals):
        if refusal is None:
            return authorisation
    latest = refusals[0] if refusals else Refusal.NONE
    raise AuthorisationRefused(REFUSAL_TEXT[latest], latest.value)


def _names_agent(authorisation: Authorisation, agent: User) -> bool:
    if authorisation.agent_id is not None:
        return authorisation.agent_id == agent.id
    return agent.role == AGENT_ROLE and authorisation.outlet == agent.department


def holds(authorisation: Authorisation, matter: str, now: datetime) -> bool:
    """Whether the authorisation lets its agent act in ``matter`` now."""
    return _refusal(authorisation, matter, now) is None


def _refusal(authorisation: Authorisation, matter: str, now: datetime) -> Refusal | None:
    if authorisation.revoked_at is not None:
        return Refusal.REVOKED
    if as_utc(now) < as_utc(authorisation.valid_from):
        return Refusal.NOT_YET
    if as_utc(now) >= as_utc(authorisation.valid_to):
        return Refusal.EXPIRED
    if authorisation.matters is not None and matter not in authorisation.matters:
        return Refusal.OTHER_MATTER
    return None
