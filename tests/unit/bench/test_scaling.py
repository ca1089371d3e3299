"""Saturation figures against one worker."""

from __future__ import annotations

import pytest

from ioc.tooling.bench.scaling import scaling

pytestmark = pytest.mark.unit


def test_scaling_against_one_worker_skips_failed_runs() -> None:
    runs = [
        {"workers": 2, "events_per_s": 3_000.0, "events_per_worker_cpu_s": 2_400.0},
        {"error": "TimeoutError"},
        {"workers": 1, "events_per_s": 2_000.0, "events_per_worker_cpu_s": 3_000.0},
        {"workers": 3, "events_per_s": None, "events_per_worker_cpu_s": None},
    ]
    table = scaling(runs)
    assert [r["workers"] for r in table] == [1, 2, 3]
    assert table[0]["speedup"] == 1.0
    assert table[1]["speedup"] == 1.5
    assert table[1]["cpu_efficiency"] == 0.8
    assert table[2]["speedup"] is None
    assert scaling([runs[0]])[0]["speedup"] is None  # no 1-worker run to compare with
