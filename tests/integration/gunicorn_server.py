"""The API as production serves it: real gunicorn worker processes on PostgreSQL and Redis,
spoken to over HTTP with the standard library only.

The server runs in a session of its own and is stopped by that id (SIGTERM, then SIGKILL),
so nothing is left running and nothing else on the machine is touched.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from engine.config import Settings
from engine.demo import DEMO_PASSWORD
from tests.integration.services import LOOPBACK, free_port, require_program

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60
GENEROUS_LIMIT = "100000 per minute"  # the tests are about races, not about rate limits


class HttpApi:
    """JSON over HTTP to one address; every call opens its own connection (thread-safe)."""

    def __init__(self, host: str, port: int, timeout: float = 60) -> None:
        self.host, self.port, self.timeout = host, port, timeout

    def connection(self) -> http.client.HTTPConnection:
        """A connection already open, so a caller can send its request at a chosen moment."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        connection.connect()
        return connection

    def call(self, method: str, path: str, token: str | None = None, body: dict | None = None,
             connection: http.client.HTTPConnection | None = None) -> tuple[int, dict]:
        """(status, JSON body) of one request."""
        connection = connection or self.connection()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            payload = None if body is None else json.dumps(body, ensure_ascii=False).encode()
            connection.request(method, path, body=payload, headers=headers)
            reply = connection.getresponse()
            text = reply.read()
            return reply.status, json.loads(text) if text else {}
        finally:
            connection.close()

    def login(self, username: str, password: str = DEMO_PASSWORD) -> str:
        status, body = self.call("POST", "/api/auth/login", body={"username": username, "password": password})
        assert status == 200, (status, body)
        return body["token"]


class InProcessApi:
    """The Flask app in this process, called from many threads (a test client per request)."""

    def __init__(self, app) -> None:
        self.app = app

    def connection(self):
        return self.app.test_client()

    def call(self, method: str, path: str, token: str | None = None, body: dict | None = None,
             connection=None) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        reply = (connection or self.connection()).open(path, method=method, json=body, headers=headers)
        return reply.status_code, reply.get_json() or {}

    def login(self, username: str, password: str = DEMO_PASSWORD) -> str:
        status, body = self.call("POST", "/api/auth/login", body={"username": username, "password": password})
        assert status == 200, (status, body)
        return body["token"]


class GunicornServer:
    def __init__(self, process: subprocess.Popen, port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log
        self.api = HttpApi(LOOPBACK, port)

    def log_tail(self, characters: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-characters:] if self.log.exists() else ""

    def wait_until_answering(self) -> None:
        """Any HTTP answer from /healthz will do: it says 503 while periodic jobs are stale,
        which is true of a test database no worker's cron has run on."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                self.api.call("GET", "/healthz")
                return
            except (OSError, http.client.HTTPException):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not answer within {START_TIMEOUT} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM to the master, which stops its workers (killing them after the graceful
        timeout: a worker's interpreter takes seconds to finalise on a busy machine); the
        whole session is killed if the master itself hangs."""
        if self.process.poll() is not None:
            return
        try:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass


@contextmanager
def gunicorn(settings: Settings, log: Path, workers: int = 4) -> Iterator[GunicornServer]:
    """``gunicorn -w <workers> 'onewindow.wiring:web_app()'`` on a free loopback port, on the database
    and Redis of ``settings``; always stopped afterwards.

    ``--preload`` builds the app once, before the workers fork (``create_app`` opens no
    connection, so each worker still has its own database and Redis connections): all of
    them serve from the first request on, where importing the app in each of four workers
    took 17 s on a busy 2-core machine, and requests released before every worker had
    loaded it would have met fewer than four.
    ``--no-control-socket``: gunicorn 27's control socket has one default path for every
    server of the user; parallel servers must not fight over it.
    """
    program = require_program(str(Path(sys.executable).parent / "gunicorn"), "gunicorn")
    port = free_port()
    env = {**os.environ, "ONEWINDOW_DATABASE_URL": settings.database_url,
           "ONEWINDOW_REDIS_URL": settings.redis_url or "",
           "ONEWINDOW_SUBMIT_LIMIT": GENEROUS_LIMIT, "ONEWINDOW_LOGIN_LIMIT": GENEROUS_LIMIT}
    command = [program, "-w", str(workers), "-b", f"{LOOPBACK}:{port}", "--preload", "--no-control-socket",
               "--graceful-timeout", "2", "--log-level", "warning", "onewindow.wiring:web_app()"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = GunicornServer(process, port, log)
    try:
        server.wait_until_answering()
        yield server
    finally:
        server.stop()
