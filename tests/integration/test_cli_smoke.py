"""Every ``onewindow`` command as an operator runs it: a real process on a SQLite file of
its own, checked by its exit code, the line it prints and what it did to the database.

``serve`` answers /healthz and a demo user's login; ``db upgrade`` reaches the newest
migration; ``demo`` loads the demo users and residents; ``deploy`` of the catalogue
deploys every matter and, run again, leaves them unchanged; ``proactive`` applies for the
demo resident who turned 80 a week ago; ``reconcile`` re-sends work left pending;
``rules replay`` reports the decision a candidate would change. Output is checked on
stdout, what a command prints; logs go to stderr in whatever format they take.
Started in the SQLite run of the suite only: the processes use files of their own.
"""
from __future__ import annotations

import csv
import io
import os
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text, update

from engine.definitions.catalogue import read_catalogue
from engine.config import REPO_ROOT
from engine.store.db import alembic_config, make_engine, make_session_factory
from engine.store.models import Application, ServiceDefinition, User, utcnow
from tests.integration.services import free_port
from tests.integration.test_worker_process import (ONEWINDOW, _http, _login, answering, embedded_only, start,
                                                   wait_for)

pytestmark = embedded_only
CATALOGUE = REPO_ROOT / "processes" / "catalogue.yaml"
ELDERLY_RULES = (REPO_ROOT / "rules" / "elderly_subsidy.yaml").read_text(encoding="utf-8")
MATTERS = [entry["code"] for entry in read_catalogue()]


@dataclass(frozen=True)
class Installation:
    """A SQLite file the commands share, and the environment that points them at it."""

    url: str
    env: dict

    def run(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([ONEWINDOW, *args], env=self.env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, f"onewindow {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
        return done

    def scalar(self, query):
        database = make_engine(self.url)
        try:
            with make_session_factory(database)() as session:
                return session.scalar(query)
        finally:
            database.dispose()


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Installation, dict[str, subprocess.CompletedProcess]]:
    """A fresh installation set up by the commands in an operator's order; each one's result."""
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'onewindow.db'}"
    site = Installation(url, {**os.environ, "ONEWINDOW_DATABASE_URL": url, "ONEWINDOW_REDIS_URL": ""})
    results = {"db upgrade": site.run("db", "upgrade"), "demo": site.run("demo"),
               "deploy": site.run("deploy", str(CATALOGUE)), "deploy again": site.run("deploy", str(CATALOGUE)),
               "proactive": site.run("proactive"), "proactive again": site.run("proactive")}
    return site, results


def test_db_upgrade_reaches_the_newest_migration(installed):
    site, results = installed
    assert "schema up to date" in results["db upgrade"].stdout
    head = ScriptDirectory.from_config(alembic_config(site.url)).get_current_head()
    assert site.scalar(text("SELECT version_num FROM alembic_version")) == head


def _demo_people(results: dict[str, subprocess.CompletedProcess]) -> dict[str, str]:
    """The named residents and companies ``onewindow demo`` prints, one "name number" a line."""
    return dict(line.split() for line in results["demo"].stdout.splitlines())


def test_demo_loads_the_demo_users_and_residents(installed):
    site, results = installed
    assert len(_demo_people(results)["turned_80"]) == 18
    assert site.scalar(select(User.role).where(User.username == "alice")) == "applicant"


def test_deploy_deploys_the_catalogue_and_a_second_run_changes_nothing(installed):
    site, results = installed
    first, again = (dict(_deploy_lines(results[run].stdout)) for run in ("deploy", "deploy again"))
    assert sorted(first) == sorted(again) == sorted(MATTERS)
    assert all(state == "v1 deployed" for state in first.values()), first
    assert all(state == "v1 unchanged" for state in again.values()), again
    assert site.scalar(select(func.count()).select_from(ServiceDefinition)) == len(MATTERS)


def _deploy_lines(stdout: str) -> list[tuple[str, str]]:
    """(matter, "vN state") of each line ``onewindow deploy`` prints."""
    return [(line.split()[0], " ".join(line.split()[1:3])) for line in stdout.splitlines()]


def _proactive_application(site: Installation, id_number: str):
    return site.scalar(select(Application).where(Application.proactive.is_(True),
                                                 Application.idempotency_key == f"proactive:elderly_subsidy:{id_number}"))


def test_proactive_applies_for_the_resident_who_turned_80_once(installed):
    site, results = installed
    assert results["proactive"].stdout.startswith("elderly_subsidy: started 1,"), results["proactive"].stdout
    assert results["proactive again"].stdout.startswith("elderly_subsidy: started 0,")
    application = _proactive_application(site, _demo_people(results)["turned_80"])
    assert (application.status, application.outcome) == ("completed", "approve")


def test_reconcile_resends_work_left_pending(installed):
    site, _ = installed
    database = make_engine(site.url)
    try:
        with make_session_factory(database)() as session:  # as if the worker holding it had died an hour ago
            lost = session.scalar(select(Application.id).where(Application.proactive.is_(True)))
            session.execute(update(Application).where(Application.id == lost)
                            .values(pending_since=utcnow() - timedelta(hours=1)))
            session.commit()
    finally:
        database.dispose()
    assert site.run("reconcile").stdout.strip() == f"re-sent 1 application(s): [{lost}]"


def test_rules_replay_reports_the_decision_a_candidate_changes(installed, tmp_path: Path):
    site, _ = installed
    # the one recorded decision: the resident who turned 80, 100 yuan a month
    recorded = site.scalar(select(func.count()).select_from(Application).where(Application.decision.is_not(None)))
    candidate = tmp_path / "elderly_subsidy.yaml"
    candidate.write_text(ELDERLY_RULES.replace("set: {amount: 100}", "set: {amount: 120}"), encoding="utf-8")
    stdout = site.run("rules", "replay", "elderly_subsidy", str(candidate)).stdout
    assert f"elderly_subsidy: {recorded} of {recorded} decision(s) would change" in stdout, stdout
    assert "approve [band_80_89] -> approve [band_80_89]" in stdout


def test_report_four_reductions_as_text_and_as_csv(installed):
    site, _ = installed
    done = site.run("report", "four-reductions", "--matter", "elderly_subsidy")
    assert done.stdout.startswith("高龄老人长寿补贴 (elderly_subsidy, matter, 1 finished): time "), done.stdout
    assert "four reductions" in done.stderr  # the progress bar
    every = site.run("report", "four-reductions", "--csv").stdout
    rows = list(csv.DictReader(io.StringIO(every.removeprefix("\ufeff"))))
    assert {row["事项编码"] for row in rows} >= {"elderly_subsidy", "business_startup", "property_transfer_bundle"}
    assert next(r for r in rows if r["事项编码"] == "business_startup")["类型（事项/一件事）"] == "一件事"


def test_serve_answers_healthz_and_a_demo_login(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"ONEWINDOW_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}", "ONEWINDOW_REDIS_URL": ""}
    server = start(tmp_path, "serve", ["serve", "--port", str(port)], env)
    try:
        status, _ = wait_for(answering(base), 60, "serve to answer", server)
        assert status == 200
        token = _login(base, "alice")
        status, mine = _http(base, "GET", "/api/applications", token)
        assert (status, mine) == (200, []), mine
    finally:
        server.stop()
    assert server.popen.poll() is not None
