"""Files the tests build in memory, as another tool would have written them."""
from __future__ import annotations

import io
import zipfile


def archive(entries: dict[str, bytes]) -> bytes:
    """A zip of ``entries`` (name -> bytes): an OFD document is one."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as written:
        for name, content in entries.items():
            written.writestr(name, content)
    return buffer.getvalue()
