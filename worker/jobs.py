"""The RQ job functions. Each builds (once per process) the engine from the environment."""
from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

from engine.applications import Engine
from engine.config import load_settings


@lru_cache(maxsize=1)
def engine() -> Engine:
    from worker.setup import build_engine  # imported late: the job module must stay light for RQ

    return build_engine(load_settings())


def advance_application(application_id: int) -> bool:
    """Run an application's pending work (a slow source, a fired timer)."""
    return engine().advance(application_id)


def reconcile() -> list[int]:
    """Re-send every application whose pending work is older than the threshold."""
    settings = load_settings()
    return engine().reconcile(timedelta(seconds=settings.reconcile_after_seconds))


def fire_timers() -> list[int]:
    """Advance every application whose next BPMN timer is due."""
    return engine().fire_timers()


def sweep_deadlines() -> list[dict]:
    """电子监察: turn applications yellow or red as their promised time is used."""
    from engine.supervision import Supervision

    built = engine()
    return Supervision(built.sessions, built.clock, built.calendar).sweep()


def start_proactive_benefits() -> list[dict]:
    """免申即享: apply for the residents the rules find eligible who have not applied."""
    from engine.proactive import scan_all

    return [{"matter": r.matter, "started": r.started, "not_eligible": r.not_eligible}
            for r in scan_all(engine())]
