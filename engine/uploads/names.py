"""An upload's name as kept and sent back: the client's file name without its folders,
without characters nobody can see (control, bidi formatting, lone surrogates: as
forms/characters.py refuses them in answers), at most ``MAX_NAME`` characters, ending in
the extension of the kind its bytes are (a PNG sent as ``证明.pdf`` is kept as ``证明.png``)."""
from __future__ import annotations

import unicodedata

from engine.store.models import UploadKind
from engine.uploads.sniffing import EXTENSIONS

MAX_NAME = 100
DEFAULT_STEM = "材料"
INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})  # control, format (bidi, zero-width), surrogate, private, unassigned
KNOWN_ENDINGS = (".pdf", ".jpg", ".jpeg", ".jpe", ".png", ".ofd")


def safe_name(client_name: str | None, kind: UploadKind) -> str:
    """The name to keep for a file of ``kind`` the client called ``client_name``."""
    name = unicodedata.normalize("NFC", client_name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]  # no folders, whichever system sent it
    name = "".join(" " if char.isspace() else char for char in name
                   if unicodedata.category(char) not in INVISIBLE or char.isspace())
    stem = " ".join(name.split()).strip(". ")
    lowered = stem.lower()
    for ending in KNOWN_ENDINGS:
        if lowered.endswith(ending):
            stem = stem[: -len(ending)].rstrip(". ")
            break
    extension = EXTENSIONS[kind]
    stem = stem[: MAX_NAME - len(extension)] or DEFAULT_STEM
    return stem + extension
