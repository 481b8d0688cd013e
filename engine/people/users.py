"""People and their sign-in: password hashes and bearer tokens.

Roles are applicant, clerk (with a department), analyst, supervisor and admin. Tokens are
random and only their SHA-256 is stored, so any API process can check any token; a token
is looked up on every request, so deleting it (``revoke_tokens``) ends it everywhere at once.
Administering accounts is engine/people/accounts.py.
"""
from __future__ import annotations

import hashlib
import secrets
from functools import cache
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from engine.errors import InvalidInput, Unauthenticated
from engine.store.models import DEFAULT_REGION, ApiToken, User, as_utc
from engine.events import EventKind, record

ROLES = ("applicant", "clerk", "analyst", "supervisor", "admin", "agent")  # agent: a service outlet's staff (代办点)
DEPARTMENT_ROLES = ("clerk", "agent")  # who belongs to a department (a clerk) or an outlet (an agent)
TOKEN_LIFETIME = timedelta(hours=12)
DEMO_PASSWORD = "demo-password"  # published (README): the demo users' password (engine/demo.py)


def create_user(session: Session, username: str, password: str, role: str,
                department: str | None = None, display_name: str = "", region: str = DEFAULT_REGION) -> User:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", {"role": [f"one of {', '.join(ROLES)}"]})
    if role in DEPARTMENT_ROLES and not department:
        raise InvalidInput(f"a {role} belongs to a department or outlet", {"department": [f"required for {role}s"]})
    user = User(username=username, role=role, department=department, display_name=display_name or username,
                region=region)
    set_password(user, password)
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Hash the password, and note whether it is the published demo password."""
    user.password_hash = generate_password_hash(password)
    user.demo_password = password == DEMO_PASSWORD


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@cache
def _unknown_users_hash() -> str:
    """A password hash nobody's password matches, made as every account's is."""
    return generate_password_hash(secrets.token_urlsafe(32))


def login(session: Session, username: str, password: str) -> tuple[str, User]:
    """Check the password and issue a token; every attempt is audited."""
    user = session.scalars(select(User).where(User.username == username)).first()
    # An unknown name costs one hash check too, and a disabled account gets the answer a wrong
    # password gets: neither the time nor the answer tells who has an account.
    matches = check_password_hash(user.password_hash if user else _unknown_users_hash(), password)
    if user is None or not matches or user.disabled:
        record(session, EventKind.LOGIN_FAILED, username,
               data={"disabled": True} if user is not None and user.disabled else {})
        session.commit()
        raise Unauthenticated("wrong username or password")
    token = secrets.token_urlsafe(32)
    now = datetime.now(timezone.utc)
    session.add(ApiToken(token_hash=_digest(token), user_id=user.id, created_at=now,
                         expires_at=now + TOKEN_LIFETIME))
    record(session, EventKind.LOGIN, user.username, data={"role": user.role})
    return token, user


def user_for_token(session: Session, token: str) -> tuple[User, datetime]:
    """The token's user and when the token expires, in one query (every API call asks)."""
    row = session.scalars(select(ApiToken).options(joinedload(ApiToken.user))
                          .where(ApiToken.token_hash == _digest(token))).first()
    if row is None or as_utc(row.expires_at) < datetime.now(timezone.utc) or row.user.disabled:
        raise Unauthenticated("token unknown or expired; sign in again")
    return row.user, as_utc(row.expires_at)


def revoke_tokens(session: Session, user: User, token: str | None = None) -> int:
    """End ``token`` (signing out), or every token of the user; how many ended."""
    statement = delete(ApiToken).where(ApiToken.user_id == user.id)
    if token is not None:
        statement = statement.where(ApiToken.token_hash == _digest(token))
    return session.execute(statement).rowcount
