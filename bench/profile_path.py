"""Where a straight-through approval spends its time: pyinstrument over the request path.

Runs POST /api/applications on the Flask test client (the whole request: auth, limiter,
marshmallow, Engine.submit, serialization) against PostgreSQL + Redis or SQLite, in this
process, and writes the full pyinstrument tree plus two top lists — own time per function
and cumulative time per function — as percentages of the profiled wall time.

    python bench/run.py profile --backend postgres -n 500
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import replace

from pyinstrument import Profiler

import common

SCHEMA = "bench_profile"
SUBMIT_LIMIT = "1000000 per minute"  # as bench/wsgi.py sets for the HTTP benchmarks


PROJECT = ("engine/", "api/", "rules/", "forms/", "worker/")


def _tables(root, top: int) -> tuple[list[dict], list[dict]]:
    """Own (self) time per function, and cumulative time per function of the project's own
    code (engine/, api/, …: where a fix would go); recursion is counted once."""
    own: dict[str, float] = defaultdict(float)
    cumulative: dict[str, float] = defaultdict(float)

    def name(frame) -> str:
        return f"{frame.function} ({frame.file_path_short}:{frame.line_no})"

    def walk(frame, active: frozenset) -> None:
        key = name(frame)
        own[key] += frame.total_self_time
        if key not in active and (frame.file_path_short or "").startswith(PROJECT):
            cumulative[key] += frame.time
        for child in frame.children:
            walk(child, active | {key})
    walk(root, frozenset())
    total = root.time

    def rows(table: dict[str, float]) -> list[dict]:
        ranked = sorted(table.items(), key=lambda item: item[1], reverse=True)[:top]
        return [{"function": key, "seconds": round(seconds, 3), "percent": round(100 * seconds / total, 1)}
                for key, seconds in ranked]
    return rows(own), rows(cumulative)


def profile(backend: str, count: int, top: int) -> dict:
    from api import create_app
    from engine.demo import DEMO_PASSWORD
    from onewindow.wiring import build_services

    # one caller sends every submission: the per-caller limit (30 a minute) raised, the limiter still runs
    settings = replace(common.settings_for(backend, SCHEMA), submit_limit=SUBMIT_LIMIT)
    if not settings.embedded:
        common.flush_redis()
    common.prepare_database(settings.database_url)
    ids = common.resident_ids(count + 50)
    engine = build_services(settings)
    with engine.sessions() as session:
        common.register_residents(session, ids)
        session.commit()
    client = create_app(engine, settings=settings).test_client()
    token = client.post("/api/auth/login", json={"username": common.SUBMITTER,  # authorised by every resident
                                                 "password": DEMO_PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}

    def submit(id_number: str) -> None:
        reply = client.post("/api/applications", headers=headers,
                            json={"matter": common.MATTER, "data": common.subsidy_form(id_number)})
        assert reply.status_code == 201, reply.get_json()

    for id_number in ids[:50]:
        submit(id_number)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for id_number in ids[50:]:
        submit(id_number)
    profiler.stop()
    session = profiler.last_session
    own, cumulative = _tables(session.root_frame(), top)
    text = profiler.output_text(unicode=True, show_all=False, color=False)
    path = common.RESULTS_DIR / f"profile_straight_{backend}.txt"
    path.write_text(text)
    if backend == "postgres":
        common.drop_schema(SCHEMA)
    return {"backend": backend, "applications": count, "seconds": round(session.duration, 2),
            "ms_per_application": round(1000 * session.duration / count, 2), "tree": path.name,
            "top_own_time": own, "top_cumulative": cumulative}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--top", type=int, default=30)


def scenario(args: argparse.Namespace) -> None:
    result = profile(args.backend, args.n, args.top)
    common.save(f"profile_straight_{args.backend}", result)
    for row in result["top_cumulative"][:25]:
        print(f"{row['percent']:5.1f}%  {row['function']}")
