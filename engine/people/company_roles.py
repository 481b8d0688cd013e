"""Company roles (法定代表人 / 经办人): which verified people act for which company.

The market-entity registry (市场主体登记, ``src_company``) names each company's legal
representative by resident ID; the person with that verified ID claims the role. The
legal representative authorises handlers (经办人), verified people who then apply for the
company too, and revokes them. Revoked roles stay as history; every change is audited.
``engine.people.identity.companies_of`` reads the active roles.
"""
from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.people import accounts
from engine.errors import (CompanyRoleHeld, IdentityNotVerified, NotFound, NotLegalRepresentative,
                           UnknownCompany)
from engine.people.identity import companies_of, identity_of
from engine.store.models import CompanyRole, CompanyRoleKind, User
from engine.store.registries import CompanyRecord
from engine.events import record
from forms.identifiers import credit_code_problem

ROLE_NAMES = {CompanyRoleKind.LEGAL_REPRESENTATIVE: "法定代表人", CompanyRoleKind.HANDLER: "经办人"}


class CompanyRoleEvent(StrEnum):  # event.kind holds up to 40 characters
    LEGAL_REPRESENTATIVE_CLAIMED = "company_role.legal_rep_claimed"
    HANDLER_GRANTED = "company_role.handler_granted"
    HANDLER_REVOKED = "company_role.handler_revoked"


def company(session: Session, credit_code: str) -> CompanyRecord:
    """The registry's record of the company, or UnknownCompany."""
    record = None if credit_code_problem(credit_code) else session.get(CompanyRecord, credit_code)
    if record is None:
        raise UnknownCompany(f"市场主体登记中没有统一社会信用代码为 {credit_code} 的企业")
    return record


def active_role(session: Session, user: User, credit_code: str) -> CompanyRole | None:
    return session.scalars(select(CompanyRole).where(
        CompanyRole.user_id == user.id, CompanyRole.credit_code == credit_code,
        CompanyRole.revoked_at.is_(None))).first()


def active_roles(session: Session, user: User) -> list[tuple[CompanyRole, CompanyRecord]]:
    """The user's active roles with their companies, in credit-code order."""
    return list(session.execute(
        select(CompanyRole, CompanyRecord).join(CompanyRecord, CompanyRecord.credit_code == CompanyRole.credit_code)
        .where(CompanyRole.user_id == user.id, CompanyRole.revoked_at.is_(None))
        .order_by(CompanyRole.credit_code)).all())


def claim_legal_representative(session: Session, user: User, credit_code: str) -> CompanyRole:
    """The registry's legal representative takes up the role; nobody else may."""
    record = company(session, credit_code)
    identity = identity_of(session, user)
    if identity is None or identity.resident_id != record.legal_rep_id_number:
        raise NotLegalRepresentative(f"您不是{record.name}（{credit_code}）在市场主体登记中的法定代表人")
    return _grant(session, user, record, CompanyRoleKind.LEGAL_REPRESENTATIVE, user.username,
                  CompanyRoleEvent.LEGAL_REPRESENTATIVE_CLAIMED)


def grant_handler(session: Session, representative: User, credit_code: str, username: str) -> CompanyRole:
    """The legal representative authorises a verified person as the company's handler."""
    record = _represented(session, representative, credit_code)
    handler = accounts.find(session, username)
    if identity_of(session, handler) is None:
        raise IdentityNotVerified(f"账号 {username} 未实名认证，不能成为经办人",
                                  {"username": ["未实名认证的账号不能成为经办人"]})
    return _grant(session, handler, record, CompanyRoleKind.HANDLER, representative.username,
                  CompanyRoleEvent.HANDLER_GRANTED)


def revoke_handler(session: Session, representative: User, credit_code: str, username: str) -> CompanyRole:
    """The legal representative ends a handler's authorisation at once."""
    record = _represented(session, representative, credit_code)
    role = active_role(session, accounts.find(session, username), credit_code)
    if role is None or role.role != CompanyRoleKind.HANDLER:
        raise NotFound(f"{username} 不是{record.name}的经办人")
    role.revoked_at = datetime.now(timezone.utc)
    _audit(session, CompanyRoleEvent.HANDLER_REVOKED, representative.username, role)
    return role


def _represented(session: Session, user: User, credit_code: str) -> CompanyRecord:
    """The company, if the user is its legal representative (an active role, and the
    registry still names them)."""
    record = company(session, credit_code)
    if companies_of(session, user).get(credit_code) != CompanyRoleKind.LEGAL_REPRESENTATIVE:
        raise NotLegalRepresentative(f"只有{record.name}（{credit_code}）的法定代表人可以授权或撤销经办人")
    return record


def _grant(session: Session, user: User, record: CompanyRecord, kind: CompanyRoleKind, granted_by: str,
           event: CompanyRoleEvent) -> CompanyRole:
    held = active_role(session, user, record.credit_code)
    if held is not None:
        raise CompanyRoleHeld(f"{user.username} 已是{record.name}的{ROLE_NAMES[CompanyRoleKind(held.role)]}")
    role = CompanyRole(user_id=user.id, credit_code=record.credit_code, role=kind, granted_by=granted_by)
    session.add(role)
    try:
        session.flush()
    except IntegrityError as exc:  # granted by another request between the check and here
        raise CompanyRoleHeld(f"{user.username} 刚刚获得了{record.name}的角色") from exc
    _audit(session, event, granted_by, role)
    return role


def _audit(session: Session, kind: CompanyRoleEvent, actor: str, role: CompanyRole) -> None:
    record(session, kind, actor, data={"credit_code": role.credit_code, "user_id": role.user_id, "role": role.role})
