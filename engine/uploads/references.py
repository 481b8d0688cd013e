"""How a material names an upload: ``upload:<id>``, the id POST /api/uploads answered with.
Anything else is a plain reference (an e-licence number, a paper's number). Pure text:
the task forms' rules read it without the database."""
from __future__ import annotations

import re
from typing import Any

PREFIX = "upload:"
PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")  # engine/store/models.py new_public_ref, URL-safe
MALFORMED = "上传材料的编号格式不对，应为 upload: 加上传后得到的编号"


def upload_id(reference: Any) -> str | None:
    """The upload id a reference names, or None for a plain reference."""
    if isinstance(reference, str) and reference.strip().startswith(PREFIX):
        return reference.strip().removeprefix(PREFIX).strip()
    return None


def reference_problem(reference: Any) -> str | None:
    """What is wrong with a reference naming an upload by an impossible id; None if nothing."""
    named = upload_id(reference)
    return MALFORMED if named is not None and not PUBLIC_ID.fullmatch(named) else None
