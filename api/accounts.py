"""Account administration for admins: open accounts, change role, department or status,
reset passwords (engine/people/accounts.py does the work and audits it)."""
from __future__ import annotations

from http import HTTPStatus
from typing import Callable

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from api.context import services
from api.auth import password_field, roles
from api.schemas import UserSchema
from engine.people import accounts, users
from engine.store.models import DEFAULT_REGION, User

blp = Blueprint("accounts", __name__, url_prefix="/api/users", description="Accounts (admins)")

DEPARTMENT = {"validate": validate.Length(min=1, max=64),
              "metadata": {"description": "for clerks only: one of the catalogue's departments"}}

REGION = {"validate": validate.Length(min=1, max=12),
          "metadata": {"description": "one of the catalogue's regions: clerks and supervisors work only there"}}


class AccountSchema(UserSchema):
    disabled = fields.Boolean()


class NewAccountSchema(Schema):
    username = fields.String(required=True, validate=[validate.Length(max=64), validate.Regexp(accounts.USERNAME)])
    password = password_field(description="not the published demo password")
    role = fields.String(required=True, validate=validate.OneOf(users.ROLES))
    department = fields.String(load_default=None, allow_none=True, **DEPARTMENT)
    region = fields.String(load_default=DEFAULT_REGION, **REGION)
    display_name = fields.String(load_default="", validate=validate.Length(max=100))


class AccountChangeSchema(Schema):
    role = fields.String(validate=validate.OneOf(users.ROLES))
    department = fields.String(**DEPARTMENT)
    region = fields.String(**REGION)
    disabled = fields.Boolean(metadata={"description": "a disabled account cannot sign in; its tokens end"})
    display_name = fields.String(validate=validate.Length(min=1, max=100))


class PasswordResetSchema(Schema):
    password = password_field(description="the new password; every token of the account ends")


class AccountQuerySchema(Schema):
    role = fields.String(validate=validate.OneOf(users.ROLES))
    department = fields.String(validate=validate.Length(max=64))
    after = fields.String(load_default="", validate=validate.Length(max=64),
                          metadata={"description": "page: accounts after this username"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


def _sessions():
    return services().sessions()


def committed(work: Callable[[Session], object]) -> object:
    """``work(session)`` in a transaction of its own, committed; what it returned."""
    with _sessions() as session:
        result = work(session)
        session.commit()
        return result


def admin_call(body: type[Schema], status: int, answer: Schema | None, refusals: tuple[int, ...]) -> Callable:
    """An admin's call with a JSON body: the body, its answer and the refusals it documents
    (and 400, a body that is not JSON). Put ``roles("admin")`` under it."""
    def decorate(view: Callable) -> Callable:
        for refusal in (400, *refusals):
            view = blp.alt_response(refusal, HTTPStatus(refusal).name)(view)
        view = blp.response(status, answer)(view) if answer else blp.response(status)(view)
        return blp.arguments(body)(view)
    return decorate


@blp.route("")
class Accounts(MethodView):
    @blp.arguments(AccountQuerySchema, location="query")
    @blp.response(200, AccountSchema(many=True))
    @roles("admin")
    def get(self, query: dict) -> list[User]:
        """Accounts in username order, a page at a time."""
        with _sessions() as session:
            return accounts.list_accounts(session, **query)

    @admin_call(NewAccountSchema, 201, AccountSchema, refusals=(409, 422))
    @roles("admin")
    def post(self, new: dict) -> User:
        """Open an account (a clerk names a department of the catalogue)."""
        return committed(lambda session: accounts.open_account(session, g.user.username, **new))


@blp.route("/<username>")
class Account(MethodView):
    @admin_call(AccountChangeSchema, 200, AccountSchema, refusals=(404, 422))
    @roles("admin")
    def patch(self, change: dict, username: str) -> User:
        """Change role, department, region, display name or disabled; a new role, department or region, or
        disabling, ends the account's tokens at once."""
        change = accounts.AccountChange(**change)
        return committed(lambda session: accounts.change_account(session, g.user.username, username, change))


@blp.route("/<username>/password")
class AccountPassword(MethodView):
    @admin_call(PasswordResetSchema, 204, None, refusals=(404, 422))
    @roles("admin")
    def post(self, reset: dict, username: str) -> None:
        """Reset the account's password; its tokens end at once."""
        committed(lambda session: accounts.reset_password(session, g.user.username, username, reset["password"]))
