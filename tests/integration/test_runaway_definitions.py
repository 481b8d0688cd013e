"""A definition whose scripts run away (nested loops, values of gigabytes) stops within the
sandbox's budgets into an incident, while other matters' applicants are answered as usual
— in real gunicorn workers on PostgreSQL + Redis, and in the embedded default's one process.

Before: nested ``range(10000)`` loops held all 4 gunicorn workers for 30 s (other matters'
applicants waited 37 s); embedded, the runaway request ran 24 s holding SQLite's write
lock; ``'%999999999s' % name`` allocated about 1 GB.
"""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from api import create_app
from engine.people import users
from engine.definitions.catalogue import read_catalogue, upload_for, upsert_matter
from engine.demo import DEMO_PASSWORD
from engine.store.models import Incident
from tests.conftest import BACKEND
from tests.integration.gunicorn_server import InProcessApi, gunicorn
from tests.integration.test_incidents import GOOD_STEP

ELDERLY = next(e for e in read_catalogue() if e["code"] == "elderly_subsidy")
BOMBS = {
    "nested_loops": "for i in range(10000):\n    for j in range(10000):\n        x = i * j\namount = 100",
    "format_width": "amount = len(('%' + str(999999999) + 's') % applicant_name)",
    "replace_growth": "s = applicant_name * 1000\nfor i in range(10):\n    s = s.replace(applicant_name[0], s)\namount = 100",
    "doubling": "s = applicant_name\nfor i in range(64):\n    s = s + s\namount = 100",
}
GENEROUS = 10  # seconds; before the budgets the other applicant waited 37 s


@pytest.fixture(scope="module")
def server(settings, services, people, tmp_path_factory):
    if BACKEND == "postgres":
        with gunicorn(settings, tmp_path_factory.mktemp("gunicorn") / "gunicorn.log") as running:
            yield running.api
    else:
        yield InProcessApi(create_app(services))


@pytest.fixture(scope="module")
def analyst(server, services) -> str:
    name = f"runaway_analyst_{id(server)}"
    with services.sessions() as session:
        users.create_user(session, name, DEMO_PASSWORD, "analyst", None)
        session.commit()
    return server.login(name)


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_a_runaway_script_stops_into_an_incident_while_another_matter_is_answered(server, analyst, services,
                                                                                  resident, applicant_for, bomb):
    code = f"runaway_{bomb}"
    with services.sessions() as session:
        upsert_matter(session, {**ELDERLY, "code": code, "name": f"失控脚本{bomb}"})
        session.commit()
    files = upload_for(ELDERLY)
    status, deployed = server.call("POST", "/api/definitions", analyst, {
        "matter": code, "bpmn": files.bpmn.replace(GOOD_STEP, BOMBS[bomb]),
        "ruleset": files.ruleset.replace("matter: elderly_subsidy", f"matter: {code}"), "form": files.form})
    assert status in (200, 201), deployed

    # each elder applies for themselves, signed in before the clock starts; the registry fills in the name
    elders = {"applicant": resident(85), "other": resident(90)}
    tokens = {role: server.login(applicant_for(id_number)) for role, id_number in elders.items()}
    replies: dict[str, tuple[int, dict, float]] = {}
    started = threading.Event()

    def submit(role: str, matter: str) -> None:
        begun = time.monotonic()
        started.set()
        status, body = server.call("POST", "/api/applications", tokens[role], {"matter": matter, "data": {
            "id_number": elders[role], "phone": "13800138000"}})
        replies[role] = (status, body, time.monotonic() - begun)

    runaway = threading.Thread(target=submit, args=("applicant", code))
    runaway.start()
    started.wait(GENEROUS)
    submit("other", "elderly_subsidy")
    runaway.join(60)
    assert not runaway.is_alive()

    status, body, seconds = replies["other"]
    assert (status, body["outcome"]) == (201, "approve"), body
    assert seconds < GENEROUS, f"the other matter's applicant waited {seconds:.1f} s"
    status, body, seconds = replies["applicant"]
    assert status == 202 and body["status"] == "failed", body
    assert seconds < GENEROUS, f"the runaway request ran {seconds:.1f} s"
    with services.sessions() as session:
        incident = session.scalars(select(Incident).where(Incident.application_id == body["id"])).one()
    assert (incident.kind, incident.element_id) == ("budget_exceeded", "Task_grant"), incident.error
    assert "budget" in incident.error
    print(f"{bomb}: runaway {replies['applicant'][2]:.2f} s, other matter {replies['other'][2]:.2f} s")
