"""People and their sign-in: password hashes and bearer tokens.

Roles are applicant, clerk (with a department), analyst, supervisor and admin. Tokens are
random and only their SHA-256 is stored, so any API process can check any token.
"""
from __future__ import annotations

import hashlib
import secrets
from functools import cache
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from engine.errors import InvalidInput, Unauthenticated
from engine.models import ApiToken, Event, User, as_utc

ROLES = ("applicant", "clerk", "analyst", "supervisor", "admin")
TOKEN_LIFETIME = timedelta(hours=12)


def create_user(session: Session, username: str, password: str, role: str,
                department: str | None = None, display_name: str = "") -> User:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", {"role": [f"one of {', '.join(ROLES)}"]})
    if role == "clerk" and not department:
        raise InvalidInput("a clerk belongs to a department", {"department": ["required for clerks"]})
    user = User(username=username, password_hash=generate_password_hash(password), role=role,
                department=department, display_name=display_name or username)
    session.add(user)
    session.flush()
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@cache
def _unknown_users_hash() -> str:
    """A password hash nobody's password matches, made as every account's is."""
    return generate_password_hash(secrets.token_urlsafe(32))


def login(session: Session, username: str, password: str) -> tuple[str, User]:
    """Check the password and issue a token; every attempt is audited."""
    user = session.scalars(select(User).where(User.username == username)).first()
    # An unknown name costs one hash check too: the answer's time does not tell who has an account.
    matches = check_password_hash(user.password_hash if user else _unknown_users_hash(), password)
    if user is None or not matches:
        session.add(Event(kind="login.failed", actor=username[:64], data={}))
        session.commit()
        raise Unauthenticated("wrong username or password")
    token = secrets.token_urlsafe(32)
    now = datetime.now(timezone.utc)
    session.add(ApiToken(token_hash=_digest(token), user_id=user.id, created_at=now,
                         expires_at=now + TOKEN_LIFETIME))
    session.add(Event(kind="login", actor=user.username, data={"role": user.role}))
    return token, user


def user_for_token(session: Session, token: str) -> tuple[User, datetime]:
    """The token's user and when the token expires, in one query (every API call asks)."""
    row = session.scalars(select(ApiToken).options(joinedload(ApiToken.user))
                          .where(ApiToken.token_hash == _digest(token))).first()
    if row is None or as_utc(row.expires_at) < datetime.now(timezone.utc):
        raise Unauthenticated("token unknown or expired; sign in again")
    return row.user, as_utc(row.expires_at)
