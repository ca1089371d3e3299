"""Targets judged from a result, the tables, the JSON file, the profile summary."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.console import Console

from ioc.tooling.bench.profiling import summarize
from ioc.tooling.bench.report import errors, show, verdicts, write

pytestmark = pytest.mark.unit


def _spread(p99: float) -> dict[str, Any]:
    return {"count": 10, "p50_s": p99 / 2, "p95_s": p99, "p99_s": p99, "max_s": p99}


def result() -> dict[str, Any]:
    return {
        "mode": "quick",
        "dataset": {"events": 1000, "entities": 100_000},
        "baseline": {"records": 1000, "seconds": 0.01, "events_per_s": 100_000.0,
                     "peak_rss_mb": {"base-consumer": 50.0}, "cpu_s": {}},
        "saturation": [
            {"workers": 1, "events": 1000, "seconds": 0.02, "events_per_s": 60_000.0,
             "peak_rss_mb": {"sat-1w-sink": 90.0, "sat-1w-worker-0": 350.0}, "cpu_s": {}},
            {"workers": 2, "events": 1000, "seconds": 0.04, "events_per_s": 25_000.0,
             "peak_rss_mb": {"sat-2w-worker-0": 300.0, "sat-2w-worker-1": 450.0}, "cpu_s": {}},
            {"error": "TimeoutError: no end of processing"},
        ],
        "latency": [
            {"workers": 1, "rate": 2000.0, "raw": _spread(1.5), "kpi_from_close": _spread(2.5),
             "kpi_from_window_end": _spread(12.5), "peak_rss_mb": {}, "cpu_s": {}},
        ],
        "peer": {"ours": {"events": 10, "seconds": 1.0, "events_per_s": 10.0,
                          "peak_rss_mb": 1.0, "cpu_s": 1.0},
                 "quix": {"events": 10, "seconds": 0.5, "events_per_s": 20.0,
                          "peak_rss_mb": 1.0, "cpu_s": 1.0},
                 "ratio": 0.5},
    }  # fmt: skip


def test_verdicts_follow_the_issue_targets() -> None:
    found = {v.name: v for v in verdicts(result())}
    assert found["pipeline / baseline (1 worker)"].met is True  # 0.6 ≥ 0.5
    assert found["pipeline / baseline (1 worker)"].value == pytest.approx(0.6)
    assert found["pipeline / baseline (2 worker)"].met is False  # 0.25
    assert found["traffic job / Quix Streams"].met is False
    assert found["raw p99 s (1 worker)"].met is True
    assert found["KPI p99 s after close (1 worker)"].met is False
    assert found["worker peak RSS MB (1 worker, 100000 entities)"].met is True
    assert found["worker peak RSS MB (2 worker, 100000 entities)"].value == 450.0


def test_a_missing_phase_is_unknown_not_failed() -> None:
    partial = result()
    del partial["peer"]
    found = {v.name: v for v in verdicts(partial)}
    assert found["traffic job / Quix Streams"].met is None


def test_failed_phases_are_listed_and_the_rest_printed() -> None:
    assert errors(result()) == ["saturation: TimeoutError: no end of processing"]
    console = Console(record=True, width=200)
    show(result(), console)
    text = console.export_text()
    assert "pipeline, 1 worker(s)" in text
    assert "failed saturation" in text


def test_json_is_written_twice_sorted(tmp_path: Path) -> None:
    path = write(result(), tmp_path, datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    assert path.name == "bench-20261126T120000Z-quick.json"
    assert orjson.loads(path.read_bytes()) == orjson.loads((tmp_path / "latest.json").read_bytes())


def test_profile_summary_counts_self_and_inclusive_time() -> None:
    lines = [
        "main (a.py:1);handle (streams/runtime/partition.py:10);process (streams/engine.py:5) 6",
        "main (a.py:1);handle (streams/runtime/partition.py:12);send (streams/runtime/sender.py:7) 3",
        "main (a.py:2) 1",
        "garbage line",
    ]
    samples, hottest = summarize(lines)
    assert samples == 10
    by_name = {h.function: h for h in hottest}
    assert by_name["process (streams/engine.py)"].self_share == 0.6
    assert by_name["process (streams/engine.py)"].inclusive_share == 0.6
    assert by_name["main (a.py)"].self_share == 0.1
    assert by_name["main (a.py)"].inclusive_share == 1.0
    assert hottest[0].function == "process (streams/engine.py)"


def _step(**extra: Any) -> dict[str, Any]:
    return {
        "group_stable_s": 3.4, "recovered_s": 15.5, "processing_s": 17.2,
        "replayed": {"rec-worker-0": {"records": 32_622, "bytes": 11_404_798, "seconds": 8.7}},
        "state": {"partitions_loaded": 12, "state_records_loaded": 71_731, "offsets_match": True},
        **extra,
    }  # fmt: skip


def test_the_scaling_table_is_printed() -> None:
    full = result()
    full["scaling"] = [
        {"workers": 1, "events_per_s": 2_000.0, "events_per_worker_cpu_s": 3_000.0,
         "speedup": 1.0, "cpu_efficiency": 1.0},
        {"workers": 3, "events_per_s": 2_600.0, "events_per_worker_cpu_s": 2_700.0,
         "speedup": 1.3, "cpu_efficiency": 0.9},
    ]  # fmt: skip
    console = Console(record=True, width=250)
    show(full, console)
    text = console.export_text()
    assert "Scaling at saturation" in text
    assert "1.30" in text


def test_the_recovery_table_is_printed() -> None:
    full = result()
    full["recovery"] = {
        "dataset": {"entities": 100_495, "copies": 310},
        "store": "memory://",
        "wall_s": 280.0,
        "fill": {"events": 149_100, "seconds": 80.0, "events_per_s": 1_863.0},
        "changelog": {"records": 1_100_000, "bytes": 390_000_000, "bytes_per_entity": 3_880.0},
        "join": _step(startup_s=3.0, old_member_told_s=5.9),
        "leave": _step(),
        "restart": _step(
            joined_s=29.7,
            ready_s=43.9,
            peak_rss_mb=2_900.0,
            cpu_s=150.0,
            local_state_deleted={"files": 0, "bytes": 0},
            state={"partitions_loaded": 12, "offsets_match": False},
        ),
        "peak_rss_mb": {"rec-worker-0": 3_000.0},
        "cpu_s": {"rec-worker-0": 100.0},
    }
    console = Console(record=True, width=250)
    show(full, console)
    text = console.export_text()
    assert "100,495 entities (×310)" in text
    assert "start → faust Ready (state rebuilt)" in text
    assert "MISMATCH" in text
    assert "rec-worker-0" in text  # the memory table lists the phase's processes


def test_a_failed_recovery_is_listed() -> None:
    failed = result()
    failed["recovery"] = {"error": "TimeoutError: recovery: no ready worker"}
    assert "recovery: TimeoutError: recovery: no ready worker" in errors(failed)
