"""How many straight-through elderly-subsidy applications per second one process handles.

A simple measured loop (the proper harness is the benchmark issue): each iteration is
the full persisted path — form validation, a new workflow, facts from the registries,
rules, serialization, audit events, commit. Run:

    python bench/straight_through.py                                  # SQLite (embedded)
    ONEWINDOW_DATABASE_URL=postgresql://postgres@127.0.0.1/test \\
    ONEWINDOW_REDIS_URL=redis://127.0.0.1:6379/14 python bench/straight_through.py
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date

from engine import users
from engine.catalogue import deploy_catalogue
from engine.config import Settings, load_settings
from engine.db import upgrade
from engine.demo import seed
from worker.setup import build_engine


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=1000, help="applications to submit")
    args = parser.parse_args()
    settings = load_settings()
    if settings.embedded:
        settings = Settings(database_url=f"sqlite:///{tempfile.mkdtemp()}/bench.db", redis_url=None)
    upgrade(settings.database_url)
    engine = build_engine(settings)
    with engine.sessions() as session:
        deploy_catalogue(session, set(engine.sources), "bench")
        people = seed(session, date.today())
        applicant = users.create_user(session, f"bench_{time.time_ns()}", "x", "applicant")
        session.commit()
    data = {"applicant_name": "测试", "id_number": people["local_85"], "phone": "13800138000"}
    for _ in range(20):  # warm caches (compiled rule set, form schema, connection pool)
        engine.submit(applicant, "elderly_subsidy", data)
    started = time.perf_counter()
    for _ in range(args.n):
        application, _ = engine.submit(applicant, "elderly_subsidy", data)
        assert application.outcome == "approve"
    elapsed = time.perf_counter() - started
    backend = settings.database_url.split(":")[0]
    print(json.dumps({"backend": backend, "applications": args.n, "seconds": round(elapsed, 3),
                      "per_second": round(args.n / elapsed, 1)}))


if __name__ == "__main__":
    main()
