"""Every request has an id: the caller's ``X-Request-Id`` when it is a sane one, else a new
one. It is echoed in the answer's ``X-Request-Id`` header and in problem+json bodies, it is
carried by every log line written while the request is answered (engine/logs.py), and the
answer is logged once: method, path, status and duration_ms.
"""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from engine.logs import request_id

HEADER = "X-Request-Id"
SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")  # a UUID, a trace id; nothing to break a log
log = logging.getLogger("onewindow.request")


def install(app: Flask) -> None:
    """Call first, before any other ``before_request``: one that answers early (a rate
    limit, refused input) skips those registered after it, and its answer needs the id too."""
    app.before_request(_begin)
    app.after_request(_answered)
    app.teardown_request(_end)


def current_request_id() -> str | None:
    return g.get("request_id")


def _begin() -> None:
    sent = request.headers.get(HEADER, "")
    g.request_id = sent if SANE_ID.fullmatch(sent) else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    request_id.set(g.request_id)


def _answered(response: Response) -> Response:
    response.headers[HEADER] = g.request_id
    duration_ms = round((time.perf_counter() - g.request_started) * 1000, 1)
    log.info("%s %s %s", request.method, request.path, response.status_code,
             extra={"method": request.method, "path": request.path, "status": response.status_code,
                    "duration_ms": duration_ms})
    return response


def _end(_error: BaseException | None) -> None:
    """The thread answers another request next: no line after this one carries this id."""
    request_id.set(None)
