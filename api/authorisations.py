"""授权代办: principals authorise agents online, outlet staff record paper authorisations,
either revokes; an agent checks whether they may apply for a principal in a matter
(engine/people/authorisations.py does the work and audits it)."""
from __future__ import annotations

from datetime import datetime

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import services
from api.accounts import committed
from api.auth import roles
from api.schemas import ROW_ID
from engine.people import authorisations
from engine.people.authorisations import AGENT_ROLE
from engine.errors import NotFound
from engine.store.models import Authorisation, Matter, as_utc

blp = Blueprint("authorisations", __name__, url_prefix="/api/authorisations",
                description="授权代办: who may apply in whose name")

AT_FROM, AT_TO = "2026-03-02T00:00:00+08:00", "2027-03-01T00:00:00+08:00"
MATTERS = {"load_default": None, "allow_none": True, "validate": validate.Length(max=200),
           "metadata": {"description": "the matters it covers; leave out (null) for every matter",
                        "example": ["elderly_subsidy", "senior_card"]}}


class _Period(Schema):
    valid_from = fields.AwareDateTime(load_default=None, metadata={
        "description": "when it starts; now if left out", "example": AT_FROM})
    valid_to = fields.AwareDateTime(required=True, metadata={"description": "when it ends (at most three years)",
                                                              "example": AT_TO})
    matters = fields.List(fields.String(validate=validate.Length(min=1, max=64)), **MATTERS)


class OnlineGrantSchema(_Period):
    agent = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "the username of the person who may apply for you (verified identity)", "example": "bob"})


class PaperGrantSchema(_Period):
    principal_id_number = fields.String(required=True, validate=validate.Length(min=15, max=18), metadata={
        "example": "110105195803140214"})
    principal_name = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={
        "example": "王秀英"})
    document_ref = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={
        "description": "the reference of the signed paper form kept at the outlet", "example": "海口邮政代办-2026-0042"})


class AuthorisationSchema(Schema):
    id = fields.Integer()
    principal_id_number = fields.String(metadata={"example": "110105195803140214"})
    agent = fields.Function(lambda a: a.agent.username if a.agent else None, metadata={"example": "bob"})
    outlet = fields.String(allow_none=True, metadata={"example": "post_haikou"})
    matters = fields.List(fields.String(), allow_none=True, metadata={"example": ["elderly_subsidy"]})
    valid_from = fields.DateTime(metadata={"example": AT_FROM})
    valid_to = fields.DateTime(metadata={"example": AT_TO})
    given_by = fields.String(metadata={"example": "online"})
    document_ref = fields.String(allow_none=True, metadata={"example": None})
    recorded_by = fields.String(metadata={"example": "alice"})
    revoked_at = fields.DateTime(allow_none=True, metadata={"example": None})
    revoked_by = fields.String(allow_none=True, metadata={"example": None})
    in_force = fields.Function(lambda a: a.revoked_at is None and as_utc(a.valid_from) <= _now() < as_utc(a.valid_to),
                               metadata={"example": True})


class CheckQuerySchema(Schema):
    principal_id_number = fields.String(required=True, validate=validate.Length(min=15, max=18), metadata={
        "example": "110105195803140214"})
    matter = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={
        "example": "elderly_subsidy"})



def _now() -> datetime:
    return services().clock()


def _period(body: dict) -> tuple[datetime, datetime]:
    return body["valid_from"] or _now(), body["valid_to"]


@blp.route("")
class Authorisations(MethodView):
    @blp.response(200, AuthorisationSchema(many=True))
    @roles("applicant", AGENT_ROLE)
    def get(self) -> list[Authorisation]:
        """The authorisations you gave (as principal) or may act on (as agent or outlet staff)."""
        with services().sessions() as session:
            return authorisations.visible_to(session, g.user)

    @blp.arguments(OnlineGrantSchema)
    @blp.response(201, AuthorisationSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(422, "UNPROCESSABLE_ENTITY")
    @roles("applicant")
    def post(self, body: dict) -> Authorisation:
        """Authorise a person to apply for you (online, with your verified identity)."""
        return committed(lambda session: authorisations.give_online(
            session, g.user, body["agent"], body["matters"], *_period(body)))


@blp.route("/paper")
class PaperAuthorisations(MethodView):
    @blp.arguments(PaperGrantSchema)
    @blp.response(201, AuthorisationSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(422, "UNPROCESSABLE_ENTITY")
    @roles(AGENT_ROLE)
    def post(self, body: dict) -> Authorisation:
        """Record a paper authorisation signed at your outlet: the principal's name and ID are
        checked against the population registry; your outlet may then apply for them."""
        return committed(lambda session: authorisations.record_paper(
            session, g.user, body["principal_id_number"], body["principal_name"], body["matters"], *_period(body),
            body["document_ref"]))


@blp.route(f"/<{ROW_ID}:authorisation_id>/revoke")
class Revocation(MethodView):
    @blp.response(200, AuthorisationSchema)
    @blp.alt_response(404, "NOT_FOUND")
    @roles("applicant", AGENT_ROLE)
    def post(self, authorisation_id: int) -> Authorisation:
        """Revoke an authorisation you gave (or your outlet recorded); it ends at once."""
        return committed(lambda session: authorisations.revoke(session, g.user, authorisation_id, _now()))


@blp.route("/check")
class Check(MethodView):
    @blp.arguments(CheckQuerySchema, location="query")
    @blp.response(200, AuthorisationSchema)
    @blp.alt_response(404, "NOT_FOUND", description="no such matter")
    @roles("applicant", AGENT_ROLE)
    def get(self, query: dict) -> Authorisation:
        """Whether you may apply for the principal in the matter now: the authorisation that
        allows it, or 403 whose ``rule`` names what failed (no_authorisation, not_yet_valid,
        expired, revoked, other_matter)."""
        with services().sessions() as session:
            if session.get(Matter, query["matter"]) is None:
                raise NotFound(f"no matter {query['matter']}")
            return authorisations.authorisation_for(session, g.user, query["principal_id_number"], query["matter"],
                                                    _now())
