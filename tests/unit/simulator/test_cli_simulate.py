"""`ioc simulate` from the command line, into JSONL files (Kafka is the integration test's)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ioc.cli import app
from ioc.commands.simulate import SimulateUsageError, parse_domains, parse_duration, parse_start
from ioc.tooling.simulator.truth import read_csv
from schemas.topics import ENERGY_READINGS, TRAFFIC_OBS

pytestmark = pytest.mark.unit

RUNNER = CliRunner()


def test_fast_run_writes_one_file_per_stream_the_truth_and_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = RUNNER.invoke(
        app,
        [
            "simulate", "--seed", "7", "--start", "2026-11-02T07:00:00+07:00", "--period", "20m",
            "--fast", "--to", f"jsonl:{out}", "--domains", "traffic,energy",
            "--truth", str(tmp_path / "truth.csv"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{TRAFFIC_OBS}.jsonl", f"{ENERGY_READINGS}.jsonl"]
    )
    energy_lines = (out / f"{ENERGY_READINGS}.jsonl").read_bytes().count(b"\n")
    assert energy_lines == 200 * 19  # 200 meters, a reading a minute after the first
    assert "events written" in result.output
    assert f"{energy_lines:,}" in result.output
    rows = read_csv(tmp_path / "truth.csv")
    assert "rush_hour" in {r["kind"] for r in rows}
    assert {r["record"] for r in rows} == {"control"}, "20 minutes are too short to inject"


def test_usage_errors_are_clear(tmp_path: Path) -> None:
    base = ["simulate", "--to", f"jsonl:{tmp_path}"]
    for args, message in [
        (["--period", "1d"], "choose a mode"),
        (["--fast"], "--fast needs --period"),
        (["--period", "1d", "--fast", "--start", "2026-11-02T07:00:00"], "UTC offset"),
        (["--period", "1d", "--fast", "--domains", "weather"], "unknown"),
        (["--duration", "5s", "--rate", "10", "--start", "2999-01-01T00:00:00+00:00"], "future"),
    ]:
        result = RUNNER.invoke(app, base + args)
        assert result.exit_code != 0
        assert isinstance(result.exception, SimulateUsageError)
        assert message in str(result.exception)
    result = RUNNER.invoke(app, ["simulate", "--to", "ftp:x", "--period", "1h", "--fast"])
    assert isinstance(result.exception, SimulateUsageError)


def test_parsers() -> None:
    assert parse_duration("60s") == timedelta(seconds=60)
    assert parse_duration("21d") == timedelta(days=21)
    assert parse_duration("1.5h") == timedelta(minutes=90)
    assert parse_duration("90") == timedelta(seconds=90)
    with pytest.raises(SimulateUsageError):
        parse_duration("0s")
    with pytest.raises(SimulateUsageError):
        parse_duration("a fortnight")
    assert parse_domains("qr, dossier") == ("qr", "dossier")
    start = parse_start("2026-11-01T00:00:00+07:00", default=None)  # type: ignore[arg-type]
    assert start.utcoffset() == timedelta(hours=7)
