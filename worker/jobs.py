"""The RQ job functions. Each builds (once per process) the engine from the environment."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from engine import periodic
from engine.applications import Engine
from engine.config import load_settings


@lru_cache(maxsize=1)
def engine() -> Engine:
    from worker.setup import build_engine  # imported late: the job module must stay light for RQ

    return build_engine(load_settings())


def advance_application(application_id: int) -> bool:
    """Run an application's pending work (a slow source, a fired timer)."""
    return engine().advance(application_id)


def run_periodic(name: str) -> Any:
    """One periodic job of engine/periodic.py's table (what the cron process enqueues),
    its run recorded in ``periodic_job_run``."""
    return periodic.run_recorded(periodic.job_named(name), engine())


# Run once by hand (``onewindow reconcile``, ``onewindow proactive``): not recorded as the
# periodic job's run, so a manual run never makes a stopped cron look healthy.

def reconcile() -> list[int]:
    """Re-send every application whose pending work is older than the threshold."""
    return periodic.reconcile(engine())


def start_proactive_benefits() -> list[dict]:
    """免申即享: apply for the residents the rules find eligible who have not applied."""
    return periodic.proactive_benefits(engine())
