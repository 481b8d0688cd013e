"""The benchmark's baseline and persisted floor still run the shipped elderly-subsidy
process to an approval: if the BPMN or the rule set changes under them, the harness must
fail here, not silently measure something else (bench/RESULTS.md's ratios divide by them)."""
from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import baseline  # noqa: E402
import common  # noqa: E402


def test_the_bare_baseline_approves_each_registered_resident():
    result = baseline.straight_through(common.resident_ids(25), warm_up=5)  # asserts approve for each
    assert result["applications"] == 20 and result["ms_per_application"] > 0


def test_the_persisted_floor_stores_every_approval_durably(tmp_path):
    path = tmp_path / "floor.db"
    result = baseline.persisted_floor(common.resident_ids(25), f"sqlite:///{path}", warm_up=5)
    assert result["applications"] == 20
    with sqlite3.connect(path) as stored:
        rows = stored.execute("SELECT decision FROM floor_application").fetchall()
    assert len(rows) == 25 and all('"outcome": "approve"' in decision for (decision,) in rows)


def test_the_mixed_order_spreads_the_unknown_residents_evenly():
    order = baseline.interleave([f"r{i}" for i in range(7)], [f"u{i}" for i in range(3)])
    assert [unknown for unknown, _ in order].count(True) == 3
    assert [person for _, person in order if person.startswith("r")] == [f"r{i}" for i in range(7)]
    assert all(not (a and b) for (a, _), (b, _) in zip(order, order[1:]))  # never two unknowns in a row
