"""The clerk's queue page (/clerk/queue) with 10,000 open tasks in one department, in
headless Chromium (target: the first page drawn in ≤ 1 s).

PostgreSQL (a scratch schema of the database ``bench``) holds ``--tasks`` waiting
elderly-subsidy applications, each with an open review task of 民政局 (civil_affairs, 海口)
and a person of the population registry it is for, inserted set-wise by SQL (the read is
measured, not the write); deadlines are spread over overdue (red, first by due date), near-due and green. A real
``onewindow serve`` serves the page and the API; Playwright drives Debian's chromium. Each
run is a fresh browser context holding the demo clerk's token (cold: nothing cached), then
the same page reloaded (warm). Measured per load: the page's own signal — navigation start
to the first page's rows drawn (``body[data-rendered-ms]``, set in the frame after the rows
are laid out) — and the wall clock here from ``page.goto`` to that signal. The API call the
page makes (GET /api/tasks?limit=50) is timed alone too.

    python bench/run.py clerk-queue --tasks 10000 --runs 20
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from datetime import UTC, datetime

import common
import requests
import servers
from sqlalchemy import text

PORT = 5081
SCHEMA = "bench_clerk_queue"
CLERK = "clerk_civil"  # civil_affairs, 460100
PAGE_SIZE = 50  # the page's default

_PEOPLE = """
    INSERT INTO src_person (id_number, name, household_region, household_local)
    SELECT '46010019' || lpad(g::text, 10, '0'), '待办申请人' || g, '460100', true
    FROM generate_series(1, :n) AS g"""
_APPLICATIONS = """
    INSERT INTO application (tracking_no, public_ref, matter_code, definition_id, applicant_id, subject_kind,
        subject_id, region, status, form_data, workflow, due_at, yellow_at, colour, clock_pauses, created_at,
        updated_at, version)
    SELECT 'CQ' || g, 'cq-' || g, 'elderly_subsidy', :definition, :applicant, 'person',
           '46010019' || lpad(g::text, 10, '0'), '460100', 'waiting', '{}', '{}',
           :now + ((g % 20) - 3) * interval '1 day', :now + ((g % 20) - 5) * interval '1 day', 'green', '[]',
           :now - g * interval '1 minute', :now, 1
    FROM generate_series(1, :n) AS g"""
_TASKS = """
    INSERT INTO task (application_id, spiff_task_id, element_id, title, candidate_role, department, region,
        status, due_at, created_at, version)
    SELECT id, 'spiff-' || id, 'Task_review', '人工审核（民政）', 'clerk', 'civil_affairs', '460100', 'open',
           due_at, created_at, 1
    FROM application WHERE tracking_no LIKE 'CQ%'"""


def fill(database_url: str, tasks: int) -> float:
    from engine.store.db import make_engine
    database = make_engine(database_url)
    started = time.perf_counter()
    with database.begin() as connection:
        definition = connection.execute(text(
            "SELECT id FROM service_definition WHERE matter_code = 'elderly_subsidy' ORDER BY version DESC LIMIT 1")).scalar()
        applicant = connection.execute(text("SELECT id FROM app_user WHERE username = 'alice'")).scalar()
        connection.execute(text(_PEOPLE), {"n": tasks})
        connection.execute(text(_APPLICATIONS), {"definition": definition, "applicant": applicant, "n": tasks,
                                                 "now": datetime.now(UTC)})
        connection.execute(text(_TASKS))
    with database.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        open_tasks = connection.execute(text(
            "SELECT count(*) FROM task WHERE department = 'civil_affairs' AND status = 'open'")).scalar()
    database.dispose()
    if open_tasks < tasks:
        raise RuntimeError(f"only {open_tasks} open tasks were inserted")
    return round(time.perf_counter() - started, 1)


def scenario(args) -> None:
    from playwright.sync_api import sync_playwright

    settings = common.settings_for("postgres", SCHEMA)
    try:
        common.prepare_database(settings.database_url)
        filled = fill(settings.database_url, args.tasks)
        serve = servers.start_serve(settings, PORT)
        base = f"http://127.0.0.1:{PORT}"
        try:
            signed_in = requests.post(f"{base}/api/auth/login", json={"username": CLERK, "password": "demo-password"},
                                      timeout=10).json()  # once: logins are rate-limited
            api_ms = _time_api(base, signed_in["token"], args.runs)
            runs = []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium")
                _one_run(browser, base, signed_in)  # the server's first answers (compiling, caches) not counted
                for _ in range(args.runs):
                    runs.append(_one_run(browser, base, signed_in))
                browser.close()
        finally:
            serve.stop()
    finally:
        common.drop_schema(SCHEMA)
    result = {"backend": "postgres", "server": "onewindow serve", "open_tasks_in_department": args.tasks,
              "page_size": PAGE_SIZE, "fill_seconds": filled, "runs": args.runs, "api_tasks_page_ms": api_ms,
              "each": runs}
    for cache in ("cold", "warm"):
        result[cache] = {measure: common.percentiles(run[cache][measure] for run in runs)
                         for measure in ("rendered_ms", "goto_to_rendered_ms")}
    path = common.save("clerk_queue", result)
    for cache in ("cold", "warm"):
        figures = result[cache]["rendered_ms"]
        print(f"/clerk/queue with {args.tasks} open tasks, {cache}: first page drawn p50 {figures['p50']} ms, "
              f"p95 {figures['p95']} ms (API alone p50 {api_ms['p50']} ms)", file=sys.stderr)
    print(f"-> {path}", file=sys.stderr)


def _time_api(base: str, token: str, calls: int) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    timings = []
    for _ in range(calls + 1):
        started = time.perf_counter()
        reply = requests.get(f"{base}/api/tasks?limit={PAGE_SIZE}", headers=headers, timeout=30)
        timings.append((time.perf_counter() - started) * 1000)
        if reply.status_code != 200 or len(reply.json()) != PAGE_SIZE:
            raise RuntimeError(f"GET /api/tasks answered {reply.status_code}: {reply.text[:200]}")
    return common.percentiles(timings[1:])


def _one_run(browser, base: str, signed_in: dict) -> dict:
    context = browser.new_context(base_url=base, viewport={"width": 1400, "height": 900})
    context.add_init_script(f"sessionStorage.setItem('onewindow.token', {json.dumps(signed_in['token'])});"
                            f"sessionStorage.setItem('onewindow.user', {json.dumps(json.dumps(signed_in['user']))});")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    cold = _load(page)
    warm = _load(page)
    context.close()
    if errors:
        raise RuntimeError(f"console errors: {errors}")
    return {"cold": cold, "warm": warm}


def _load(page) -> dict:
    started = time.perf_counter()
    page.goto("/clerk/queue")
    page.wait_for_selector("body[data-rendered-ms]")
    drawn = time.perf_counter()
    rows = int(page.get_attribute("body", "data-rows"))
    colours = set(page.locator("#queue tbody .deadline-badge").evaluate_all("els => els.map(e => e.dataset.colour)"))
    if rows != PAGE_SIZE or not colours or not colours <= {"green", "yellow", "red"}:
        raise RuntimeError(f"the first page drew {rows} rows in {colours}")
    return {"rendered_ms": int(page.get_attribute("body", "data-rendered-ms")),
            "goto_to_rendered_ms": round((drawn - started) * 1000, 1)}
