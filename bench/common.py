"""What every benchmark shares: where it runs (machine, commit, date), fresh residents,
scratch databases, percentiles, and one place results are written.

Who applies (subject binding, engine/people/subjects.py): every bench resident authorised the demo
service outlet on paper (授权代办), so its staff member ``SUBMITTER`` applies for all of them
from one signed-in account, as a load needs; the registry fills in their names (秒填).

The benchmarks never touch the test suite's databases: PostgreSQL work happens in scratch
schemas of the database ``bench`` and Redis work in db 13 (see ``BENCH_PG`` / ``BENCH_REDIS``).
"""
from __future__ import annotations

import atexit
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ first, not the repo root
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from engine.config import Settings  # noqa: E402
from engine.errors import SourceUnavailable  # noqa: E402
from engine.store.models import Authorisation  # noqa: E402
from engine.store.registries import RegistryPerson  # noqa: E402
from engine.sources import Source, SourceRecord  # noqa: E402
from forms.identifiers import birth_date_from_id, make_resident_id  # noqa: E402
from forms.regions import division_codes  # noqa: E402

RESULTS_DIR = ROOT / "bench" / "results"
BENCH_PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/bench")
BENCH_REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13")
MATTER = "elderly_subsidy"
SUBSIDY_AGE = 85  # 80-89: approved with 100 yuan/month
MANUAL_AGE = 84  # the mixed scenarios' manual share: see UnverifiableElders
SUBMITTER = "agent_post"  # the demo outlet's staff (engine/demo.py), authorised by every bench resident
OUTLET = "post_haikou"
# Set (to MANUAL_AGE) in the environment of an API process whose death register must not
# answer for the manual share (bench/wsgi.py): the mixed HTTP scenario.
UNVERIFIABLE_AGE_ENV = "BENCH_UNVERIFIABLE_AGE"


# --- where and when --------------------------------------------------------------------

def machine() -> dict:
    """nproc, CPU model and RAM: a figure means nothing without the machine it came from."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    import SpiffWorkflow  # noqa: F401, PLC0415 - only for its version
    from importlib.metadata import version
    return {"nproc": os.cpu_count(), "cpu": model, "ram_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "spiffworkflow": version("SpiffWorkflow"),
            "kernel": platform.release(),
            # others share these cores (the test suite of a colleague): the load says how much
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()]}


def commit() -> str:
    """The commit the numbers belong to (``+dirty`` when the work tree has changes other
    than the harness's own output, which every scenario of a run rewrites)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                            ":!bench/results", ":!bench/RESULTS.md"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return head + ("+dirty" if dirty else "")


def save(name: str, result: dict) -> Path:
    """Write ``bench/results/<name>.json`` with the machine, commit, date and command."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    document = {"scenario": name, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "commit": commit(), "machine": machine(), "command": " ".join(sys.argv), **result}
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)
    return path


# --- numbers -----------------------------------------------------------------------------

def percentiles(values_ms: Iterable[float]) -> dict:
    """p50/p95/p99/max in milliseconds (nearest-rank), plus the count they came from."""
    ordered = sorted(values_ms)
    if not ordered:
        return {"n": 0}

    def rank(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, int(round(p * len(ordered))) - 1))], 2)
    return {"n": len(ordered), "mean": round(sum(ordered) / len(ordered), 2), "p50": rank(0.50),
            "p95": rank(0.95), "p99": rank(0.99), "max": round(ordered[-1], 2)}


# --- residents -------------------------------------------------------------------------

def resident_ids(count: int, age: int = SUBSIDY_AGE) -> list[str]:
    """``count`` distinct valid resident IDs of people aged about ``age``, in a random block
    of region codes (GB/T 2260, of all China) so that no two runs (and no earlier run's
    benefit register) collide."""
    today = date.today()
    ids = []
    per_region = 12 * 28 * 999
    codes = division_codes()
    base = random.randrange(len(codes) - count // per_region - 1)
    for i in range(count):
        region, rest = divmod(i, per_region)
        day_index, seq = divmod(rest, 999)
        month, day = divmod(day_index, 28)
        born = date(today.year - age, month + 1, day + 1)
        ids.append(make_resident_id(codes[base + region], born, f"{seq + 1:03d}"))
    return ids


def register_residents(session, ids: list[str]) -> None:
    """Put local, living residents in the population registry, each with a paper
    authorisation of the demo outlet for every matter (授权代办), under which ``SUBMITTER``
    applies for them (set-wise, in batches)."""
    now = datetime.now(timezone.utc)
    for start in range(0, len(ids), 5000):
        batch = ids[start:start + 5000]
        session.execute(insert(RegistryPerson), [
            {"id_number": i, "name": "bench", "household_region": "460100", "household_local": True}
            for i in batch])
        session.execute(insert(Authorisation), [
            {"principal_id_number": i, "outlet": OUTLET, "matters": None, "valid_from": now - timedelta(days=1),
             "valid_to": now + timedelta(days=365), "given_by": "paper", "document_ref": "bench",
             "recorded_by": SUBMITTER} for i in batch])


def subsidy_form(id_number: str) -> dict:
    """The applicant's name is left out: the population registry fills it in (秒填)."""
    return {"id_number": id_number, "phone": "13800138000"}


class UnverifiableElders:
    """The death register, not answering for residents aged ``MANUAL_AGE``: their 在世 cannot
    be verified, so their applications wait for a civil-affairs clerk (转人工). A resident
    the population registry lacks can no longer be applied for (subject binding), and every
    registered one is decided at once, so this is how the mixed scenarios get their manual
    share of registered, authorised residents."""

    def __init__(self, inner: Source) -> None:
        self.inner = inner
        self.name, self.deferred = inner.name, inner.deferred
        self.born_in = date.today().year - MANUAL_AGE  # resident_ids(age=MANUAL_AGE) are all born this year

    def lookup(self, key: str) -> SourceRecord:
        if birth_date_from_id(key).year == self.born_in:
            raise SourceUnavailable(f"{self.name}: no answer for the bench's manual share")
        return self.inner.lookup(key)


def with_unverifiable_elders(services) -> None:
    """Give ``services`` (engine/services.py) the death register of UnverifiableElders."""
    services.sources["death_records"] = UnverifiableElders(services.sources["death_records"])


# --- databases -------------------------------------------------------------------------

def pg_url(schema: str) -> str:
    """A URL whose connections live in ``schema`` of the bench database."""
    return f"{BENCH_PG}?options=-csearch_path%3D{schema}"


def ensure_bench_database() -> None:
    """Create the database ``BENCH_PG`` names when the server does not have it yet."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    wanted = make_url(BENCH_PG)
    server = create_engine(wanted.set(drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        if connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                              {"name": wanted.database}).first() is None:
            connection.execute(text(f'CREATE DATABASE "{wanted.database}"'))
    server.dispose()


def reset_schema(schema: str) -> str:
    """Drop and recreate a scratch schema (in the bench database, created if missing); returns its URL."""
    from engine.store.db import make_engine
    ensure_bench_database()
    admin = make_engine(BENCH_PG)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    return pg_url(schema)


def drop_schema(schema: str) -> None:
    from engine.store.db import make_engine
    admin = make_engine(BENCH_PG)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def sqlite_url() -> str:
    """A fresh SQLite file, removed when the benchmark process exits."""
    directory = tempfile.mkdtemp(prefix="onewindow-bench-")
    atexit.register(shutil.rmtree, directory, True)
    return f"sqlite:///{directory}/bench.db"


def settings_for(backend: str, schema: str, source_options: dict | None = None) -> Settings:
    """Embedded (SQLite file, in-process queue) or PostgreSQL (scratch schema) + Redis db 13."""
    if backend == "sqlite":
        return Settings(database_url=sqlite_url(), redis_url=None, source_options=source_options or {}, demo=True)
    if backend == "postgres":  # demo: the bench signs in as the demo users (ONEWINDOW_DEMO)
        return Settings(database_url=reset_schema(schema), redis_url=BENCH_REDIS,
                        source_options=source_options or {}, demo=True)
    raise ValueError(f"backend is sqlite or postgres, not {backend!r}")


def env_for(settings: Settings) -> dict:
    """The environment that makes ``onewindow`` commands use ``settings``."""
    env = dict(os.environ, ONEWINDOW_DATABASE_URL=settings.database_url, ONEWINDOW_DEMO="1" if settings.demo_data else "0")
    env.pop("ONEWINDOW_REDIS_URL", None)
    if settings.redis_url:
        env["ONEWINDOW_REDIS_URL"] = settings.redis_url
    if settings.source_options:
        env["ONEWINDOW_SOURCES"] = json.dumps(settings.source_options)
    return env


def prepare_database(database_url: str) -> None:
    """Schema, the benchmarked matter and the demo users, as ``onewindow serve`` does embedded.

    Only ``elderly_subsidy`` is deployed: it is the one matter measured, and the rest of
    the catalogue may be mid-edit in the work tree without affecting the figures."""
    from engine.definitions.catalogue import deploy_catalogue
    from engine.store.db import make_engine, make_session_factory, upgrade
    from engine.demo import seed
    from engine.sources.embedded import EMBEDDED_QUERIES

    upgrade(database_url)
    database = make_engine(database_url)
    with make_session_factory(database)() as session:
        deploy_catalogue(session, set(EMBEDDED_QUERIES), "bench", only=MATTER)
        seed(session, date.today())
        session.commit()
    database.dispose()


def flush_redis() -> None:
    """Empty Redis db 13 (the bench's own) so no earlier run's jobs or limits remain."""
    from redis import Redis
    Redis.from_url(BENCH_REDIS).flushdb()


def wait_until(predicate, timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False
