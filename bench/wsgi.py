"""The API as the benchmark runs it: under gunicorn (PostgreSQL + Redis) or embedded.

gunicorn: ``gunicorn -c bench/gunicorn.conf.py`` — the config's ``on_starting`` hook
upgrades the schema, deploys the matter and seeds the demo users once, in the master,
before any worker forks; each worker then imports ``app`` and builds its own engine
(``onewindow.wiring.process_services()``, the same one the RQ jobs use) from ``ONEWINDOW_*``.

Embedded: ``python bench/wsgi.py --port 5077`` does what ``onewindow serve`` does with no
Redis configured — migrate, deploy, seed, start the in-process sweeps and run Flask's
threaded server — except that it deploys only the benchmarked matter.

Rate limits: the API limits submissions to 30/min and logins to 10/min per caller
(api/protection.py, read from the environment at import). A load test from a handful of
callers would measure 429s, so both are raised here to 1,000,000/min — the limiter still
runs (and still keeps its counters in Redis), so its cost stays in the figures.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("ONEWINDOW_SUBMIT_LIMIT", "1000000 per minute")
os.environ.setdefault("ONEWINDOW_LOGIN_LIMIT", "1000000 per minute")
os.environ.setdefault("ONEWINDOW_DEMO", "1")  # it seeds the demo users and signs in as them

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (puts the repo root on sys.path)
from api import create_app  # noqa: E402
from onewindow.wiring import process_services  # noqa: E402


def prepare() -> None:
    """Schema, matter and demo users: once per database, before the API serves."""
    from engine.config import load_settings
    common.prepare_database(load_settings().database_url)


def _app():
    """The app; in the mixed scenario (common.UNVERIFIABLE_AGE_ENV set) its death register
    does not answer for the manual share of residents (common.UnverifiableElders)."""
    built = process_services()
    if os.environ.get(common.UNVERIFIABLE_AGE_ENV) == str(common.MANUAL_AGE):
        common.with_unverifiable_elders(built)
    return create_app(built)


def main() -> None:
    """Embedded: one process, threaded server, queued work in a thread (as `onewindow serve`)."""
    from onewindow.cli import _start_embedded_sweeps
    from engine.config import load_settings

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5077)
    args = parser.parse_args()
    settings = load_settings()
    prepare()
    if settings.embedded:
        _start_embedded_sweeps()  # the reconcile job reads ONEWINDOW_RECONCILE_AFTER itself
    _app().run(host="127.0.0.1", port=args.port, threaded=True)


if __name__ == "__main__":
    main()
else:
    app = _app()
