"""Logs as one JSON object a line (python-json-logger): timestamp, level, logger and message,
what the caller passed as ``extra``, and the id of the request being answered, if any.

Every process configures it once at start (``onewindow`` commands, ``create_app`` as gunicorn
runs it, the worker's cron process), at ``ONEWINDOW_LOG_LEVEL``; the API sets the request
id (api/request_log.py), so every line written while a request is answered carries it.
"""
from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

request_id: ContextVar[str | None] = ContextVar("onewindow_request_id", default=None)

FIELDS = ("levelname", "name", "message")
RENAMED = {"levelname": "level", "name": "logger"}
# SpiffWorkflow logs each task's state changes with the task's data (residents' personal
# data) at INFO and DEBUG: its loggers write warnings and errors only, whatever the level.
HELD_AT_WARNING = ("spiff",)


class _WithRequestId(logging.Filter):
    """Adds ``request_id`` to a line written while a request is answered."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = request_id.get()
        if current is not None and not hasattr(record, "request_id"):
            record.request_id = current
        return True


class _JsonLines(logging.StreamHandler):
    """Writes to the current ``sys.stderr`` (as logging's last-resort handler does), so a
    stream replaced later (pytest's capture) is never written to after it is closed."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter(FIELDS, rename_fields=RENAMED, timestamp=True, json_ensure_ascii=False))
        self.addFilter(_WithRequestId())

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        """StreamHandler sets a stream at construction; this handler has none of its own."""


def configure_logging(level: str) -> None:
    """JSON lines on stderr at ``level``; called again (another app, another command) it
    replaces its own handler and leaves any other handler alone."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _JsonLines)]:
        root.removeHandler(handler)
    root.addHandler(_JsonLines())
    root.setLevel(level)
    for name in HELD_AT_WARNING:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
