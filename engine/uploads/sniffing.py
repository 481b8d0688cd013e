"""What an uploaded file is, by its first bytes (magic numbers): the file name's ending and
the client's Content-Type are not trusted. PDF, JPEG and PNG by their signatures; OFD
(GB/T 33190 版式文档) is a ZIP archive holding ``OFD.xml`` at its root, checked by reading
the archive's directory and at most ``OFD_HEAD`` bytes of that one entry."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib

from engine.store.models import UploadKind

SIGNATURES: tuple[tuple[bytes, UploadKind], ...] = (
    (b"%PDF-", UploadKind.PDF),
    (b"\xff\xd8\xff", UploadKind.JPEG),
    (b"\x89PNG\r\n\x1a\n", UploadKind.PNG),
)
ZIP_SIGNATURE = b"PK\x03\x04"
OFD_ENTRY = "OFD.xml"
OFD_HEAD = 4096  # bytes of OFD.xml read (decompressed) to see that it is XML
MAX_ZIP_ENTRIES = 10_000  # an OFD of more entries is no document anyone scanned
XML_START = (b"<", b"\xef\xbb\xbf<")  # an XML declaration or the root element, maybe after a BOM
# What a broken, encrypted or hostile archive raises while its directory or an entry is read.
ZIP_FAILURES = (zipfile.BadZipFile, zlib.error, struct.error, EOFError, NotImplementedError, RuntimeError, ValueError,
                OSError)

MIME_TYPES = {
    UploadKind.PDF: "application/pdf",
    UploadKind.JPEG: "image/jpeg",
    UploadKind.PNG: "image/png",
    UploadKind.OFD: "application/ofd",
}
EXTENSIONS = {UploadKind.PDF: ".pdf", UploadKind.JPEG: ".jpg", UploadKind.PNG: ".png", UploadKind.OFD: ".ofd"}


def sniff(content: bytes) -> UploadKind | None:
    """The kind the bytes are, or None: not one the platform takes."""
    for signature, kind in SIGNATURES:
        if content.startswith(signature):
            return kind
    if content.startswith(ZIP_SIGNATURE) and is_ofd(content):
        return UploadKind.OFD
    return None


def is_ofd(content: bytes) -> bool:
    """A ZIP archive with a file ``OFD.xml`` at its root whose first bytes are XML. A broken
    or encrypted archive, or one of too many entries, is not an OFD."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ZIP_ENTRIES:
                return False
            entry = next((e for e in entries if e.filename == OFD_ENTRY and not e.is_dir()), None)
            if entry is None:
                return False
            with archive.open(entry) as stream:
                head = stream.read(OFD_HEAD)  # bounded: a bomb is never inflated past this
    except ZIP_FAILURES:
        return False
    return head.lstrip(b" \t\r\n").startswith(XML_START)
