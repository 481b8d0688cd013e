"""Who is calling: bearer tokens, and the roles a view needs.

Authorisation on domain objects (an applicant's own applications, a clerk's department)
lives in the engine; here only "signed in, with one of these roles".
"""
from __future__ import annotations

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


def current_user() -> User:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Unauthenticated("send 'Authorization: Bearer <token>' (POST /api/auth/login gives one)")
    with current_app.extensions["onewindow"].sessions() as session:
        return users.user_for_token(session, header.removeprefix("Bearer ").strip())


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
