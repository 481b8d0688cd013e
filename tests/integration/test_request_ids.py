"""Request ids in the app as gunicorn runs it (create_app): every line logged while a request
is answered carries its id, no line after it does, and every answer — problems included,
even one answered before the view (a refused body) — echoes it."""
from __future__ import annotations

import json
import logging

import pytest

from api import create_app

INSIDE = logging.getLogger("tests.inside_a_request")


@pytest.fixture(scope="module")
def app(settings, services):
    app = create_app(services, settings)

    @app.get("/test/logs-inside")
    def logs_inside():
        INSIDE.warning("written by a view")
        return {}

    return app


def _lines(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines()]


def test_a_line_written_inside_a_request_carries_its_id(app, capsys):
    capsys.readouterr()
    reply = app.test_client().get("/test/logs-inside", headers={"X-Request-Id": "4bf92f3577b34da6"})
    INSIDE.warning("written after it")
    assert reply.headers["X-Request-Id"] == "4bf92f3577b34da6"
    lines = {line["message"]: line for line in _lines(capsys.readouterr().err)}
    assert lines["written by a view"]["request_id"] == "4bf92f3577b34da6"
    assert lines["written by a view"]["level"] == "WARNING"
    assert lines["GET /test/logs-inside 200"]["request_id"] == "4bf92f3577b34da6"
    assert "request_id" not in lines["written after it"]


@pytest.mark.parametrize("sent", ["", "-starts-with-a-dash", "x" * 129, "has space", "逗号"])
def test_an_id_that_is_not_sane_is_replaced(app, sent):
    reply = app.test_client().get("/healthz", headers={"X-Request-Id": sent.encode().decode("latin-1")})
    assert reply.headers["X-Request-Id"] != sent
    assert len(reply.headers["X-Request-Id"]) == 32


def test_a_problem_names_the_request_id_even_when_refused_before_the_view(app):
    client = app.test_client()
    unsigned = client.get("/api/applications", headers={"X-Request-Id": "trace-1"})
    assert unsigned.status_code == 401
    assert unsigned.headers["X-Request-Id"] == unsigned.get_json()["request_id"] == "trace-1"
    nul = client.post("/api/auth/login", json={"username": "a\u0000b", "password": "x"},
                      headers={"X-Request-Id": "trace-2"})
    assert nul.status_code == 422
    assert nul.headers["X-Request-Id"] == nul.get_json()["request_id"] == "trace-2"
