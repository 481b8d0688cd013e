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
from engine.models import RegistryPerson
from forms.identifiers import make_resident_id
from worker.setup import build_engine


WARM_UP = 20


def register_residents(session, count: int) -> list[str]:
    """Fresh 85-year-old locals: an approved person enters the benefit register, so each
    straight-through approval needs someone who has not received the subsidy yet."""
    region = f"46{time.time_ns() % 10_000:04d}"  # a fresh block of IDs for every run
    born = date(date.today().year - 85, 2, 1)
    ids = [make_resident_id(region, born.replace(day=1 + i // 999 % 28), f"{i % 999:03d}") for i in range(count)]
    session.add_all(RegistryPerson(id_number=i, name="bench", household_region="460100", household_local=True)
                    for i in ids)
    return ids


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
        seed(session, date.today())
        applicant = users.create_user(session, f"bench_{time.time_ns()}", "x", "applicant")
        people = register_residents(session, args.n + WARM_UP)
        session.commit()
    forms = [{"applicant_name": "测试", "id_number": id_number, "phone": "13800138000"} for id_number in people]
    for data in forms[:WARM_UP]:  # warm caches (compiled rule set, form schema, connection pool)
        engine.submit(applicant, "elderly_subsidy", data)
    started = time.perf_counter()
    for data in forms[WARM_UP:]:
        application, _ = engine.submit(applicant, "elderly_subsidy", data)
        assert application.outcome == "approve", application.decision
    elapsed = time.perf_counter() - started
    backend = settings.database_url.split(":")[0]
    print(json.dumps({"backend": backend, "applications": args.n, "seconds": round(elapsed, 3),
                      "per_second": round(args.n / elapsed, 1)}))


if __name__ == "__main__":
    main()
