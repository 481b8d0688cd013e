"""Time a clerk's queue listing with many open tasks in PostgreSQL (p50/p99 of 100 calls).

Fills a scratch schema with N open tasks (default 100,000) spread over 10 departments,
then lists one department's queue through Engine.queue_for — the same call the API makes.
Run (needs PostgreSQL; uses a schema of its own, dropped afterwards):

    python bench/queue_listing.py --tasks 100000
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date

from sqlalchemy import text

from engine import users
from engine.applications import QueueQuery
from engine.catalogue import deploy_catalogue
from engine.config import Settings
from engine.db import make_engine, upgrade
from engine.demo import seed
from worker.setup import build_engine

SCHEMA = "bench_queue"
DEPARTMENTS = 10


def fill(engine, tasks: int) -> None:
    """One application per task, inserted set-wise by SQL (the path being measured is the read)."""
    with engine.sessions() as session:
        definition_id = session.execute(text("SELECT id FROM service_definition LIMIT 1")).scalar()
        applicant = session.execute(text("SELECT id FROM app_user WHERE role = 'applicant' LIMIT 1")).scalar()
        session.execute(text("""
            INSERT INTO application (tracking_no, matter_code, definition_id, applicant_id, region, status,
                form_data, workflow, due_at, colour, clock_pauses, created_at, updated_at, version)
            SELECT 'B' || g, 'elderly_subsidy', :definition, :applicant, '460100', 'waiting', '{}', '{}',
                   now() + (g % 20) * interval '1 day', 'green', '[]', now(), now(), 1
            FROM generate_series(1, :n) AS g"""), {"definition": definition_id, "applicant": applicant, "n": tasks})
        session.execute(text("""
            INSERT INTO task (application_id, spiff_task_id, element_id, title, candidate_role, department,
                region, status, due_at, created_at)
            SELECT id, md5(id::text), 'Task_review', '人工审核', 'clerk', 'dept_' || (id % :d), '460100',
                   'open', due_at, now()
            FROM application WHERE tracking_no LIKE 'B%'"""), {"d": DEPARTMENTS})
        session.commit()
        session.execute(text("ANALYZE task"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    url = f"{args.database}?options=-csearch_path%3D{SCHEMA}"
    admin = make_engine(args.database)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    try:
        upgrade(url)
        engine = build_engine(Settings(database_url=url, redis_url="redis://127.0.0.1:6379/14"))
        with engine.sessions() as session:
            deploy_catalogue(session, set(engine.sources), "bench")
            seed(session, date.today())
            clerk = users.create_user(session, "bench_clerk", "x", "clerk", "dept_3")
            session.commit()
        started = time.perf_counter()
        fill(engine, args.tasks)
        filled = time.perf_counter() - started
        timings = []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            listed = engine.queue_for(clerk, QueueQuery(status="open", limit=100))
            timings.append((time.perf_counter() - t0) * 1000)
        assert len(listed) == 100
        timings.sort()
        print(json.dumps({"open_tasks": args.tasks, "calls": args.calls, "fill_seconds": round(filled, 1),
                          "p50_ms": round(statistics.median(timings), 2),
                          "p99_ms": round(timings[int(0.99 * (len(timings) - 1))], 2)}))
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))


if __name__ == "__main__":
    main()
