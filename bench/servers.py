"""Starting and stopping what the HTTP and soak benchmarks run against: the API (gunicorn
on PostgreSQL + Redis, or the embedded server on SQLite) and real ``onewindow worker``s.

Every process is started in a session of its own and stopped by that id (SIGTERM, then
SIGKILL), so nothing is left running and nothing else on the machine is touched.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psutil
import requests

import common
from engine.config import Settings

BENCH_DIR = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
LOG_DIR = Path(tempfile.gettempdir()) / "onewindow-bench-logs"


class Started:
    """A process we started, with its log file; ``tree_cpu``/``tree_rss`` include children."""

    def __init__(self, name: str, popen: subprocess.Popen, log: Path) -> None:
        self.name, self.popen, self.log = name, popen, log

    @property
    def pid(self) -> int:
        return self.popen.pid

    def processes(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def tree_cpu(self) -> float:
        """User + system CPU seconds of the process and its children so far."""
        return sum(_cpu(process) for process in self.processes())

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.pid, signal.SIGTERM)
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        except ProcessLookupError:
            pass


SERVICES = {"postgresql": "postgres", "redis": "redis-server"}  # part -> process name


def cpu_by_part(started: list[Started]) -> dict[str, float]:
    """CPU seconds so far of everything that serves the load, part by part: what we started
    (the API, the worker), PostgreSQL and Redis (every process of that name: a dedicated
    benchmark machine has no other), and this process, the load generator. On 2 shared
    cores the sum per approval, not the API's share alone, bounds the throughput."""
    parts = {process.name: process.tree_cpu() for process in started}
    for part, process_name in SERVICES.items():
        parts[part] = sum(_cpu(p) for p in psutil.process_iter(["name"]) if p.info["name"] == process_name)
    parts["load generator"] = _cpu(psutil.Process())
    return parts


def cpu_per_approval(before: dict[str, float], after: dict[str, float], approvals: int) -> dict:
    """Milliseconds of CPU per approval by part, their total, and the throughput that total
    allows if every core did nothing else."""
    parts = {part: round(1000 * (after[part] - before[part]) / approvals, 2) for part in after}
    total = round(sum(parts.values()), 2)
    return {"parts_ms": parts, "total_ms": total, "cores": os.cpu_count(),
            "ceiling_per_second": round(1000 * os.cpu_count() / total, 1)}


def _cpu(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system


def _spawn(name: str, command: list[str], env: dict) -> Started:
    LOG_DIR.mkdir(exist_ok=True)
    log = LOG_DIR / f"{name}-{int(time.time())}.log"
    handle = log.open("wb")
    popen = subprocess.Popen(command, env=env, cwd=common.ROOT, stdout=handle, stderr=subprocess.STDOUT,
                             start_new_session=True)
    return Started(name, popen, log)


def start_api(settings: Settings, port: int, gunicorn_workers: int) -> Started:
    """gunicorn when Redis is configured, else the embedded threaded server; waits for /healthz."""
    env = common.env_for(settings)
    if settings.embedded:
        started = _spawn("api-embedded", [sys.executable, str(BENCH_DIR / "wsgi.py"), "--port", str(port)], env)
    else:
        env.update(BENCH_BIND=f"127.0.0.1:{port}", BENCH_GUNICORN_WORKERS=str(gunicorn_workers))
        started = _spawn("api-gunicorn", [str(VENV_BIN / "gunicorn"), "-c", str(BENCH_DIR / "gunicorn.conf.py")], env)
    return _when_healthy(started, port, timeout=90)


def start_serve(settings: Settings, port: int, name: str = "serve") -> Started:
    """The real ``onewindow serve`` (pages included) on ``settings``' database; waits for /healthz."""
    return _when_healthy(_spawn(name, [str(VENV_BIN / "onewindow"), "serve", "--port", str(port)],
                                common.env_for(settings)), port)


def _when_healthy(started: Started, port: int, timeout: float = 180) -> Started:
    """``started`` once it answers /healthz with 200; stopped and RuntimeError (naming its log)
    if it exits or does not answer in time."""
    url = f"http://127.0.0.1:{port}/healthz"

    def healthy() -> bool:
        if started.popen.poll() is not None:
            raise RuntimeError(f"{started.name} exited; see {started.log}")
        try:
            return requests.get(url, timeout=1).status_code == 200
        except requests.RequestException:
            return False
    if not common.wait_until(healthy, timeout=timeout):
        started.stop()
        raise RuntimeError(f"{started.name} did not answer on {url}; see {started.log}")
    return started


def start_worker(settings: Settings, name: str = "worker") -> Started:
    """A real ``onewindow worker`` (RQ SimpleWorker + scheduler + cron)."""
    return _spawn(name, [str(VENV_BIN / "onewindow"), "worker"], common.env_for(settings))


@contextmanager
def running(*starters) -> Iterator[list[Started]]:
    """Start each (a zero-argument callable), yield them, always stop them in reverse order."""
    started: list[Started] = []
    try:
        for start in starters:
            started.append(start())
        yield started
    finally:
        for process in reversed(started):
            process.stop()
