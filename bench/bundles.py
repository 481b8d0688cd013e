"""Bundles (一件事) and the cart (政务超市) under load; ``bench/run.py bundle`` and
``bench/run.py cart`` call these.

- ``bundle``: 企业开办 submitted over HTTP at an offered rate (open loop; latency counts
  from when each request was due), PostgreSQL behind gunicorn with a real ``onewindow
  worker``, or the embedded default. Each submission checks the one form against all five
  members' forms and subjects, starts the bundle and its first member (设立登记).
- ``cart``: one cart order of N matters (N clones of a manual matter, each its own
  catalogue entry), in process: the time of every bundle step — the submission, each
  worker advance that starts the next slice of members, and each advance that settles a
  member a clerk answered — and the size of the bundle's stored state after each.
"""
from __future__ import annotations

import dataclasses
import time

import aiohttp

import common
import http_load
from engine.people import identity, users
from engine.store.models import Application, Task, User

BUNDLE = "business_startup"
BUNDLE_MATTERS = ["company_registration", "seal_engraving", "invoice_application", "social_insurance_registration",
                  "housing_fund_registration", BUNDLE]
CLONED = "social_insurance_registration"  # manual: each member waits for a clerk, so each settles in its own step
CART = "cart"
ADULT_AGE = 35


def deploy(database_url: str, codes: list[str]) -> None:
    """Deploy the shipped ``codes`` (members before their bundle) besides what common.prepare_database did."""
    from engine.definitions.catalogue import deploy_catalogue
    from engine.sources.embedded import EMBEDDED_QUERIES
    from engine.store.db import make_engine, make_session_factory

    database = make_engine(database_url)
    with make_session_factory(database)() as session:
        for code in codes:
            deploy_catalogue(session, set(EMBEDDED_QUERIES), "bench", only=code)
        session.commit()
    database.dispose()


def startup_form(id_number: str) -> dict:
    return {"id_number": id_number, "phone": "13800138000", "company_name": "海口椰风科技有限公司",
            "company_type": "llc", "registered_capital": 100, "business_scope": "软件开发",
            "business_address": "海口市龙华区滨海大道1号", "seal_count": 3, "invoice_kind": "ordinary",
            "monthly_quantity": 50, "has_employees": "yes", "employee_count": 12, "contribution_rate": 12}


async def open_loop_bundles(base: str, token: str, ids: list[str], rate: float, seconds: float) -> dict:
    async with aiohttp.ClientSession(connector=http_load._connector(), timeout=http_load.TIMEOUT) as http:
        async def send(i: int) -> tuple[str, int]:
            async with http.post(f"{base}/api/bundles/{BUNDLE}/applications", json={"data": startup_form(ids[i])},
                                 headers=http_load._auth(token)) as reply:
                await reply.read()
                return "bundle", reply.status
        tallies, run = await http_load.open_loop(rate, seconds, send)
    bundles = tallies.get("bundle", http_load.Tally())
    return {**run, "accepted_202": bundles.statuses[202], **bundles.summary(),
            "errors": tallies.get("error", http_load.Tally()).summary()}


class _Held:
    """A work queue that only remembers: the cart scenario advances the bundle itself, one
    timed step at a time (the embedded thread or an RQ worker would race it)."""

    def __init__(self) -> None:
        self.sent: list[int] = []

    def enqueue_advance(self, application_id: int) -> None:
        self.sent.append(application_id)


def clone_entries(count: int) -> list[dict]:
    from engine.definitions.catalogue import read_catalogue
    entry = next(e for e in read_catalogue() if e["code"] == CLONED)
    return [{**entry, "code": f"stress_{k:03d}", "name": f"压力测试事项{k:03d}",
             "national_code": f"000000000000-9{k:03d}-0001"} for k in range(count)]


def cart_stress(settings, members: int) -> dict:
    from engine.definitions.catalogue import upload_for, upsert_matter
    from engine.definitions.versions import deploy as deploy_version
    from engine.sources.embedded import EMBEDDED_QUERIES
    from onewindow.wiring import build_services

    common.prepare_database(settings.database_url)
    deploy(settings.database_url, [CART])
    services = build_services(settings)
    held = _Held()
    services = dataclasses.replace(services, queue=held)
    person = common.resident_ids(1, age=ADULT_AGE)
    entries = clone_entries(members)
    with services.sessions() as session:
        common.register_residents(session, person)
        applicant = users.create_user(session, "bench_cart_applicant", "bench-password", "applicant")
        identity.verify_account(session, applicant, "bench", person[0], actor="bench")  # applies for themself
        t0 = time.perf_counter()
        for entry in entries:
            upsert_matter(session, entry)
            deploy_version(session, upload_for(entry), "bench", set(EMBEDDED_QUERIES))
        session.commit()
        deploy_seconds = time.perf_counter() - t0
        clerk = session.query(User).filter_by(username="clerk_social").one()
    data = {"id_number": person[0], "phone": "13800138000", "company_name": "海口椰风科技有限公司",
            "licence_no": "琼市监登字〔2026〕第000001号", "employee_count": 12}
    steps: list[dict] = []

    def state_size(bundle_id: int) -> int:
        with services.sessions() as session:
            return len(session.get(Application, bundle_id).workflow.encode("utf-8"))

    codes = [e["code"] for e in entries]
    t0 = time.perf_counter()  # the portal asks for the merged form first (this compiles each form once)
    form = services.bundles.merged_form(codes, applicant)
    merged_form_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    bundle, _ = services.bundles.order(applicant, codes, data)
    steps.append({"step": "submit", "ms": (time.perf_counter() - t0) * 1000, "state_bytes": state_size(bundle.id)})
    while True:  # the worker starts the rest, a slice per advance
        with services.sessions() as session:
            pending = session.get(Application, bundle.id).pending_since is not None
        if not pending:
            break
        t0 = time.perf_counter()
        assert services.work.advance(bundle.id)
        steps.append({"step": "start members", "ms": (time.perf_counter() - t0) * 1000,
                      "state_bytes": state_size(bundle.id)})
    with services.sessions() as session:
        tasks = [t.id for t in session.query(Task).join(Application, Application.id == Task.application_id)
                 .filter(Application.bundle_id == bundle.id).order_by(Task.id)]
    assert len(tasks) == members, (len(tasks), members)
    completions = []
    for task_id in tasks:  # each member answered by a clerk, then the bundle settles it
        t0 = time.perf_counter()
        services.tasks.complete(clerk, task_id, {"outcome": "approve", "comment": "bench"})
        completions.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        services.work.advance(bundle.id)
        steps.append({"step": "settle member", "ms": (time.perf_counter() - t0) * 1000,
                      "state_bytes": state_size(bundle.id)})
    with services.sessions() as session:
        final = session.get(Application, bundle.id)
        outcome, status = final.outcome, final.status
    by_kind: dict[str, list[float]] = {}
    for step in steps:
        by_kind.setdefault(step["step"], []).append(step["ms"])
    return {"members": members, "deploy_seconds": round(deploy_seconds, 1), "outcome": outcome, "status": status,
            "merged_form": {"ms": round(merged_form_ms, 1), "fields": len(form["components"])},
            "steps": {kind: common.percentiles(ms) for kind, ms in by_kind.items()},
            "max_step_ms": round(max(s["ms"] for s in steps), 2),
            "state_bytes": {"max": max(s["state_bytes"] for s in steps), "final": steps[-1]["state_bytes"]},
            "member_completion_ms": common.percentiles(completions)}
