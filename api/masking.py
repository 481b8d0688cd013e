"""Masking what the API answers with, for callers who see personal data masked
(engine/oversight/privacy.py): one post_dump on every schema that carries an application's data."""
from __future__ import annotations

from typing import Any

from flask import g
from marshmallow import Schema, post_dump

from api.context import services
from engine.oversight.privacy import Masking, masking_of, sees_masked


def masked_for_caller(data: Any, application_id: int | None) -> Any:
    """``data`` as the signed-in caller may see it; one masking per application a request."""
    user = g.get("user")
    if user is None or not sees_masked(user):
        return data
    maskings: dict[int | None, Masking] = g.setdefault("maskings", {})
    if application_id not in maskings:
        with services().sessions() as session:
            maskings[application_id] = masking_of(session, application_id)
    return maskings[application_id](data)


class MaskedSchema(Schema):
    """A schema of data about one application (named by ``application_attribute`` of the
    object dumped), masked for those who see it masked."""

    application_attribute = "application_id"

    @post_dump(pass_original=True)
    def _masked(self, data: dict, original: Any, **_kwargs: Any) -> dict:
        return masked_for_caller(data, self.get_attribute(original, self.application_attribute, None))
