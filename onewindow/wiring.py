"""Wiring: settings -> database, sources, work queue -> the engine's services.

The one place a process's parts are chosen: the embedded default (SQLite, an in-process
work thread) or production (PostgreSQL, RQ on Redis). The API (``web_app``, what gunicorn
runs), the worker's jobs, ``onewindow serve`` and the commands all build their services
here, from the same settings.
"""
from __future__ import annotations

from functools import lru_cache

from flask import Flask
from redis import Redis

from api import create_app
from engine.config import Settings, load_settings
from engine.store.db import make_engine, make_session_factory
from engine.services import Services
from engine.sources.embedded import embedded_sources
from worker.queues import InProcessWorkQueue, RQWorkQueue


def build_services(settings: Settings) -> Services:
    database = make_engine(settings.database_url)
    # Sources read on their own connections so a slow lookup never holds the
    # application's write transaction (and SQLite's write lock) in its thread.
    source_database = make_engine(settings.database_url, immediate=False, read_only=True)
    sources = embedded_sources(source_database, settings.source_options)
    if settings.embedded:
        queue = InProcessWorkQueue()
        services = Services(make_session_factory(database), sources, queue)
        queue.advance = services.work.advance
        return services
    redis = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
    return Services(make_session_factory(database), sources, RQWorkQueue(redis))


@lru_cache(maxsize=1)
def process_services() -> Services:
    """This process's services, built once from the environment (``ONEWINDOW_*``): what the
    RQ jobs and the commands use."""
    return build_services(load_settings())


def web_app(settings: Settings | None = None) -> Flask:
    """The API with services of its own, as gunicorn runs it: ``gunicorn 'onewindow.wiring:web_app()'``
    (settings from the environment)."""
    settings = settings or load_settings()
    return create_app(build_services(settings), settings)
