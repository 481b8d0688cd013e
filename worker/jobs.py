"""The RQ job functions: the worker's entry points. Each asks the composition root for
this process's services (built once, from the environment: onewindow/wiring.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.oversight import periodic

if TYPE_CHECKING:
    from engine.services import Services


def services() -> Services:
    from onewindow.wiring import process_services  # imported late: the job module must stay light for RQ

    return process_services()


def advance_application(application_id: int) -> bool:
    """Run an application's pending work (a slow source, a fired timer)."""
    return services().work.advance(application_id)


def run_periodic(name: str) -> Any:
    """One periodic job of engine/oversight/periodic.py's table (what the cron process enqueues),
    its run recorded in ``periodic_job_run``."""
    return periodic.run_recorded(periodic.job_named(name), services())


# Run once by hand (``onewindow reconcile``, ``onewindow proactive``): not recorded as the
# periodic job's run, so a manual run never makes a stopped cron look healthy.

def reconcile() -> list[int]:
    """Re-send every application whose pending work is older than the threshold."""
    return periodic.reconcile(services())


def start_proactive_benefits() -> list[dict]:
    """免申即享: apply for the residents the rules find eligible who have not applied."""
    return periodic.proactive_benefits(services())
