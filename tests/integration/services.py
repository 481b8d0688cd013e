"""Throwaway Redis and PostgreSQL servers for fault tests.

Each runs on a free loopback port, can be stopped and started again at will, and is
always removed afterwards. The machine's own services (5432, 6379) are never touched:
CI and the rest of the suite use them.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 20


def free_port() -> int:
    """A port nobody listens on now (the kernel picks it; we close it again at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def require_program(path: str | None, what: str) -> str:
    """The program's path, or skip the test: fault tests need the real server installed."""
    if not path or not os.access(path, os.X_OK):
        pytest.skip(f"{what} is not installed")
    return path


class RedisServer:
    """``redis-server`` with no persistence: a restart loses every queued job, as a crashed
    Redis without AOF does."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://{LOOPBACK}:{port}/0"
        self._program = require_program(shutil.which("redis-server"), "redis-server")
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [self._program, "--port", str(self.port), "--bind", LOOPBACK, "--save", "",
                   "--appendonly", "no", "--daemonize", "no"]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_until_ready()

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        self._process.wait(START_TIMEOUT)
        self._process = None

    def _wait_until_ready(self) -> None:
        client = Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} exited with {self._process.returncode}")
            try:
                client.ping()
                client.close()
                return
            except RedisConnectionError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def postgres_bin_dir() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian layout), or skip."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda path: int(Path(path).parent.parent.name))
    initdb = require_program(candidates[-1] if candidates else shutil.which("initdb"), "initdb")
    return Path(initdb).parent


class PostgresCluster:
    """A private PostgreSQL cluster (trust auth, socket and data in one temporary directory)
    that can be stopped and started under a running application."""

    def __init__(self, base: Path, port: int) -> None:
        self.base = base
        self.port = port
        self.data = base / "data"
        self.url = f"postgresql://postgres@{LOOPBACK}:{port}/postgres"
        self._bin = postgres_bin_dir()
        self.running = False

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses={LOOPBACK} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.base / "server.log"), "-o", options, "-w", "start")
        self.running = True

    def stop(self) -> None:
        """Fast shutdown: open transactions are rolled back, every client is disconnected."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.running = False

    def _run(self, program: str, *args: str) -> None:
        command = [str(self._bin / program), *args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        # pg_ctl's server keeps inherited pipes open, so its output goes to the log, not to us
        subprocess.run(command, check=True, timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    base = Path(tempfile.mkdtemp(prefix="onewindow-pg-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(base, "postgres", "postgres")
        cluster = PostgresCluster(base, free_port())
        cluster.init()
        cluster.start()
        try:
            yield cluster
        finally:
            if cluster.running:
                cluster.stop()
    finally:
        shutil.rmtree(base)
