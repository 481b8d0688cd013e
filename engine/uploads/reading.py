"""Who may read an upload, and the record of staff's views.

Its owner may; once it is part of an application, whoever may read that application
(engine/access.py ``may_read``: its applicant and the principal it was made for, clerks of
a department with a task in it, in its region, and the overseers of its region). Anyone
else is told it does not exist (404), as for an application. Every time staff open an
attached upload's content, the view is recorded as a full view of personal data
(engine/oversight/privacy.py's event), so the applicant sees it in 谁查看了我的信息.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import SUBMITTERS, may_read
from engine.errors import NotFound
from engine.events import EventKind, record
from engine.store.models import Application, Upload, User

PUBLIC_ID_LENGTH = 32  # the longest public id stored (engine/store/models.py Upload.public_id)


def readable_upload(session: Session, user: User, public_id: str) -> Upload:
    """The upload the caller may read, or NotFound — the same for "not yours" as for "not there"."""
    upload = None
    if len(public_id) <= PUBLIC_ID_LENGTH:
        upload = session.scalars(select(Upload).where(Upload.public_id == public_id)).first()
    if upload is None or not may_read_upload(session, user, upload):
        raise NotFound(f"没有这份材料 no upload {public_id}")
    return upload


def of_application(session: Session, user: User, application_id: int) -> list[Upload]:
    """The uploads that are part of an application the caller may read, oldest first."""
    application = session.get(Application, application_id)
    if application is None or not may_read(user, application, session):
        raise NotFound("no such application")  # as engine/applications.py answers it
    return list(session.scalars(select(Upload).where(Upload.application_id == application_id).order_by(Upload.id)))


def may_read_upload(session: Session, user: User, upload: Upload) -> bool:
    if upload.owner_id == user.id:
        return True
    return upload.application is not None and may_read(user, upload.application, session)


def record_view(session: Session, user: User, upload: Upload, now: datetime) -> None:
    """Staff opening an attached upload: recorded like any full view of personal data (the
    caller commits). The applicant side (their own files) and unattached ones are not."""
    if user.role in SUBMITTERS or upload.application_id is None:
        return
    record(session, EventKind.PERSONAL_DATA_VIEWED, user.username, now, application_id=upload.application_id,
           data={"reason": f"查看申请材料「{upload.name}」", "role": user.role,
                 "fields": [f"upload:{upload.public_id}"], "upload": upload.public_id})
