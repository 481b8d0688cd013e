"""Wiring: settings -> database, sources, work queue -> Engine (shared by API and worker)."""
from __future__ import annotations

from redis import Redis

from engine.applications import Engine
from engine.config import Settings
from engine.db import make_engine, make_session_factory
from engine.sources import embedded_sources
from worker.queues import InProcessWorkQueue, RQWorkQueue


def build_engine(settings: Settings) -> Engine:
    database = make_engine(settings.database_url)
    # Sources read on their own connections so a slow lookup never holds the
    # application's write transaction (and SQLite's write lock) in its thread.
    source_database = make_engine(settings.database_url, immediate=False, read_only=True)
    sources = embedded_sources(make_session_factory(source_database), settings.source_options)
    if settings.embedded:
        queue = InProcessWorkQueue()
        engine = Engine(make_session_factory(database), sources, queue)
        queue.advance = engine.advance
        return engine
    redis = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
    return Engine(make_session_factory(database), sources, RQWorkQueue(redis))
