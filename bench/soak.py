"""Soak (scenario 4): many applications through one worker while its memory is sampled.

The population registry is configured ``deferred`` (ONEWINDOW_SOURCES), so every
application is stored pending at submission and decided by the worker: each one runs the
worker's whole job — load the stored workflow, read the sources, evaluate the rules with
durable-rules, run SpiffWorkflow to the end, store, commit. A leak in any of them shows as
RSS growth.

- postgres: a real ``onewindow worker`` process (RQ SimpleWorker on Redis db 13); this
  process submits (never more than ``--backlog`` ahead) and samples the worker's RSS.
- sqlite: the embedded default — the in-process work thread of this very process decides
  the applications, so the RSS sampled is this process's (submissions included).
- baseline: bare SpiffWorkflow + the same durable-rules evaluation in a fresh process, RSS
  sampled the same way (its in-memory benefit register is emptied at each sample, as ours
  lives in the database, so only the engine's own memory is measured).

The target compares RSS at the 50,000th and the 200,000th application; a smaller run
compares the same fractions (25% and 100%). The full size is one flag:

    python bench/run.py soak --backend postgres --applications 200000
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import threading
import time

import psutil
from sqlalchemy import func, select

import common
import servers
from engine.store.models import Application, User
from onewindow.wiring import build_services

SCHEMA = "bench_soak"
DEFERRED = {"population_registry": {"deferred": True}}


def _checkpoints(total: int, samples: int) -> list[int]:
    step = max(1, total // samples)
    return list(range(step, total + 1, step)) if total % step == 0 else [*range(step, total, step), total]


class Sampler(threading.Thread):
    """Every ``every`` seconds: decided count and RSS; records the first sample past each checkpoint."""

    def __init__(self, decided, rss, checkpoints: list[int], every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.decided, self.rss, self.every = decided, rss, every
        self.pending = list(checkpoints)
        self.curve: list[dict] = []
        self.started = time.perf_counter()
        self.stop_event = threading.Event()

    def run(self) -> None:
        while self.pending and not self.stop_event.is_set():
            done = self.decided()
            if self.pending and done >= self.pending[0]:
                point = {"decided": done, "rss_mb": round(self.rss() / 2**20, 1),
                         "seconds": round(time.perf_counter() - self.started, 1)}
                print(f"soak: {done:,} decided after {point['seconds']:,} s, RSS {point['rss_mb']} MB",
                      file=sys.stderr, flush=True)  # a long run says how far it is
            while self.pending and done >= self.pending[0]:
                self.curve.append({"applications": self.pending.pop(0), **point})
            self.stop_event.wait(self.every)


def _growth(curve: list[dict], total: int) -> dict:
    """RSS growth from the point at 25% of the run (the 50,000th of 200,000) to the end."""
    quarter = next(point for point in curve if point["applications"] >= total // 4)
    last = curve[-1]
    return {"from_applications": quarter["applications"], "from_rss_mb": quarter["rss_mb"],
            "to_applications": last["applications"], "to_rss_mb": last["rss_mb"],
            "growth_percent": round(100 * (last["rss_mb"] - quarter["rss_mb"]) / quarter["rss_mb"], 1)}


def run_ours(backend: str, total: int, samples: int, backlog: int) -> dict:
    settings = common.settings_for(backend, SCHEMA, source_options=DEFERRED)
    if not settings.embedded:
        common.flush_redis()
    common.prepare_database(settings.database_url)
    ids = common.resident_ids(total)
    engine = build_services(settings)
    with engine.sessions() as session:
        common.register_residents(session, ids)
        applicant = session.query(User).filter_by(username=common.SUBMITTER).one()  # authorised by them all
        session.commit()

    def decided() -> int:
        with engine.sessions() as session:
            return session.scalar(select(func.count()).select_from(Application)
                                  .where(Application.status == "completed"))

    starters = [] if settings.embedded else [lambda: servers.start_worker(settings, "soak-worker")]
    with servers.running(*starters) as started:
        if settings.embedded:
            me = psutil.Process(os.getpid())
            rss, who = (lambda: me.memory_info().rss), "this process (embedded: submissions + work thread)"
        else:
            worker = psutil.Process(started[0].pid)
            rss, who = (lambda: worker.memory_info().rss), "the onewindow worker process (RQ SimpleWorker)"
        sampler = Sampler(decided, rss, _checkpoints(total, samples))
        sampler.start()
        began = time.perf_counter()
        done = 0
        for index, id_number in enumerate(ids):
            application, _ = engine.applications.submit(applicant, common.MATTER, common.subsidy_form(id_number))
            assert application.pending_since is not None, "the registry is deferred: work goes to the worker"
            if index % 50 == 0:
                done = decided()
                while index - done > backlog:  # never run far ahead of the worker
                    time.sleep(0.2)
                    done = decided()
        if not common.wait_until(lambda: decided() >= total, timeout=max(600, total / 5), every=0.5):
            raise RuntimeError(f"worker stopped at {decided()} of {total}")
        elapsed = time.perf_counter() - began
        sampler.join(timeout=10)
        sampler.stop_event.set()
    with engine.sessions() as session:
        approved = session.scalar(select(func.count()).select_from(Application)
                                  .where(Application.outcome == "approve"))
    if backend == "postgres":
        common.drop_schema(SCHEMA)
    return {"sampled": who, "applications": total, "approved": approved, "seconds": round(elapsed, 1),
            "per_second": round(total / elapsed, 1), "curve": sampler.curve, "growth": _growth(sampler.curve, total)}


def _baseline_child(total: int, samples: int, out) -> None:
    from baseline import Baseline

    ids = common.resident_ids(total)
    bare = Baseline(ids)
    me = psutil.Process()
    checkpoints = _checkpoints(total, samples)
    curve, began = [], time.perf_counter()
    for index, id_number in enumerate(ids, start=1):
        workflow = bare.run(common.subsidy_form(id_number))
        assert workflow.data["outcome"] == "approve"
        if checkpoints and index == checkpoints[0]:
            checkpoints.pop(0)
            bare.registries.subsidy.clear()
            curve.append({"applications": index, "rss_mb": round(me.memory_info().rss / 2**20, 1),
                          "seconds": round(time.perf_counter() - began, 1)})
    out.put({"applications": total, "seconds": round(time.perf_counter() - began, 1), "curve": curve})


def run_baseline(total: int, samples: int) -> dict:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    child = context.Process(target=_baseline_child, args=(total, samples, out))
    child.start()
    result = out.get()
    child.join()
    result["per_second"] = round(total / result["seconds"], 1)
    result["growth"] = _growth(result["curve"], total)
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--applications", type=int, default=20_000, help="200000 for the full soak")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--samples", type=int, default=40, help="RSS samples over the run")
    parser.add_argument("--backlog", type=int, default=300, help="most applications submitted ahead of the worker")


def scenario(args: argparse.Namespace) -> None:
    bare = run_baseline(args.applications, args.samples)
    ours = run_ours(args.backend, args.applications, args.samples, args.backlog)
    result = {"backend": args.backend, **ours, "baseline": bare,
              "ours_over_baseline": round(bare["per_second"] / ours["per_second"], 1)}
    common.save(f"soak_{args.backend}", result)
    print(f"{args.backend}: {ours['per_second']}/s, RSS {ours['growth']['from_rss_mb']} -> "
          f"{ours['growth']['to_rss_mb']} MB ({ours['growth']['growth_percent']}%)", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    scenario(parser.parse_args())
