"""实名认证: who an account's holder is, and whom they act for.

A person registers with their name and resident ID; both are verified against the
population registry (人口库) before anything is stored: the ID must be well formed, the
registry must hold it under exactly that name, and the person must be alive (死亡信息).
One account per resident ID. A verified person may also act for companies
(engine/people/company_roles.py records those roles).

The stable reading API for the rest of the engine (subject binding, 授权代办):

- ``identity_of(session, user)``: the verified ``Identity`` (resident ID, name) or None
  (staff accounts, and accounts opened before 实名认证, have none);
- ``companies_of(session, user)``: credit code -> ``CompanyRoleKind`` of the active roles.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.people import accounts, users
from engine.errors import Conflict, IdentityNotVerified, ResidentAlreadyRegistered
from engine.store.models import CompanyRole, CompanyRoleKind, User
from engine.store.registries import CompanyRecord, DeathRecord, RegistryPerson
from engine.people.organisation import read_regions
from engine.events import record
from forms.identifiers import normalise_resident_id, resident_id_problem

APPLICANT = "applicant"  # the role of every self-registered account (engine/people/users.py ROLES)


class IdentityEvent(StrEnum):
    REGISTERED = "identity.registered"  # a new account, verified
    VERIFIED = "identity.verified"  # an existing account, verified


@dataclass(frozen=True)
class Identity:
    """A person's verified identity: as the population registry knows them."""

    resident_id: str
    full_name: str


def identity_of(session: Session, user: User) -> Identity | None:
    """The user's verified identity, or None if the account has none."""
    if user.resident_id is None or user.verified_at is None:
        return None
    return Identity(resident_id=user.resident_id, full_name=user.full_name)


def companies_of(session: Session, user: User) -> dict[str, CompanyRoleKind]:
    """The companies the user acts for now (active roles only): credit code -> role. A
    legal representative's role lasts while the market-entity registry still names them:
    after a change of 法定代表人 the former one no longer acts for the company."""
    rows = session.execute(select(CompanyRole.credit_code, CompanyRole.role, CompanyRecord.legal_rep_id_number)
                           .join(CompanyRecord, CompanyRecord.credit_code == CompanyRole.credit_code)
                           .where(CompanyRole.user_id == user.id, CompanyRole.revoked_at.is_(None)))
    return {credit_code: CompanyRoleKind(role) for credit_code, role, named in rows
            if role != CompanyRoleKind.LEGAL_REPRESENTATIVE or named == user.resident_id}


def verify_person(session: Session, resident_id: str, full_name: str) -> Identity:
    """The identity if the registry holds a living person of exactly this name and ID;
    otherwise IdentityNotVerified naming the field and the reason (in Chinese)."""
    number = normalise_resident_id(resident_id)
    problem = resident_id_problem(number)
    if problem is not None:
        raise IdentityNotVerified("实名认证未通过：身份证号码有误", {"resident_id": [problem]})
    person = session.get(RegistryPerson, number)
    if person is None:
        raise IdentityNotVerified("实名认证未通过：人口库中没有这个身份证号码",
                                  {"resident_id": ["人口库中没有这个身份证号码，请核对"]})
    if person.name != full_name.strip():
        raise IdentityNotVerified("实名认证未通过：姓名与身份证号码不一致",
                                  {"full_name": ["姓名与人口库中这个身份证号码登记的姓名不一致，请核对"]})
    if session.get(DeathRecord, number) is not None:
        raise IdentityNotVerified("实名认证未通过：这个身份证号码登记为已死亡",
                                  {"resident_id": ["这个身份证号码在死亡信息中有登记，不能注册"]})
    return Identity(resident_id=number, full_name=person.name)


def register(session: Session, username: str, password: str, full_name: str, resident_id: str) -> User:
    """A new applicant account with a verified identity; nothing is stored unless the
    registry verifies the person, the name is free and the person has no account yet."""
    accounts.check_username(username)
    accounts.check_password(password)
    identity = verify_person(session, resident_id, full_name)
    _refuse_second_account(session, identity)
    if session.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise Conflict(f"用户名 {username} 已被使用，请换一个", errors={"username": ["已被使用"]})
    try:
        user = users.create_user(session, username, password, APPLICANT, display_name=identity.full_name)
    except IntegrityError as exc:  # the name was taken between the check and here
        raise Conflict(f"用户名 {username} 刚刚被注册，请换一个", errors={"username": ["已被使用"]}) from exc
    _record_identity(session, user, identity, IdentityEvent.REGISTERED, username)
    return user


def verify_account(session: Session, user: User, full_name: str, resident_id: str, actor: str | None = None) -> User:
    """An account opened without one (before 实名认证, or by an administrator) gets its
    holder's verified identity; an identity once verified is not changed. ``actor``: who
    verified it, if not the holder (``onewindow users verify``)."""
    if identity_of(session, user) is not None:
        raise Conflict("这个账号已经实名认证，身份信息不能更改")
    identity = verify_person(session, resident_id, full_name)
    _refuse_second_account(session, identity)
    _record_identity(session, user, identity, IdentityEvent.VERIFIED, actor or user.username)
    return user


def _refuse_second_account(session: Session, identity: Identity) -> None:
    if session.scalars(select(User.id).where(User.resident_id == identity.resident_id)).first() is not None:
        raise ResidentAlreadyRegistered("这个身份证号码已经注册过账号，请用原账号登录",
                                        errors={"resident_id": ["已注册"]})


def _record_identity(session: Session, user: User, identity: Identity, kind: IdentityEvent, actor: str) -> None:
    """Store the verified identity on the account and audit it."""
    user.resident_id, user.full_name = identity.resident_id, identity.full_name
    user.verified_at = datetime.now(timezone.utc)
    household = session.get(RegistryPerson, identity.resident_id).household_region
    # An applicant lives where their household is (if the platform serves it); a member of
    # staff works where an administrator placed them, whoever they are.
    if user.role == APPLICANT and household in read_regions():
        user.region = household
    try:
        session.flush()
    except IntegrityError as exc:  # the same person registered between the check and here
        raise ResidentAlreadyRegistered("这个身份证号码刚刚注册了账号，请用原账号登录",
                                        errors={"resident_id": ["已注册"]}) from exc
    record(session, kind, actor, data={"username": user.username})
