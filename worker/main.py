"""``onewindow worker``: a real RQ worker with RQ's scheduler, plus a cron process that
enqueues the periodic jobs of engine/oversight/periodic.py (BPMN timers, 电子监察 deadlines, the
reconciler, 免申即享).

The worker never runs without its cron: if the cron process cannot start or stops, the
worker stops too and ``run_worker`` raises ``CronStopped`` (the CLI prints its one line
and exits 1), so a process supervisor restarts both instead of a worker running on with
no timers firing.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from multiprocessing.connection import Connection

from redis import Redis
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler

from engine.config import load_settings
from engine.logs import configure_logging
from engine.oversight.periodic import STALE_AFTER_INTERVALS, PeriodicJob, periodic_jobs
from worker.jobs import run_periodic
from worker.queues import QUEUE_NAME

STOP_GRACE = 1.0  # seconds to see whether the worker is being stopped along with its cron
RESULT_TTL = 60  # a periodic job's result is in periodic_job_run; RQ keeps it a minute
FAILURE_TTL = 86400  # a failed run stays in RQ's failed registry a day (a failing 5 s job adds up)


class CronStopped(RuntimeError):
    """The cron process could not start or stopped: the worker stopped with it."""


def build_cron(connection: Redis, jobs: Iterable[PeriodicJob]) -> CronScheduler:
    """RQ's CronScheduler with every periodic job registered: the function itself (RQ 3.0
    reads ``func.__module__``; a dotted name kills the cron at start), its job name as
    the argument and as the cron job's name."""
    cron = CronScheduler(connection=connection)
    for job in jobs:
        cron.register(run_periodic, QUEUE_NAME, args=(job.name,), interval=job.interval,
                      job_timeout=job.timeout, result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL, name=job.name)
    return cron


def live_crons(connection: Redis, jobs: Iterable[PeriodicJob]) -> list[tuple[str, datetime, list[str]]]:
    """The cron processes alive on this Redis: name, start, the jobs they registered. A cron
    beats after every round of enqueues (at least every shortest interval); one not seen
    for three of them is dead (RQ itself keeps a SIGKILLed one listed for 120 s)."""
    window = timedelta(seconds=STALE_AFTER_INTERVALS * min(job.interval for job in jobs))
    now = datetime.now(timezone.utc)
    return [(cron.name, cron.created_at, [job.name for job in cron.get_jobs()])
            for cron in CronScheduler.all(connection)
            if cron.last_heartbeat is not None and now - cron.last_heartbeat <= window]


def _run_cron(redis_url: str, report: Connection, parent: int) -> None:
    """The cron process (spawned). Any failure is sent to the worker as one line."""
    try:
        configure_logging(load_settings().log_level)  # a spawned process starts with no logging set up
        jobs = periodic_jobs()
        cron = build_cron(Redis.from_url(redis_url), jobs)
        cron.log.info("periodic jobs: %s", ", ".join(f"{job.name} every {job.interval}s" for job in jobs))
        threading.Thread(target=_stop_with_parent, args=(parent,), name="onewindow-cron-parent",
                         daemon=True).start()
        cron.start()  # returns on SIGTERM / SIGINT
    except BaseException as exc:  # noqa: BLE001 — reported, then the process exits 1
        with contextlib.suppress(OSError):  # the worker may be gone already
            report.send(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}")
        sys.exit(1)


def _stop_with_parent(parent: int) -> None:
    """A worker killed with SIGKILL takes no daemon child down: stop once it is gone (this
    process is then handed to another parent). Not the parent's sentinel pipe: RQ's
    scheduler process, forked later, holds its other end open."""
    while os.getppid() == parent:
        time.sleep(1)
    signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)


class _Worker(SimpleWorker):
    """SimpleWorker that remembers being asked to stop (to tell a cron stopped along
    with the worker from a cron that died on its own)."""

    stopping = False

    def request_stop(self, signum, frame):
        self.stopping = True
        super().request_stop(signum, frame)


def run_worker(redis_url: str, burst: bool = False, with_cron: bool = True) -> None:
    """SimpleWorker runs jobs in this process: measured 5x the forking Worker's throughput,
    and a job here is one short database transaction."""
    redis = Redis.from_url(redis_url)
    worker = _Worker([Queue(QUEUE_NAME, connection=redis)], connection=redis)
    cron, failure = None, []
    if with_cron and not burst:
        def stop_while_starting(signum, frame):  # until RQ installs its own handlers in work()
            raise CronStopped(failure[0]) if failure else SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, stop_while_starting)
        context = multiprocessing.get_context("spawn")
        receive, send = context.Pipe(duplex=False)
        cron = context.Process(target=_run_cron, args=(redis_url, send, os.getpid()), name="onewindow-cron", daemon=True)
        cron.start()
        send.close()
        threading.Thread(target=_watch, args=(cron, receive, worker, failure), name="onewindow-cron-watch",
                         daemon=True).start()
    try:
        worker.work(with_scheduler=True, burst=burst)
    finally:
        if cron is not None and cron.is_alive():
            cron.terminate()
            cron.join(10)
    if failure:
        raise CronStopped(failure[0])


def _watch(cron: multiprocessing.process.BaseProcess, receive: Connection, worker: _Worker,
           failure: list[str]) -> None:
    """Stop the worker (warm: a running job finishes) when the cron process ends."""
    cron.join()
    deadline = time.monotonic() + STOP_GRACE  # the SIGTERM that stopped it may be stopping us too
    while not worker.stopping and time.monotonic() < deadline:
        time.sleep(0.05)
    if worker.stopping:
        return
    try:
        reason = receive.recv() if receive.poll() else f"exit code {cron.exitcode}"
    except EOFError:  # it ended without a word (killed, or stopped by a signal)
        reason = f"exit code {cron.exitcode}"
    failure.append(f"the cron process stopped ({reason}): periodic jobs (BPMN timers, deadlines, "
                   "reconciler, 免申即享) cannot run, so the worker stopped too")
    if not worker.stopping:
        signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)
