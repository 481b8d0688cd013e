"""The service as operators meet it, through the real processes: ``onewindow serve`` answers
on waitress (not Flask's development server), every line a process writes is one JSON
object, and each answer carries an ``X-Request-Id`` (the caller's, when sane) that its log
line carries too; ``onewindow --version``; ``ONEWINDOW_LOG_LEVEL`` is honoured and checked.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.error
import urllib.request
from importlib.metadata import version

from engine.store.db import upgrade
from tests.integration.services import free_port, redis_server
from tests.integration.test_worker_process import ONEWINDOW, SCALE, embedded_only, start, wait_for

LINE_FIELDS = {"timestamp", "level", "logger", "message"}
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def _get(base: str, path: str, headers: dict | None = None) -> tuple[int, dict, dict]:
    """(status, headers, JSON body) of a GET."""
    request = urllib.request.Request(base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, dict(reply.headers), json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def _json_lines(text: str) -> list[dict]:
    """Every line of a process's output as JSON (a line that is not fails the test, naming it)."""
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
        assert LINE_FIELDS <= set(lines[-1]), lines[-1]
    return lines


def _answering(base: str):
    def probe():
        try:
            return _get(base, "/healthz")
        except OSError:
            return None
    return probe


@embedded_only
def test_serve_answers_on_waitress_with_request_ids_in_json_logs(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"ONEWINDOW_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}", "ONEWINDOW_REDIS_URL": ""}
    server = start(tmp_path, "serve", ["serve", "--port", str(port), "--threads", "4"], env)
    try:
        wait_for(_answering(base), 60, "serve to answer", server)
        status, headers, problem = _get(base, "/api/matters/no_such_matter", {"X-Request-Id": "trace-4711"})
        assert (status, headers["Server"], headers["X-Request-Id"]) == (404, "waitress", "trace-4711")
        assert problem["request_id"] == "trace-4711"
        status, headers, matters = _get(base, "/api/matters")
        assert status == 200 and {"senior_card", "rental_filing"} <= {m["code"] for m in matters}
        generated = headers["X-Request-Id"]
        assert GENERATED_ID.fullmatch(generated)
        status, headers, _ = _get(base, "/api/matters", {"X-Request-Id": "a b<script>"})
        replaced = headers["X-Request-Id"]
        assert status == 200 and GENERATED_ID.fullmatch(replaced)
    finally:
        assert server.stop() is not None
    lines = _json_lines(server.output())
    answered = {line["request_id"]: line for line in lines if line["logger"] == "onewindow.request"}
    assert {key: answered["trace-4711"][key] for key in ("method", "path", "status")} == \
        {"method": "GET", "path": "/api/matters/no_such_matter", "status": 404}
    assert answered[generated]["status"] == answered[replaced]["status"] == 200
    assert all(isinstance(line["duration_ms"], float) for line in answered.values())
    assert any(line["logger"] == "waitress" and "Serving on" in line["message"] for line in lines)
    assert not any(line["logger"].startswith("spiff") for line in lines), "task data is personal data"


@embedded_only
def test_the_worker_and_its_cron_process_write_json_lines(tmp_path):
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    upgrade(url)
    with redis_server() as redis:
        worker = start(tmp_path, "worker", ["worker"], {"ONEWINDOW_DATABASE_URL": url,
                                                        "ONEWINDOW_REDIS_URL": redis.url, **SCALE})
        try:
            wait_for(lambda: "periodic jobs:" in worker.output() and "Job OK" in worker.output(), 60,
                     "the cron process to start and the worker to run a periodic job", worker)
        finally:
            worker.stop()
    lines = _json_lines(worker.output())
    assert any(line["logger"] == "rq.cron" and line["message"].startswith("periodic jobs:") for line in lines)
    assert any(line["logger"] == "rq.worker" for line in lines)


def _onewindow(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([ONEWINDOW, *args], env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=120)


def test_version_comes_from_the_package_metadata():
    done = _onewindow("--version")
    assert (done.returncode, done.stdout.strip()) == (0, f"onewindow, version {version('onewindow')}")


def test_the_log_level_is_a_setting(tmp_path):
    url = f"sqlite:///{tmp_path / 'levels.db'}"
    informed = _onewindow("db", "upgrade", env={"ONEWINDOW_DATABASE_URL": url})
    assert informed.returncode == 0, informed.stderr
    assert any(line["logger"].startswith("alembic") and line["level"] == "INFO"
               for line in _json_lines(informed.stderr))
    assert informed.stdout.startswith("schema up to date"), "what a command reports stays plain, on stdout"
    quiet = _onewindow("db", "upgrade", env={"ONEWINDOW_DATABASE_URL": url, "ONEWINDOW_LOG_LEVEL": "warning"})
    assert (quiet.returncode, quiet.stderr) == (0, "")
    refused = _onewindow("db", "upgrade", env={"ONEWINDOW_DATABASE_URL": url, "ONEWINDOW_LOG_LEVEL": "chatty"})
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "Error: ONEWINDOW_LOG_LEVEL='chatty': one of DEBUG, INFO, WARNING, ERROR, CRITICAL"]
