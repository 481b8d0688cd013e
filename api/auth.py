"""Who is calling: bearer tokens, and the roles a view needs.

Authorisation on domain objects (an applicant's own applications, a clerk's department)
lives in the engine; here only "signed in, with one of these roles".
"""
from __future__ import annotations

from functools import wraps
from http import HTTPStatus
from typing import Callable

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import services
from api.schemas import LoginSchema, TokenSchema
from engine.people import accounts, users
from engine.errors import Forbidden, Unauthenticated
from engine.store.models import User

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Sign in (token login)")


def password_field(**metadata: str) -> fields.String:
    """A new password as the policy allows it (engine/people/accounts.py), documented in the schema."""
    return fields.String(required=True, load_only=True, metadata=metadata, validate=validate.Length(
        min=accounts.MIN_PASSWORD_LENGTH, max=accounts.MAX_PASSWORD_LENGTH))


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, load_only=True,
                                     validate=validate.Length(max=accounts.MAX_PASSWORD_LENGTH))
    new_password = password_field(description="not the published demo password")


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Unauthenticated("send 'Authorization: Bearer <token>' (POST /api/auth/login gives one)")
    return header.removeprefix("Bearer ").strip()


def current_user() -> User:
    """The caller, looked up on every request (one indexed read of the token's hash): a token
    ended by signing out, a new password, a new role or department or a disabled account
    stops working at the next request in every API process. (A 30 s cache here once let a
    demoted clerk keep clerk access that long.)"""
    with services().sessions() as session:
        user, _ = users.user_for_token(session, bearer_token())
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
        with services().sessions() as session:
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


@blp.route("/logout")
class Logout(MethodView):
    @blp.response(204)
    @roles()
    def post(self) -> None:
        """Sign out: the token used for this request stops working at once."""
        with services().sessions() as session:
            accounts.sign_out(session, g.user, bearer_token())
            session.commit()


@blp.route("/password")
class Password(MethodView):
    @blp.arguments(PasswordChangeSchema)
    @blp.alt_response(400, "BAD_REQUEST")  # a body that is not JSON
    @blp.response(204)
    @blp.alt_response(422, "UNPROCESSABLE_ENTITY")
    @blp.alt_response(429, "TOO_MANY_REQUESTS")
    @roles()
    def post(self, change: dict) -> None:
        """Change my password. Every token of mine ends, this one too: sign in again with
        the new password."""
        with services().sessions() as session:
            accounts.change_own_password(session, g.user.id, change["current_password"], change["new_password"])
            session.commit()
