"""A restart never deploys the shipped files over an analyst's version.

Before: ``onewindow serve`` (and ``onewindow deploy processes/catalogue.yaml``) deployed the
shipped files as a new version over the analyst's newer one at every start.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from engine.definitions.catalogue import CatalogueState, deploy_catalogue, read_catalogue, upload_for
from engine.config import Settings
from engine.store.db import upgrade
from engine.definitions.versions import current_definition, deploy

RENTAL = next(e for e in read_catalogue() if e["code"] == "rental_filing")


def _onewindow_deploy(url: str) -> str:
    """``onewindow deploy processes/catalogue.yaml`` as a restart runs it."""
    finished = subprocess.run([str(Path(sys.executable).parent / "onewindow"), "deploy", "processes/catalogue.yaml"],
                              env={**os.environ, "ONEWINDOW_DATABASE_URL": url}, capture_output=True, text=True,
                              timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert finished.returncode == 0, finished.stderr[-2000:]
    return finished.stdout


def test_a_restart_keeps_the_analysts_version_live(tmp_path):
    from onewindow.wiring import build_services

    url = f"sqlite:///{tmp_path / 'restart.db'}"
    upgrade(url)
    services = build_services(Settings(database_url=url, redis_url=None))
    assert "rental_filing v1 deployed" in _onewindow_deploy(url)
    assert "rental_filing v1 unchanged" in _onewindow_deploy(url)  # nothing changed: nothing new

    files = upload_for(RENTAL)
    analysts = replace(files, bpmn=files.bpmn.replace('name="备案登记"', 'name="备案登记（新）"'))
    with services.sessions() as session:
        mine, created = deploy(session, analysts, "analyst_wang", set(services.sources))
        session.commit()
    assert created and mine.version == 2

    restarted = _onewindow_deploy(url)
    assert "rental_filing v2 kept: an analyst deployed after the shipped files" in restarted
    assert "by analyst_wang" in restarted
    with services.sessions() as session:
        live = current_definition(session, "rental_filing")
        assert (live.version, live.deployed_by, live.shipped) == (2, "analyst_wang", False)
        again = deploy_catalogue(session, set(services.sources), "system", only="rental_filing")
        assert [(d.version, state) for d, state in again] == [(2, CatalogueState.ANALYSTS_KEPT)]
