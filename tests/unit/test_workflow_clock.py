"""SpiffWorkflow's timers judged by the engine's clock (engine/definitions/bpmn.py workflow_clock)."""
from __future__ import annotations

from datetime import datetime, timezone

from SpiffWorkflow.bpmn.specs.event_definitions import timer

from engine.running.workflow import workflow_clock


def test_spiffworkflow_timers_read_the_engine_clock_inside_a_run_and_the_real_clock_outside():
    fixed = datetime(2026, 10, 16, 1, 30, tzinfo=timezone.utc)
    with workflow_clock(lambda: fixed):
        assert timer.datetime.now(timezone.utc) == fixed
        start = timer.TimerEventDefinition.parse_iso_recurring_interval("R2/2026-10-01T00:00:00+00:00/PT1H")[1]
        assert isinstance(start, datetime)  # cycle timers still recognise a start moment
    assert abs((timer.datetime.now(timezone.utc) - datetime.now(timezone.utc)).total_seconds()) < 5
