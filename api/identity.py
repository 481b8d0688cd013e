"""实名认证 and company roles over HTTP: registering a verified account, the caller's
identity, and the company roles a legal representative claims and hands out
(engine/people/identity.py and engine/people/company_roles.py do the work and audit it)."""
from __future__ import annotations

from http import HTTPStatus
from typing import Callable

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from api.context import services
from api.accounts import committed
from api.auth import password_field, roles
from api.schemas import UtcDateTime
from engine.people import accounts, company_roles, identity
from engine.store.models import CompanyRoleKind, User

blp = Blueprint("identity", __name__, url_prefix="/api",
                description="Real-name identity 实名认证 and company roles (法定代表人 / 经办人)")

CREDIT_CODE = "91460100MA5T00001L"  # the demo bookshop_red
RESIDENT_ID = "460105195803140214"
USERNAME = {"validate": [validate.Length(max=64), validate.Regexp(accounts.USERNAME)],
            "metadata": {"example": "wang_xiuying"}}


class VerificationSchema(Schema):
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=100),
                              metadata={"description": "exactly as the population registry has it",
                                        "example": "王秀英"})
    resident_id = fields.String(required=True, validate=validate.Length(min=1, max=32),
                                metadata={"description": "居民身份证号码 (a trailing x is read as X)",
                                          "example": RESIDENT_ID})


class RegistrationSchema(VerificationSchema):
    username = fields.String(required=True, **USERNAME)
    password = password_field(description="not the published demo password")


class CompanyRoleSchema(Schema):
    credit_code = fields.String(metadata={"example": CREDIT_CODE})
    company_name = fields.String(metadata={"example": "海口椰风书店有限公司"})
    role = fields.Enum(CompanyRoleKind, by_value=True)
    username = fields.String(metadata={"description": "who holds the role", "example": "wang_xiuying"})
    granted_by = fields.String(metadata={"description": "for a handler: the legal representative",
                                         "example": "alice"})
    granted_at = UtcDateTime(metadata={"example": "2026-03-02T01:30:00+00:00"})
    revoked_at = UtcDateTime(allow_none=True, metadata={"example": None})


class IdentitySchema(Schema):
    username = fields.String(metadata={"example": "wang_xiuying"})
    verified = fields.Boolean(metadata={"description": "false: no verified identity (staff accounts)",
                                        "example": True})
    resident_id = fields.String(allow_none=True, metadata={"example": RESIDENT_ID})
    full_name = fields.String(allow_none=True, metadata={"example": "王秀英"})
    verified_at = UtcDateTime(allow_none=True, metadata={"example": "2026-03-02T01:30:00+00:00"})
    companies = fields.List(fields.Nested(CompanyRoleSchema), metadata={"description": "active roles only"})


class HandlerSchema(Schema):
    username = fields.String(required=True, metadata={"description": "a verified person's account",
                                                      "example": "bob"}, validate=validate.Length(min=1, max=64))


def refusals(*statuses: int) -> Callable:
    """Document the refusals a view answers with."""
    def decorate(view: Callable) -> Callable:
        for status in statuses:
            view = blp.alt_response(status, HTTPStatus(status).name)(view)
        return view
    return decorate


def role_answer(role, record) -> dict:
    """A role as the API shows it (read within the role's session)."""
    return {"credit_code": role.credit_code, "company_name": record.name, "role": CompanyRoleKind(role.role),
            "username": role.user.username, "granted_by": role.granted_by, "granted_at": role.granted_at,
            "revoked_at": role.revoked_at}


@blp.route("/auth/register")
class Registration(MethodView):
    @blp.arguments(RegistrationSchema)
    @blp.response(201, IdentitySchema)
    @refusals(400, 409, 422, 429, 503)
    @blp.doc(security=[])
    def post(self, registration: dict) -> dict:
        """Register an applicant account with a real-name identity (实名认证): the name and
        resident ID must match a living person of the population registry; one account per
        person. Nothing is stored if they do not."""
        def register(session: Session) -> dict:
            user = identity.register(session, **registration)
            return _identity_answer(session, user)
        return committed(register)


@blp.route("/me/identity")
class MyIdentity(MethodView):
    @blp.response(200, IdentitySchema)
    @roles()
    def get(self) -> dict:
        """My verified identity and the companies I act for now."""
        with services().sessions() as session:
            return _identity_answer(session, g.user)

    @blp.arguments(VerificationSchema)
    @blp.response(200, IdentitySchema)
    @refusals(400, 409, 422, 429)
    @roles()
    def post(self, verification: dict) -> dict:
        """Verify my account's identity (实名认证) if it has none yet: the name and resident ID
        must match a living person of the population registry who has no account yet."""
        def verify(session: Session) -> dict:
            user = identity.verify_account(session, session.get(User, g.user.id), **verification)
            return _identity_answer(session, user)
        return committed(verify)


def _identity_answer(session: Session, user) -> dict:
    found = identity.identity_of(session, user)
    return {"username": user.username, "verified": found is not None, "resident_id": user.resident_id,
            "full_name": user.full_name, "verified_at": user.verified_at,
            "companies": [role_answer(role, record) for role, record in company_roles.active_roles(session, user)]}


@blp.route("/companies/<credit_code>/roles/legal-representative")
class LegalRepresentative(MethodView):
    @blp.response(201, CompanyRoleSchema)
    @refusals(404, 409)
    @roles("applicant")
    def post(self, credit_code: str) -> dict:
        """Take up the role of the company's legal representative (法定代表人): only the
        person the market-entity registry names, with that verified resident ID."""
        def claim(session: Session) -> dict:
            role = company_roles.claim_legal_representative(session, g.user, credit_code)
            return role_answer(role, company_roles.company(session, credit_code))
        return committed(claim)


@blp.route("/companies/<credit_code>/handlers")
class Handlers(MethodView):
    @blp.arguments(HandlerSchema)
    @blp.response(201, CompanyRoleSchema)
    @refusals(400, 404, 409, 422)
    @roles("applicant")
    def post(self, handler: dict, credit_code: str) -> dict:
        """Authorise a verified person as the company's handler (经办人); only the legal
        representative may."""
        def grant(session: Session) -> dict:
            role = company_roles.grant_handler(session, g.user, credit_code, handler["username"])
            return role_answer(role, company_roles.company(session, credit_code))
        return committed(grant)


@blp.route("/companies/<credit_code>/handlers/<username>")
class Handler(MethodView):
    @blp.response(204)
    @refusals(404)
    @roles("applicant")
    def delete(self, credit_code: str, username: str) -> None:
        """End a handler's authorisation at once; only the legal representative may."""
        committed(lambda session: company_roles.revoke_handler(session, g.user, credit_code, username))
