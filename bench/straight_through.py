"""How many straight-through elderly-subsidy applications per second one process handles.

Each iteration is the full persisted path — form validation, a new workflow, facts from
the registries, rules, serialization, audit events, commit — called as ``Engine.submit``
(no HTTP). ``measure`` is what ``bench/run.py engine`` calls; this file also runs alone:

    python bench/straight_through.py                      # SQLite (embedded), temp file
    python bench/straight_through.py --backend postgres   # scratch schema in db `bench`, Redis db 13
"""
from __future__ import annotations

import argparse
import json
import time

import common  # noqa: F401 - puts the repo root on sys.path
from engine.config import Settings
from engine.store.models import Task, User
from onewindow.wiring import build_services

WARM_UP = 20
SCHEMA = "bench_engine"


def _engine_for(settings: Settings, residents: list[str]):
    """The engine, the outlet staff member the residents authorised (common.SUBMITTER), a clerk."""
    common.prepare_database(settings.database_url)
    engine = build_services(settings)
    with engine.sessions() as session:
        common.register_residents(session, residents)
        applicant = session.query(User).filter_by(username=common.SUBMITTER).one()
        clerk = session.query(User).filter_by(username="clerk_civil").one()
        session.commit()
    return engine, applicant, clerk


def measure(settings: Settings, count: int) -> dict:
    """Submit ``count`` instant approvals (after a warm-up) and time them."""
    people = common.resident_ids(count + WARM_UP)
    engine, applicant, _ = _engine_for(settings, people)
    forms = [common.subsidy_form(i) for i in people]
    for data in forms[:WARM_UP]:  # warm caches (compiled rule set, form schema, connection pool)
        engine.applications.submit(applicant, "elderly_subsidy", data)
    timings = []
    started = time.perf_counter()
    for data in forms[WARM_UP:]:
        t0 = time.perf_counter()
        application, _ = engine.applications.submit(applicant, "elderly_subsidy", data)
        timings.append((time.perf_counter() - t0) * 1000)
        assert application.outcome == "approve", application.decision
    elapsed = time.perf_counter() - started
    return {"backend": settings.database_url.split(":")[0], "applications": count,
            "seconds": round(elapsed, 3), "per_second": round(count / elapsed, 1),
            "ms_per_application": round(1000 * elapsed / count, 3), "latency_ms": common.percentiles(timings)}


def measure_mixed(settings: Settings, count: int, manual_share: float = 0.3) -> dict:
    """``count`` applications, ``manual_share`` of them residents the death register does
    not answer for (common.UnverifiableElders): those wait for a civil-affairs clerk, who
    completes each at once (Engine.complete)."""
    from baseline import interleave

    manual = int(count * manual_share)
    instant = common.resident_ids(count - manual + WARM_UP)
    unverifiable = common.resident_ids(manual, age=common.MANUAL_AGE)
    engine, applicant, clerk = _engine_for(settings, instant + unverifiable)
    common.with_unverifiable_elders(engine)
    order = [(False, i) for i in instant[:WARM_UP]] + interleave(instant[WARM_UP:], unverifiable)
    review = {"outcome": "approve", "amount": 100, "comment": "bench"}

    def one(is_manual: bool, id_number: str) -> None:
        application, _ = engine.applications.submit(applicant, "elderly_subsidy", common.subsidy_form(id_number))
        if is_manual:
            with engine.sessions() as session:
                task_id = session.query(Task.id).filter_by(application_id=application.id).scalar()
            application = engine.tasks.complete(clerk, task_id, review)
        assert application.outcome == "approve", (id_number, application.decision)

    for is_manual, id_number in order[:WARM_UP]:
        one(is_manual, id_number)
    started = time.perf_counter()
    for is_manual, id_number in order[WARM_UP:]:
        one(is_manual, id_number)
    elapsed = time.perf_counter() - started
    return {"backend": settings.database_url.split(":")[0], "applications": count, "manual": manual,
            "seconds": round(elapsed, 3), "per_second": round(count / elapsed, 1),
            "ms_per_application": round(1000 * elapsed / count, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="applications to submit")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    settings = common.settings_for(args.backend, SCHEMA)
    try:
        print(json.dumps(measure(settings, args.n)))
    finally:
        if args.backend == "postgres":
            common.drop_schema(SCHEMA)


if __name__ == "__main__":
    main()
