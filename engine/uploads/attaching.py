"""A material naming its upload: ``upload:<id>`` (what POST /api/uploads answered as ``id``).

A 补正 answer's ``materials[].reference`` and a submission's ``uploads`` may name uploads;
any other reference (an e-licence number, a paper's number) stays a plain text. A named
upload must exist, belong to the caller or to someone the application is theirs
(engine/people/subjects.py: the principal an agent acts for, the agent who submitted), not
be infected, and not be part of another application; then it becomes part of this one, in
the same transaction as the answer. An application holds at most ``limit`` uploads.
Otherwise UploadNotUsable (422) naming each field at fault, e.g. ``materials.0.reference``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from engine.errors import UploadNotUsable
from engine.events import record
from engine.people import subjects
from engine.store.models import Application, ScanStatus, Upload, User
from engine.uploads.receiving import UploadEvent
from engine.uploads.references import PUBLIC_ID, upload_id

USABLE_SCANS = (ScanStatus.CLEAN, ScanStatus.NOT_SCANNED)
NO_SUCH = "没有这份已上传的材料，请重新上传后再引用"
TAKEN = "这份材料已用于另一件申请，请重新上传"
INFECTED = "这份材料未通过病毒扫描，不能使用"


def in_materials(answer: Mapping[str, Any]) -> dict[str, str]:
    """The uploads a 补正 answer's materials name, by field (``materials.0.reference``)."""
    materials = answer.get("materials")
    named = {}
    for index, material in enumerate(materials if isinstance(materials, list) else []):
        found = upload_id(material.get("reference")) if isinstance(material, dict) else None
        if found is not None:
            named[f"materials.{index}.reference"] = found
    return named


def in_submission(ids: Iterable[str]) -> dict[str, str]:
    """A submission's ``uploads``: ids, with or without ``upload:``, by field (``uploads.0``)."""
    return {f"uploads.{index}": upload_id(value) or value.strip() for index, value in enumerate(ids)}


def attach(session: Session, user: User, application: Application, named: Mapping[str, str], limit: int,
           now: datetime) -> list[Upload]:
    """Make the named uploads part of the application, or UploadNotUsable naming every field
    at fault (the caller's transaction then rolls back: nothing is attached)."""
    if not named:
        return []
    errors: dict[str, list[str]] = {}
    usable: dict[str, Upload] = {}
    for field, public_id in named.items():
        upload = session.scalars(select(Upload).where(Upload.public_id == public_id)).first() \
            if PUBLIC_ID.fullmatch(public_id) else None
        problem = _problem(session, user, application, upload)
        if problem:
            errors[field] = [problem]
        else:
            usable[field] = upload
    if errors:
        raise UploadNotUsable("材料引用的上传文件不能使用", errors)
    if application.id is None:  # a new application: its row first, so the uploads can name it
        session.flush()
    for field, upload in usable.items():
        _take(session, upload, application, field)
    _within_limit(session, application, list(usable)[-1], limit)
    record(session, UploadEvent.ATTACHED, user.username, now, application_id=application.id,
           data={"uploads": sorted({upload.public_id for upload in usable.values()})})
    return list(usable.values())


def _problem(session: Session, user: User, application: Application, upload: Upload | None) -> str | None:
    if upload is None or not _belongs(session, user, application, upload):
        return NO_SUCH  # someone else's reads as missing: nothing is learnt by naming ids
    if upload.scan not in USABLE_SCANS:
        return INFECTED
    if upload.application_id is not None and upload.application_id != application.id:
        return TAKEN
    return None


def _belongs(session: Session, user: User, application: Application, upload: Upload) -> bool:
    """The caller's own, or the upload of someone whose application this is (the principal,
    the agent who submitted it)."""
    if upload.owner_id == user.id:
        return True
    owner = session.get(User, upload.owner_id)
    return owner is not None and subjects.is_theirs(session, owner, application)


def _take(session: Session, upload: Upload, application: Application, field: str) -> None:
    """Attach unless another application took it meanwhile (the row's own condition decides
    between two at once)."""
    taken = session.execute(update(Upload).where(Upload.id == upload.id, or_(
        Upload.application_id.is_(None), Upload.application_id == application.id))
        .values(application_id=application.id).execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        raise UploadNotUsable("材料引用的上传文件不能使用", {field: [TAKEN]})


def _within_limit(session: Session, application: Application, field: str, limit: int) -> None:
    held = session.scalar(select(func.count(Upload.id)).where(Upload.application_id == application.id))
    if held > limit:
        raise UploadNotUsable("材料数量超过上限", {field: [f"一件申请最多附 {limit} 份上传的材料，现有 {held} 份"]})
