"""Settings from the environment.

With nothing set, OneWindow runs embedded: SQLite in ``instance/`` and queued work run
in-process, so ``onewindow serve`` works on a fresh machine. ``ONEWINDOW_DATABASE_URL``
and ``ONEWINDOW_REDIS_URL`` switch to PostgreSQL and Redis.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROCESSES_DIR = REPO_ROOT / "processes"
CATALOGUE_FILE = PROCESSES_DIR / "catalogue.yaml"


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None
    source_options: dict = field(default_factory=dict)
    reconcile_after_seconds: int = 60

    @property
    def embedded(self) -> bool:
        """True when no Redis is configured: queued work runs inside the API process."""
        return self.redis_url is None


def default_database_url() -> str:
    instance = REPO_ROOT / "instance"
    instance.mkdir(exist_ok=True)
    return f"sqlite:///{instance / 'onewindow.db'}"


def load_settings() -> Settings:
    """Read ``ONEWINDOW_*`` variables.

    ``ONEWINDOW_SOURCES`` is JSON giving per-source options, e.g.
    ``{"property_registry": {"deferred": true, "delay": 2}}``: a deferred source is
    read by a worker, never inside a request (how a slow remote registry behaves).
    """
    return Settings(
        database_url=os.environ.get("ONEWINDOW_DATABASE_URL") or default_database_url(),
        redis_url=os.environ.get("ONEWINDOW_REDIS_URL") or None,
        source_options=json.loads(os.environ.get("ONEWINDOW_SOURCES") or "{}"),
        reconcile_after_seconds=int(os.environ.get("ONEWINDOW_RECONCILE_AFTER", "60")),
    )
