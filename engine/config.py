"""Settings from the environment.

With nothing set, OneWindow runs embedded: SQLite in ``instance/`` and queued work run
in-process, so ``onewindow serve`` works on a fresh machine. ``ONEWINDOW_DATABASE_URL``
and ``ONEWINDOW_REDIS_URL`` switch to PostgreSQL and Redis.
"""
from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from limits import parse_many

REPO_ROOT = Path(__file__).resolve().parent.parent
PROCESSES_DIR = REPO_ROOT / "processes"
CATALOGUE_FILE = PROCESSES_DIR / "catalogue.yaml"


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")  # the logging module's level names
SOURCE_OPTIONS = {"timeout": (int, float), "delay": (int, float), "deferred": (bool,)}


class SettingsError(ValueError):
    """A malformed ``ONEWINDOW_*`` variable: the message names it and the form it accepts."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None
    source_options: dict = field(default_factory=dict)
    reconcile_after_seconds: int = 60
    login_limit: str = "10 per minute"  # per address and account (api/protection.py)
    submit_limit: str = "30 per minute"  # per caller
    personal_data_limit: str = "30 per hour"  # full views of personal data, per caller (engine/oversight/privacy.py)
    log_level: str = "INFO"  # ONEWINDOW_LOG_LEVEL, one of LOG_LEVELS; logs are JSON lines (engine/logs.py)
    demo: bool | None = None  # ONEWINDOW_DEMO; None: the default, demo data on SQLite only
    # Material uploads (engine/uploads/): the bytes in this directory (one file per SHA-256)
    # instead of the database; a command fed each file on stdin (exit 0 clean, 1 infected);
    # the largest file, and how many files one application may hold.
    upload_dir: str | None = None  # ONEWINDOW_UPLOAD_DIR
    upload_scan_command: str | None = None  # ONEWINDOW_UPLOAD_SCAN_COMMAND, e.g. "clamdscan --no-summary -"
    upload_max_bytes: int = 10 * 1024 * 1024  # ONEWINDOW_UPLOAD_MAX_BYTES
    upload_max_per_application: int = 50  # ONEWINDOW_UPLOAD_MAX_PER_APPLICATION

    @property
    def embedded(self) -> bool:
        """True when no Redis is configured: queued work runs inside the API process."""
        return self.redis_url is None

    @property
    def demo_data(self) -> bool:
        """Whether the demo users (whose password is published) may exist: on the embedded
        SQLite unless ONEWINDOW_DEMO=0, elsewhere only with ONEWINDOW_DEMO=1."""
        return self.database_url.startswith("sqlite") if self.demo is None else self.demo


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
        source_options=_source_options(os.environ.get("ONEWINDOW_SOURCES") or "{}"),
        reconcile_after_seconds=_whole_seconds("ONEWINDOW_RECONCILE_AFTER", "60"),
        login_limit=_rate("ONEWINDOW_LOGIN_LIMIT", Settings.login_limit),
        submit_limit=_rate("ONEWINDOW_SUBMIT_LIMIT", Settings.submit_limit),
        personal_data_limit=_rate("ONEWINDOW_PERSONAL_DATA_LIMIT", Settings.personal_data_limit),
        log_level=_log_level(),
        demo=_demo(),
        upload_dir=_upload_dir(),
        upload_scan_command=_scan_command(),
        upload_max_bytes=_positive("ONEWINDOW_UPLOAD_MAX_BYTES", Settings.upload_max_bytes),
        upload_max_per_application=_positive("ONEWINDOW_UPLOAD_MAX_PER_APPLICATION",
                                             Settings.upload_max_per_application),
    )


def _upload_dir() -> str | None:
    """``ONEWINDOW_UPLOAD_DIR``: an absolute path to a directory (made if missing) for the
    uploads' bytes; unset, they are kept in the database."""
    value = os.environ.get("ONEWINDOW_UPLOAD_DIR") or None
    if value is None:
        return None
    path = Path(value)
    if not path.is_absolute():
        raise SettingsError(f"ONEWINDOW_UPLOAD_DIR={value!r}: an absolute path, e.g. /var/lib/onewindow/uploads")
    if path.exists() and not path.is_dir():
        raise SettingsError(f"ONEWINDOW_UPLOAD_DIR={value!r} is not a directory")
    return value


def _scan_command() -> str | None:
    """``ONEWINDOW_UPLOAD_SCAN_COMMAND``: a command line (split like a shell's words, never run
    by a shell); unset, uploads are stored as not_scanned."""
    value = (os.environ.get("ONEWINDOW_UPLOAD_SCAN_COMMAND") or "").strip() or None
    if value is None:
        return None
    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise SettingsError(f"ONEWINDOW_UPLOAD_SCAN_COMMAND={value!r}: {exc}; e.g. 'clamdscan --no-summary -'") from exc
    if not words:
        raise SettingsError(f"ONEWINDOW_UPLOAD_SCAN_COMMAND={value!r}: a command, e.g. 'clamdscan --no-summary -'")
    return value


def _positive(name: str, default: int) -> int:
    value = os.environ.get(name) or str(default)
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise SettingsError(f"{name}={value!r}: a whole number of at least 1, e.g. {default}")
    return int(value)


def _demo() -> bool | None:
    """``ONEWINDOW_DEMO``: 1 loads the demo users and data (tests, benchmarks), 0 refuses them."""
    value = os.environ.get("ONEWINDOW_DEMO", "")
    if value not in ("", "0", "1"):
        raise SettingsError(f"ONEWINDOW_DEMO={value!r}: 1 (demo users with the published password allowed) "
                            "or 0; unset, 1 on the embedded SQLite and 0 otherwise")
    return None if value == "" else value == "1"


def _log_level() -> str:
    """``ONEWINDOW_LOG_LEVEL``: the least severe level written, by its logging name."""
    value = os.environ.get("ONEWINDOW_LOG_LEVEL") or Settings.log_level
    if value.upper() not in LOG_LEVELS:
        raise SettingsError(f"ONEWINDOW_LOG_LEVEL={value!r}: one of {', '.join(LOG_LEVELS)}")
    return value.upper()


def _rate(name: str, default: str) -> str:
    """A rate limit, checked here: flask-limiter silently drops one it cannot parse."""
    value = os.environ.get(name, default)
    try:
        parse_many(value)
    except ValueError as exc:
        raise SettingsError(f"{name}={value!r}: a rate such as {default!r} or '5/second'") from exc
    return value


def _whole_seconds(name: str, default: str) -> int:
    value = os.environ.get(name, default)
    if not value.isdigit():
        raise SettingsError(f"{name}={value!r}: a whole number of seconds, e.g. {default}")
    return int(value)


def _source_options(text: str) -> dict:
    """``ONEWINDOW_SOURCES``: a JSON object of source name -> {timeout, delay, deferred}."""
    form = 'a JSON object such as {"property_registry": {"deferred": true, "delay": 2, "timeout": 3}}'
    try:
        options = json.loads(text)
    except ValueError as exc:
        raise SettingsError(f"ONEWINDOW_SOURCES is not JSON ({exc}): {form}") from exc
    if not isinstance(options, dict) or not all(isinstance(o, dict) for o in options.values()):
        raise SettingsError(f"ONEWINDOW_SOURCES: {form}")
    for source, values in options.items():
        for key, value in values.items():
            if key not in SOURCE_OPTIONS or not isinstance(value, SOURCE_OPTIONS[key]) \
                    or (key != "deferred" and isinstance(value, bool)):
                raise SettingsError(f"ONEWINDOW_SOURCES: {source}.{key}={value!r}: options are timeout and delay "
                                    f"(seconds) and deferred (true/false)")
    return options
