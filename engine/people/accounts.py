"""Account administration (账号管理): opening accounts, roles, departments, disabling,
passwords and signing out.

Every change is audited as an event. A change to what a person may do (role, department,
disabling) or to their password ends their tokens at once: every API process looks a
token up on every request (api/auth.py), so no process keeps honouring an old one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from engine.people import users
from engine.config import Settings, SettingsError
from engine.people.organisation import check_region, read_departments, read_outlets
from engine.errors import Conflict, InvalidInput, NotFound
from engine.store.models import DEFAULT_REGION, User
from engine.events import record

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
LISTED_DEMO_ACCOUNTS = 10  # the start-up refusal names this many, then counts the rest


class AccountEvent(StrEnum):
    CREATED = "account.created"
    CHANGED = "account.changed"
    PASSWORD_RESET = "account.password_reset"
    PASSWORD_CHANGED = "account.password_changed"
    LOGOUT = "logout"


@dataclass(frozen=True)
class AccountChange:
    """What an administrator changes; None leaves a field as it is. A role other than
    clerk or agent drops the department."""

    role: str | None = None
    department: str | None = None
    region: str | None = None
    disabled: bool | None = None
    display_name: str | None = None


def check_password(password: str, field: str = "password") -> None:
    """The password policy: long enough, and not the published demo password."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput("the password does not meet the policy",
                           {field: [f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"]})
    if password == users.DEMO_PASSWORD:
        raise InvalidInput("the password does not meet the policy", {field: ["the demo password is published"]})


def check_username(username: str) -> None:
    if not USERNAME.fullmatch(username):
        raise InvalidInput("the username is not allowed",
                           {"username": ["letters, digits and _ . @ -, up to 64, starting with a letter or digit"]})


def check_role(role: str, department: str | None) -> None:
    """A known role; a clerk belongs to one of the catalogue's departments, nobody else to any."""
    if role not in users.ROLES:
        raise InvalidInput(f"unknown role {role!r}", {"role": [f"one of {', '.join(users.ROLES)}"]})
    departments = read_departments()
    if role == "clerk" and department not in departments:
        raise InvalidInput(f"a clerk belongs to one of the catalogue's departments, not {department!r}",
                           {"department": [f"one of {', '.join(departments)}"]})
    outlets = read_outlets()
    if role == "agent" and department not in outlets:  # an outlet's staff: the outlet is their department
        raise InvalidInput(f"an agent works at one of the catalogue's service outlets, not {department!r}",
                           {"department": [f"one of {', '.join(outlets)}"]})
    if role not in users.DEPARTMENT_ROLES and department is not None:
        raise InvalidInput(f"only a clerk or an outlet's agent belongs to a department, not a {role}",
                           {"department": ["only for clerks and agents"]})


def find(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no account {username!r}")
    return user


def open_account(session: Session, actor: str, username: str, password: str, role: str,
                 department: str | None = None, display_name: str = "", region: str = DEFAULT_REGION) -> User:
    """A new account; 409 if the name is taken."""
    check_username(username)
    check_role(role, department)
    check_region(region)
    check_password(password)
    if session.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise Conflict(f"the username {username!r} is taken")
    try:
        user = users.create_user(session, username, password, role, department, display_name, region)
    except IntegrityError as exc:  # taken between the check and the insert
        raise Conflict(f"the username {username!r} is taken") from exc
    _audit(session, AccountEvent.CREATED, actor, user, role=role, department=department, region=region)
    return user


def change_account(session: Session, actor: str, username: str, change: AccountChange) -> User:
    """Apply the change; a new role, department or region, or disabling, ends the user's tokens."""
    user = find(session, username)
    role = change.role or user.role
    kept_department = user.department if role in users.DEPARTMENT_ROLES else None
    department = kept_department if change.department is None else change.department
    check_role(role, department)
    region = change.region or user.region
    check_region(region)
    wanted = {"role": role, "department": department, "region": region,
              "disabled": user.disabled if change.disabled is None else change.disabled,
              "display_name": change.display_name or user.display_name}
    changes = {name: [getattr(user, name), value] for name, value in wanted.items() if getattr(user, name) != value}
    if not changes:
        return user
    for name, value in wanted.items():
        setattr(user, name, value)
    ends_access = bool({"role", "department", "region"} & changes.keys()) or ("disabled" in changes and user.disabled)
    revoked = users.revoke_tokens(session, user) if ends_access else 0
    _audit(session, AccountEvent.CHANGED, actor, user, changes=changes, tokens_ended=revoked)
    session.flush()
    return user


def reset_password(session: Session, actor: str, username: str, password: str) -> User:
    """An administrator sets a new password; every token of the user ends."""
    check_password(password)
    user = find(session, username)
    users.set_password(user, password)
    _audit(session, AccountEvent.PASSWORD_RESET, actor, user, tokens_ended=users.revoke_tokens(session, user))
    return user


def change_own_password(session: Session, user_id: int, current: str, new: str) -> None:
    """The signed-in user changes their password; every token of theirs ends, this one too."""
    user = session.get(User, user_id)
    if not check_password_hash(user.password_hash, current):
        raise InvalidInput("the current password is wrong", {"current_password": ["wrong password"]})
    check_password(new, "new_password")
    users.set_password(user, new)
    _audit(session, AccountEvent.PASSWORD_CHANGED, user.username, user,
           tokens_ended=users.revoke_tokens(session, user))


def sign_out(session: Session, user: User, token: str) -> None:
    """End the token the caller signed in with."""
    users.revoke_tokens(session, user, token)
    _audit(session, AccountEvent.LOGOUT, user.username, user)


def list_accounts(session: Session, role: str | None = None, department: str | None = None,
                  after: str = "", limit: int = 100) -> list[User]:
    """Accounts in username order, a page at a time (``after``: the last name seen)."""
    statement = select(User).where(User.username > after).order_by(User.username).limit(limit)
    if role is not None:
        statement = statement.where(User.role == role)
    if department is not None:
        statement = statement.where(User.department == department)
    return list(session.scalars(statement))


def refuse_published_passwords(session: Session, settings: Settings) -> None:
    """Unless demo data is allowed here, refuse to start while an active account still has
    the published demo password (a SettingsError: one line naming them and the fix)."""
    if settings.demo_data:
        return
    names = list(session.scalars(select(User.username).where(User.demo_password, User.disabled.is_(False))
                                 .order_by(User.username)))
    if names:
        listed = ", ".join(names[:LISTED_DEMO_ACCOUNTS]) + (f" and {len(names) - LISTED_DEMO_ACCOUNTS} more"
                                                            if len(names) > LISTED_DEMO_ACCOUNTS else "")
        raise SettingsError(f"active accounts still have the published demo password: {listed}; give each a new "
                            "one (onewindow users reset-password NAME) or disable them (onewindow users disable "
                            "NAME...), or set ONEWINDOW_DEMO=1 on a test or benchmark database")


def _audit(session: Session, kind: AccountEvent, actor: str, user: User, **data: object) -> None:
    record(session, kind, actor, data={"username": user.username, **data})

