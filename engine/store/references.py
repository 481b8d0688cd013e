"""Application references (办件查询号) that applicants see and use in their paths.

The sequential ``application.id`` stays internal: an applicant could count other people's
applications with it, or guess theirs. Applicants get ``public_ref``, 128 random bits
(22 URL-safe characters, ``new_public_ref`` in engine/store/models.py: never read as an id, which
has at most 10 digits). Staff may use either: their paths have always taken the id.
"""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.store.models import Application, User

INTERNAL_ID = re.compile(r"[0-9]{1,10}")
MAX_ROW_ID = 2**31 - 1  # PostgreSQL's integer keys
APPLICANT_ROLES = frozenset({"applicant", "agent"})  # who is shown references, never ids


def application_id_for(session: Session, user: User, reference: str) -> int:
    """The internal id an application path names: its public reference, or (staff only) its
    id. Anything else is NotFound, as an application the caller may not read is."""
    if INTERNAL_ID.fullmatch(reference) and user.role not in APPLICANT_ROLES and int(reference) <= MAX_ROW_ID:
        return int(reference)
    found = session.scalars(select(Application.id).where(Application.public_ref == reference)).first()
    if found is None:
        raise NotFound(f"no application {reference}")
    return found
