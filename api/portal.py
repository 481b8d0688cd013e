"""The applicant portal's own read: the registry's values for a form before it is filled
(秒填, engine/portal.py)."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import roles
from api.context import services
from engine import portal
from engine.access import SUBMITTERS

blp = Blueprint("portal", __name__, url_prefix="/api", description="网上办事大厅: 秒填")

MAX_ROW_ID = 2**31 - 1


class PrefillQuerySchema(Schema):
    subject = fields.String(validate=validate.Length(min=1, max=18), metadata={
        "description": "whom for: a company you act for (credit code) or a person who authorised you (resident ID); "
                       "default: yourself", "example": "91460100MA5T000011"})
    authorisation = fields.Integer(validate=validate.Range(min=1, max=MAX_ROW_ID), metadata={
        "description": "授权代办: one of your authorisations (GET /api/authorisations): for its principal",
        "example": 7})


class PrefillSchema(Schema):
    matter = fields.String(metadata={"example": "elderly_subsidy"})
    subject = fields.String(allow_none=True, metadata={"description": "the resident ID or credit code filled for",
                                                       "example": "460105194401150101"})
    data = fields.Dict(metadata={"description": "form field -> value: the party's ID and what the registry fills",
                                 "example": {"id_number": "460105194401150101", "applicant_name": "王秀英"}})


@blp.route("/matters/<code>/prefill")
class MatterPrefill(MethodView):
    @blp.arguments(PrefillQuerySchema, location="query")
    @blp.response(200, PrefillSchema)
    @blp.alt_response(404, "NOT_FOUND")
    @roles(*SUBMITTERS)
    def get(self, query: dict, code: str) -> portal.Prefill:
        """秒填: the values the registry fills in the matter's form for whom you apply.

        Yourself by default, a company you act for (``subject``), or the principal of one of your
        authorisations (``authorisation``); the same values fill empty fields at submission. Anyone
        you may not apply for, like an unknown matter, is 404; an unverified account is 403."""
        wired = services()
        with wired.sessions() as session:
            return portal.prefill(session, g.user, code, wired.clock(), subject=query.get("subject"),
                                  authorisation=query.get("authorisation"))
