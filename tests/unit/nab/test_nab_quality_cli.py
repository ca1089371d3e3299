"""``ioc quality --nab`` on a small NAB-shaped folder: the backtest's detections, NAB's score.

The figures must be what NAB's rules make of ``ioc backtest``'s own output on the same
files; the subset picks folders, files or bare names; simulator options are refused.
"""

from __future__ import annotations

import csv
import json
import math
import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ioc.cli import app
from ioc.tooling.nab_scoring import PROFILES, Cost, assess, normalised, window_rows

pytestmark = pytest.mark.unit

START = datetime(2026, 11, 2)  # noqa: DTZ001 (naive, as NAB writes them: read in the display zone)
SPIKE = START + timedelta(days=4, hours=14)
FMT = "%Y-%m-%d %H:%M:%S"
COSTS = {
    "standard": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11, "tnWeight": 1.0},
    "reward_low_FP_rate": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.22, "tnWeight": 1.0},
    "reward_low_FN_rate": {"tpWeight": 1.0, "fnWeight": 2.0, "fpWeight": 0.11, "tnWeight": 1.0},
}


def _series(seed: int, spike: bool) -> list[tuple[str, str]]:
    rnd = random.Random(seed)
    rows = []
    for i in range(5 * 144):  # five days of 10-minute points (the likelihood learns for two)
        t = START + timedelta(minutes=10 * i)
        hour = t.hour + t.minute / 60
        value = 100 + 50 * math.exp(-(((hour - 8) / 1.5) ** 2)) + rnd.gauss(0, 4)
        if spike and SPIKE <= t < SPIKE + timedelta(hours=1):
            value += 120
        rows.append((t.strftime(FMT), f"{value:.3f}"))
    return rows


@pytest.fixture(scope="module")
def nab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nab")
    files = {
        "synth/spike.csv": _series(1, spike=True),
        "synth/quiet.csv": _series(2, spike=False),
        "other/late.csv": _series(3, spike=True),
    }
    for name, rows in files.items():
        path = root / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerows([("timestamp", "value"), *rows])
    edge = (SPIKE - timedelta(hours=1)).strftime(FMT), (SPIKE + timedelta(hours=1)).strftime(FMT)
    labels = {
        "synth/spike.csv": [[f"{edge[0]}.000000", f"{edge[1]}.000000"]],
        "synth/quiet.csv": [],
        # A window the spike comes after: missed, and the spike's opening a false positive.
        "other/late.csv": [
            [START.replace(day=3).strftime(FMT), (START.replace(day=3, hour=2)).strftime(FMT)]
        ],
    }
    (root / "labels").mkdir()
    (root / "labels" / "combined_windows.json").write_text(json.dumps(labels))
    (root / "config").mkdir()
    (root / "config" / "profiles.json").write_text(
        json.dumps({p: {"CostMatrix": c} for p, c in COSTS.items()})
    )
    return root


def quality(tmp_path: Path, nab: Path, *extra: str) -> dict:
    out = tmp_path / "q.json"
    result = CliRunner().invoke(
        app, ["quality", "--nab", str(nab), "--output", str(out), "--workers", "1", *extra]
    )
    assert result.exit_code == 0, result.output
    assert "NAB score" in result.output
    return json.loads(out.read_text())


def backtest_flags(tmp_path: Path, source: Path, *extra: str) -> tuple[list[datetime], list[bool]]:
    target = tmp_path / "bt.csv"
    result = CliRunner().invoke(
        app, ["backtest", "--input", str(source), "--output", str(target), *extra]
    )
    assert result.exit_code == 0, result.output
    with target.open() as handle:
        rows = list(csv.DictReader(handle))
    return [datetime.fromisoformat(r["timestamp"]) for r in rows], [
        r["is_anomaly"] == "1" for r in rows
    ]


def test_scores_are_nab_rules_on_what_backtest_writes(tmp_path: Path, nab: Path) -> None:
    # The synthetic series were built for the seasonal detector (five days, one spike).
    params = tmp_path / "seasonal.json"
    params.write_text(json.dumps({"default_detector": "seasonal"}))
    result = quality(tmp_path, nab, "--params", str(params))
    labels = json.loads((nab / "labels" / "combined_windows.json").read_text())
    expected = []
    for name in sorted(labels):
        stamps, flags = backtest_flags(tmp_path, nab / "data" / name, "--params", str(params))
        spans = [(datetime.fromisoformat(s), datetime.fromisoformat(e)) for s, e in labels[name]]
        expected.append(assess(name, flags, window_rows(stamps, spans)))
    assert [f["file"] for f in result["files"]] == sorted(labels)
    for got, want in zip(result["files"], expected, strict=True):
        assert (got["rows"], got["windows"], got["detected_windows"], got["false_positives"]) == (
            want.rows, want.windows, want.detected_windows, want.false_positives,
        )  # fmt: skip
    for p in PROFILES:
        want_score = normalised(expected, Cost.of(COSTS[p]))
        assert result["scores"][p] == pytest.approx(want_score, abs=1e-3)
    spike, late = result["files"][2], result["files"][0]
    assert spike["file"] == "synth/spike.csv"
    assert spike["detected_windows"] == 1  # the spike opens inside its window
    assert (late["detected_windows"], late["false_positives"]) == (0, 1)
    assert result["totals"]["rows"] == 3 * 720


def test_workers_change_nothing(tmp_path: Path, nab: Path) -> None:
    one = quality(tmp_path, nab)
    two = quality(tmp_path, nab, "--workers", "2")
    for r in (one, two):
        for f in r["files"]:
            del f["detect_s"]
        del r["wall_s"]
    assert one == two


@pytest.mark.parametrize(
    ("subset", "files"),
    [
        ("synth", ["synth/quiet.csv", "synth/spike.csv"]),  # sorted within a folder
        ("data/other/late.csv,synth/quiet.csv", ["other/late.csv", "synth/quiet.csv"]),
        ("quiet.csv", ["synth/quiet.csv"]),
    ],
)
def test_subset(tmp_path: Path, nab: Path, subset: str, files: list[str]) -> None:
    assert [f["file"] for f in quality(tmp_path, nab, "--subset", subset)["files"]] == files


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--subset", "nowhere"], "names no labelled file"),
        (["--seed", "3"], "--seed: only without --nab"),
    ],
)
def test_bad_use_is_a_clear_error(nab: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["quality", "--nab", str(nab), *args])
    assert result.exit_code != 0
    assert message in str(result.exception) + result.output


def test_nab_options_need_nab() -> None:
    result = CliRunner().invoke(app, ["quality", "--subset", "synth"])
    assert result.exit_code == 2
    assert "--subset: only with --nab" in result.output
