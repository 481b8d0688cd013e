"""Who is calling: bearer tokens, and the roles a view needs.

Authorisation on domain objects (an applicant's own applications, a clerk's department)
lives in the engine; here only "signed in, with one of these roles".
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from functools import wraps
from http import HTTPStatus
from typing import Callable

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.schemas import LoginSchema, TokenSchema
from engine import users
from engine.errors import Forbidden, Unauthenticated
from engine.models import User

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Sign in (token login)")


TOKEN_CACHE_SECONDS = 30
TOKEN_CACHE_SIZE = 10_000
_known_tokens: dict[str, tuple[User, float]] = {}


def current_user() -> User:
    """The caller. A token seen in the last 30 s is not looked up again: every request
    asks, and the database round trip was a tenth of an approval's time. Tokens are not
    revoked before they expire, so the cache can only be 30 s behind a change of role."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Unauthenticated("send 'Authorization: Bearer <token>' (POST /api/auth/login gives one)")
    token = header.removeprefix("Bearer ").strip()
    cached = _known_tokens.get(token)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    with current_app.extensions["onewindow"].sessions() as session:
        user, expires_at = users.user_for_token(session, token)
    if len(_known_tokens) >= TOKEN_CACHE_SIZE:
        _known_tokens.clear()
    lifetime = min(TOKEN_CACHE_SECONDS, (expires_at - datetime.now(timezone.utc)).total_seconds())
    _known_tokens[token] = (user, time.monotonic() + lifetime)  # never past the token's expiry
    return user


def roles(*allowed: str) -> Callable:
    """Require a signed-in user with one of ``allowed`` roles (any role if none given).

    It also documents what it answers with, so the OpenAPI document cannot forget them:
    401, 403 if roles are named, and 503 (reading the token needs the database)."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            g.user = current_user()
            if allowed and g.user.role not in allowed:
                raise Forbidden(f"this needs the role {' or '.join(allowed)}")
            return view(*args, **kwargs)
        for status in (401, 403, 503) if allowed else (401, 503):
            wrapper = blp.alt_response(status, HTTPStatus(status).name)(wrapper)
        return wrapper
    return decorate


@blp.route("/login")
class Login(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, TokenSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(401, "UNAUTHORIZED")
    @blp.alt_response(429, "TOO_MANY_REQUESTS")
    @blp.alt_response(503, "SERVICE_UNAVAILABLE")
    @blp.doc(security=[])
    def post(self, credentials: dict) -> dict:
        """Exchange username and password for a bearer token (valid 12 hours)."""
        with current_app.extensions["onewindow"].sessions() as session:
            token, user = users.login(session, credentials["username"], credentials["password"])
            session.commit()
            return {"token": token, "user": user}


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, TokenSchema.UserSchema)
    @roles()
    def get(self) -> User:
        """The signed-in user."""
        return g.user
