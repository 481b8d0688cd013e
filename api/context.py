"""The services of the app serving the request (built by onewindow/wiring.py)."""
from __future__ import annotations

from flask import current_app

from engine.services import Services

SERVICES = "onewindow"  # the app.extensions key


def services() -> Services:
    return current_app.extensions[SERVICES]
