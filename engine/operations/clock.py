"""``clock.pause`` and ``clock.resume``: a process stops and restarts the legal deadline's
clock itself (补正: waiting for the applicant's materials does not count against the
department). Parameters of ``clock.pause``: ``reason`` (engine/oversight/deadlines.py
``PAUSE_REASONS``, default ``supplement``) and ``note``. Asking for the state the clock is
already in (a clerk paused it by hand) changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.oversight.deadlines import PAUSE_REASONS, is_paused, pause_clock, resume_clock
from engine.operations.base import EffectTarget, Operation, OperationContext, Result

DEFAULT_REASON = "supplement"


@dataclass(frozen=True)
class Pause:
    reason: str
    note: str

    def apply(self, target: EffectTarget) -> None:
        application = target.application
        if not is_paused(application.clock_pauses):
            pause_clock(target.session, target.calendar, application, target.now, self.reason, self.note,
                        target.actor)


@dataclass(frozen=True)
class Resume:
    def apply(self, target: EffectTarget) -> None:
        if is_paused(target.application.clock_pauses):
            resume_clock(target.session, target.calendar, target.application, target.now, target.actor)


def _pause(context: OperationContext, params: dict, data: dict) -> Result:
    reason = params.get("reason", DEFAULT_REASON)
    return Result(None, (Pause(reason if reason in PAUSE_REASONS else DEFAULT_REASON, str(params.get("note", ""))),))


def _resume(context: OperationContext, params: dict, data: dict) -> Result:
    return Result(None, (Resume(),))


PAUSE = Operation("clock.pause", _pause, "stop the legal deadline's clock (补正)")
RESUME = Operation("clock.resume", _resume, "restart the legal deadline's clock")
