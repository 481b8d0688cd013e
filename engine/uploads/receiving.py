"""``Uploads``, the use cases: an upload taken in — its size and kind checked, scanned,
stored, recorded — and read back, by the rule of engine/uploads/reading.py.

Who may upload: applicants, agents (代办点) and clerks. A file larger than the limit is
refused (413), one that is not a PDF, JPEG, PNG or OFD by its bytes (422), one the scanner
finds infected (422), and a failed scan stores nothing (503). The scan runs before any
transaction begins, so a slow scanner holds no lock. An upload stays unattached, seen only
by its owner, until a submission or a 补正 names it (engine/uploads/attaching.py); an owner
holds at most ``MAX_UNATTACHED`` at once.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from engine.access import SUBMITTERS
from engine.config import Settings
from engine.errors import Forbidden, ServiceUnavailable, UploadRefused, UploadTooLarge
from engine.events import LABELS, record
from engine.store.models import ScanStatus, StorageKind, Upload, User, new_public_ref, utcnow
from engine.uploads.names import safe_name
from engine.uploads.reading import of_application, readable_upload, record_view
from engine.uploads.scanning import Scanner, scanner_for
from engine.uploads.sniffing import sniff
from engine.uploads.storage import UNREADABLE, Storage, storages

log = logging.getLogger(__name__)
UPLOADERS = (*SUBMITTERS, "clerk")
MAX_UNATTACHED = 200  # an owner's uploads not yet part of any application
FILE_FIELD = "file"
NOT_TAKEN = "只接受 PDF、JPG、PNG 或 OFD 格式的文件（按文件内容判断，与文件名无关）"


class UploadEvent(StrEnum):
    RECEIVED = "upload.received"
    ATTACHED = "upload.attached"


LABELS.update({UploadEvent.RECEIVED: "上传材料", UploadEvent.ATTACHED: "提交上传的材料"})


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int = Settings.upload_max_bytes
    max_per_application: int = Settings.upload_max_per_application
    max_unattached: int = MAX_UNATTACHED


@dataclass
class Uploads:
    sessions: sessionmaker[Session]
    storage: Storage  # where new uploads go
    readable: Mapping[StorageKind, Storage]  # where any upload may be read from, by its storage kind
    scanner: Scanner
    limits: UploadLimits = field(default_factory=UploadLimits)
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def from_settings(cls, sessions: sessionmaker[Session], settings: Settings,
                      clock: Callable[[], datetime] = utcnow) -> Uploads:
        storage, readable = storages(settings.upload_dir)
        return cls(sessions, storage, readable, scanner_for(settings.upload_scan_command),
                   UploadLimits(settings.upload_max_bytes, settings.upload_max_per_application), clock)

    def receive(self, user: User, client_name: str | None, content: bytes) -> Upload:
        """Check, scan and store one file; the stored upload (its bytes kept once per SHA-256)."""
        if user.role not in UPLOADERS:
            raise Forbidden("only applicants, agents (代办点) and clerks upload materials")
        if len(content) > self.limits.max_bytes:
            raise UploadTooLarge(f"文件超过 {_megabytes(self.limits.max_bytes)} 的上限，请压缩或分开上传",
                                 max_bytes=self.limits.max_bytes)
        if not content:
            raise UploadRefused("文件为空", {FILE_FIELD: ["文件为空，请重新选择文件"]})
        kind = sniff(content)
        if kind is None:
            raise UploadRefused(NOT_TAKEN, {FILE_FIELD: [NOT_TAKEN]})
        scan = self.scanner.scan(content)
        if scan == ScanStatus.INFECTED:
            raise UploadRefused("文件未通过病毒扫描，已拒收", {FILE_FIELD: ["文件未通过病毒扫描，已拒收"]})
        sha256 = hashlib.sha256(content).hexdigest()
        now = self.clock()
        with self.sessions() as session:
            self._room_for_one_more(session, user)
            key = self.storage.put(session, sha256, content)
            upload = Upload(public_id=new_public_ref(), owner_id=user.id, name=safe_name(client_name, kind),
                            kind=kind, size=len(content), sha256=sha256, storage_kind=self.storage.kind,
                            storage_key=key, scan=scan, created_at=now)
            session.add(upload)
            record(session, UploadEvent.RECEIVED, user.username, now, data={
                "upload": upload.public_id, "kind": kind, "size": len(content), "sha256": sha256, "scan": scan})
            session.commit()
        return upload

    def metadata(self, user: User, public_id: str) -> Upload:
        """An upload the caller may read (engine/uploads/reading.py), else NotFound."""
        with self.sessions() as session:
            return readable_upload(session, user, public_id)

    def of_application(self, user: User, application_id: int) -> list[Upload]:
        """The uploads that are part of an application the caller may read, else NotFound."""
        with self.sessions() as session:
            return of_application(session, user, application_id)

    def content(self, user: User, public_id: str) -> tuple[Upload, bytes]:
        """An upload the caller may read, with its bytes; staff's view is recorded."""
        with self.sessions() as session:
            upload = readable_upload(session, user, public_id)
            content = self.readable_from(upload).get(session, upload.storage_key)
            record_view(session, user, upload, self.clock())
            session.commit()
            return upload, content

    def readable_from(self, upload: Upload) -> Storage:
        storage = self.readable.get(StorageKind(upload.storage_kind))
        if storage is None:  # stored in a directory that is no longer configured
            log.error("upload %s is in %s storage, which is not configured", upload.public_id, upload.storage_kind)
            raise ServiceUnavailable(UNREADABLE)
        return storage

    def _room_for_one_more(self, session: Session, user: User) -> None:
        waiting = session.scalar(select(func.count(Upload.id)).where(Upload.owner_id == user.id,
                                                                      Upload.application_id.is_(None)))
        if waiting >= self.limits.max_unattached:
            message = f"尚未提交的材料已有 {waiting} 份，请先在申请或补正中使用它们"
            raise UploadRefused(message, {FILE_FIELD: [message]})


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"
