"""Where an upload's bytes are kept, by their SHA-256 (the same file twice is kept once).

``Storage`` is the protocol (like engine/sources' ``Source`` and the runner's
``WorkQueue``): ``DatabaseStorage`` — the embedded default, a row of ``upload_blob`` in the
upload's own transaction — or ``DirectoryStorage`` (``ONEWINDOW_UPLOAD_DIR``: an object
store's mounted directory), a file per SHA-256 written to a temporary file and renamed into
place, so a reader never sees half a file. A file written for an upload whose transaction
then fails stays, unreferenced: the next upload of the same bytes uses it.
"""
from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.errors import ServiceUnavailable
from engine.store.models import StorageKind, UploadBlob

log = logging.getLogger(__name__)
UNREADABLE = "材料文件暂时无法读取，请稍后再试 the stored file cannot be read now"
UNWRITABLE = "材料暂时无法保存，请稍后再试 the file cannot be stored now; nothing was kept"


class Storage(Protocol):
    kind: StorageKind

    def put(self, session: Session, sha256: str, content: bytes) -> str:
        """Keep the bytes (once per SHA-256); returns the key to read them by."""

    def get(self, session: Session, key: str) -> bytes:
        """The bytes kept under ``key``; ServiceUnavailable if they cannot be read."""


@dataclass(frozen=True)
class DatabaseStorage:
    kind: StorageKind = StorageKind.DATABASE

    def put(self, session: Session, sha256: str, content: bytes) -> str:
        """Insert the blob unless the same bytes are there (also when another upload of them
        commits at the same moment: ON CONFLICT DO NOTHING, on both databases)."""
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(UploadBlob).values(sha256=sha256, content=content)
                        .on_conflict_do_nothing(index_elements=["sha256"]))
        return sha256

    def get(self, session: Session, key: str) -> bytes:
        blob = session.get(UploadBlob, key)
        if blob is None:
            log.error("upload blob %s missing from the database", key)
            raise ServiceUnavailable(UNREADABLE)
        return blob.content


@dataclass(frozen=True)
class DirectoryStorage:
    root: Path
    kind: StorageKind = StorageKind.DIRECTORY

    def put(self, session: Session, sha256: str, content: bytes) -> str:
        path = self._path(sha256)
        if path.is_file() and path.stat().st_size == len(content):
            return sha256  # the same bytes are there already (named by their hash)
        temporary_name = None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".upload-", delete=False) as temporary:
                temporary_name = temporary.name
                temporary.write(content)
                temporary.flush()
                os.fsync(temporary.fileno())
            os.replace(temporary_name, path)
        except OSError as exc:
            log.error("upload %s cannot be written to %s", sha256, self.root, exc_info=exc)
            if temporary_name is not None:
                _discard(Path(temporary_name))
            raise ServiceUnavailable(UNWRITABLE) from exc
        return sha256

    def get(self, session: Session, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except OSError as exc:
            log.error("upload %s cannot be read from %s", key, self.root, exc_info=exc)
            raise ServiceUnavailable(UNREADABLE) from exc

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 in hex: {sha256!r}")  # a key is never a path of its own
        return self.root / sha256


def _discard(path: Path) -> None:
    """Remove the temporary file a failed write left, if it is there; a failure to is logged
    (the write's own error is what the caller hears)."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("temporary upload file %s cannot be removed", path, exc_info=exc)


def storages(upload_dir: str | None) -> tuple[Storage, dict[StorageKind, Storage]]:
    """The storage new uploads go to, and every storage an upload may be read from (one
    stored in the database stays readable after ONEWINDOW_UPLOAD_DIR is set)."""
    database = DatabaseStorage()
    if upload_dir is None:
        return database, {StorageKind.DATABASE: database}
    directory = DirectoryStorage(Path(upload_dir))
    return directory, {StorageKind.DATABASE: database, StorageKind.DIRECTORY: directory}
