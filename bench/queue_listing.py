"""Time a clerk's queue listing with many applications and open tasks (scenario 3).

Fills a scratch database with ``--applications`` applications (default 1,000,000), of which
the first ``--tasks`` (default 200,000) wait on an open task spread over 10 departments and
the rest are decided, then lists one department's queue (20,000 open tasks at the default
size) through ``Engine.queue_for`` — the call the API makes — and through the API itself
(GET /api/tasks on the Flask test client, so marshmallow serialization is included).

The baseline is what a queue is without the engine's task table: bare SpiffWorkflow
workflows held in memory, scanned for READY user tasks of the clerk's lane, sorted by due
time. It holds ``--baseline-workflows`` workflows (memory bounds it, not 200,000), and the
size is reported with the figure.

    python bench/queue_listing.py --applications 1000000 --tasks 200000            # PostgreSQL
    python bench/queue_listing.py --backend sqlite --applications 1000000 --tasks 200000
"""
from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

import common
from engine.people import users
from engine.tasks import QueueQuery
from onewindow.wiring import build_services

SCHEMA = "bench_queue"
DEPARTMENTS = 10
VARIANTS = {  # what a clerk asks for -> QueueQuery
    "open_by_due": QueueQuery(status="open", limit=100),
    "active_by_due": QueueQuery(status="active", limit=100),
    "open_newest_first": QueueQuery(status="open", sort="-created_at", limit=100),
    "open_matter_filter": QueueQuery(status="open", matter="elderly_subsidy", limit=100),
}

_APPLICATIONS_PG = """
    INSERT INTO application (tracking_no, matter_code, definition_id, applicant_id, region, status, outcome,
        form_data, workflow, due_at, colour, clock_pauses, created_at, updated_at, version)
    SELECT 'B' || g, 'elderly_subsidy', :definition, :applicant, '460100',
           CASE WHEN g <= :tasks THEN 'waiting' ELSE 'completed' END,
           CASE WHEN g <= :tasks THEN NULL ELSE 'approve' END, '{}', '{}',
           :now + (g % 20) * interval '1 day', 'green', '[]', :now - g * interval '1 second', :now, 1
    FROM generate_series(1, :n) AS g"""
_APPLICATIONS_SQLITE = """
    WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :n)
    INSERT INTO application (tracking_no, matter_code, definition_id, applicant_id, region, status, outcome,
        form_data, workflow, due_at, colour, clock_pauses, created_at, updated_at, version)
    SELECT 'B' || g, 'elderly_subsidy', :definition, :applicant, '460100',
           CASE WHEN g <= :tasks THEN 'waiting' ELSE 'completed' END,
           CASE WHEN g <= :tasks THEN NULL ELSE 'approve' END, '{}', '{}',
           datetime(:now, '+' || (g % 20) || ' days'), 'green', '[]', datetime(:now, '-' || g || ' seconds'),
           :now, 1
    FROM s"""
_TASKS = """
    INSERT INTO task (application_id, spiff_task_id, element_id, title, candidate_role, department,
        region, status, due_at, created_at)
    SELECT id, 'spiff-' || id, 'Task_review', '人工审核', 'clerk', 'dept_' || (id % :d), '460100',
           'open', due_at, created_at
    FROM application WHERE status = 'waiting' AND tracking_no LIKE 'B%'"""


def fill(engine, applications: int, tasks: int, sqlite: bool) -> None:
    """Insert set-wise by SQL (the path being measured is the read, not the write)."""
    now = datetime.now(timezone.utc)
    with engine.sessions() as session:
        definition_id = session.execute(text("SELECT id FROM service_definition LIMIT 1")).scalar()
        applicant = session.execute(text("SELECT id FROM app_user WHERE role = 'applicant' LIMIT 1")).scalar()
        session.execute(text(_APPLICATIONS_SQLITE if sqlite else _APPLICATIONS_PG),
                        {"definition": definition_id, "applicant": applicant, "n": applications, "tasks": tasks,
                         "now": now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now})
        session.execute(text(_TASKS), {"d": DEPARTMENTS})
        session.commit()
        session.execute(text("ANALYZE"))
        session.commit()


def _time(call, calls: int) -> dict:
    timings = []
    for _ in range(calls):
        t0 = time.perf_counter()
        call()
        timings.append((time.perf_counter() - t0) * 1000)
    return common.percentiles(timings)


def measure(settings, applications: int, tasks: int, calls: int) -> dict:
    from api import create_app

    common.prepare_database(settings.database_url)
    engine = build_services(settings)
    with engine.sessions() as session:
        clerk = users.create_user(session, "bench_clerk", "bench-password", "clerk", "dept_3")
        session.commit()
    started = time.perf_counter()
    fill(engine, applications, tasks, settings.database_url.startswith("sqlite"))
    filled = time.perf_counter() - started
    result: dict = {"applications": applications, "open_tasks": tasks,
                    "open_tasks_in_department": tasks // DEPARTMENTS, "calls": calls,
                    "fill_seconds": round(filled, 1), "engine": {}, "api": {}}
    for name, query in VARIANTS.items():
        listed = engine.tasks.queue(clerk, query)
        assert len(listed) == query.limit, (name, len(listed))
        result["engine"][name] = _time(lambda q=query: engine.tasks.queue(clerk, q), calls)
    client = create_app(engine, settings=settings).test_client()
    token = client.post("/api/auth/login", json={"username": "bench_clerk", "password": "bench-password"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}

    def listing() -> None:
        reply = client.get("/api/tasks?status=open&limit=100", headers=headers)
        assert reply.status_code == 200 and len(reply.get_json()) == 100, reply.status_code
    result["api"]["open_by_due"] = _time(listing, calls)
    return result


def measure_baseline(workflows: int, calls: int) -> dict:
    """``workflows`` bare SpiffWorkflow instances waiting on Task_review, listed by scanning."""
    from SpiffWorkflow.util.task import TaskState

    from baseline import Baseline

    unknown = common.resident_ids(workflows, age=84)  # unknown to the registry: manual review
    bare = Baseline([])
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    held = []
    for i, id_number in enumerate(unknown):
        held.append((bare.run(common.subsidy_form(id_number)), now + timedelta(days=i % 20)))
    built = time.perf_counter() - started

    def listing() -> list:
        ready = [(due, task) for workflow, due in held
                 for task in workflow.get_tasks(state=TaskState.READY, manual=True)
                 if task.task_spec.lane == "civil_affairs"]
        ready.sort(key=lambda pair: pair[0])
        return ready[:100]
    assert len(listing()) == 100
    return {"workflows_in_memory": workflows, "build_seconds": round(built, 1),
            "open_by_due": _time(listing, max(5, calls // 10))}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--applications", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=200_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--baseline-workflows", type=int, default=5000)


def scenario(args: argparse.Namespace) -> None:
    settings = common.settings_for(args.backend, SCHEMA)
    try:
        result = {"backend": args.backend, **measure(settings, args.applications, args.tasks, args.calls)}
    finally:
        if args.backend == "postgres":
            common.drop_schema(SCHEMA)
    result["baseline"] = measure_baseline(args.baseline_workflows, args.calls)
    common.save(f"queue_{args.backend}", result)
    print(f"{args.backend}: engine open_by_due p99 {result['engine']['open_by_due']['p99']} ms, "
          f"api p99 {result['api']['open_by_due']['p99']} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    scenario(parser.parse_args())


if __name__ == "__main__":
    main()
