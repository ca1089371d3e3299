"""``ioc backtest`` on small CSVs: with and without a time zone, irregular, by rule."""

from __future__ import annotations

import csv
import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from ioc.cli import app
from ioc.tooling.backtest import parse_timestamp
from schemas.timeutil import LOCAL_TZ, to_ms

pytestmark = pytest.mark.unit

START = datetime(2026, 11, 2, tzinfo=LOCAL_TZ)  # a Monday, local midnight


def daily(t: datetime) -> float:
    hour = t.astimezone(LOCAL_TZ).hour + t.minute / 60
    return 100 + 50 * math.exp(-(((hour - 8) / 1.5) ** 2))


def series(
    days: int = 5, step_min: int = 10, *, irregular: bool = False, seed: int = 7
) -> list[tuple[datetime, float]]:
    rnd = random.Random(seed)
    out = []
    t = START
    end = START + timedelta(days=days)
    spike = START + timedelta(days=days - 1, hours=14)
    while t < end:
        t += timedelta(minutes=step_min + (rnd.randint(-4, 4) if irregular else 0))
        value = daily(t) + rnd.gauss(0, 4)
        if spike <= t < spike + timedelta(hours=1):
            value += 120
        out.append((t, value))
    return out


def write(path: Path, rows: list[tuple[str, str]], header: bool = True) -> Path:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        if header:
            out.writerow(("timestamp", "value"))
        out.writerows(rows)
    return path


def backtest(tmp_path: Path, source: Path, *extra: str) -> list[dict[str, str]]:
    target = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app, ["backtest", "--input", str(source), "--output", str(target), *extra]
    )
    assert result.exit_code == 0, result.output
    with target.open() as handle:
        return list(csv.DictReader(handle))


def test_aware_timestamps_one_row_per_input_row(tmp_path: Path) -> None:
    points = series()
    # Mixed offsets on purpose: the same instants written in UTC and in local time.
    rows = [
        (t.astimezone(UTC if i % 2 else LOCAL_TZ).isoformat(), f"{v:.3f}")
        for i, (t, v) in enumerate(points)
    ]
    out = backtest(tmp_path, write(tmp_path / "in.csv", rows), "--detector", "seasonal")
    assert len(out) == len(rows)
    assert list(out[0]) == ["timestamp", "value", "score", "is_anomaly"]
    assert [(r["timestamp"], r["value"]) for r in out] == rows
    assert all(0.0 <= float(r["score"]) <= 1.0 for r in out)
    opened = [r for r in out if r["is_anomaly"] == "1"]
    assert len(opened) == 1
    when = datetime.fromisoformat(opened[0]["timestamp"])
    spike = START + timedelta(days=4, hours=14)
    assert spike <= when <= spike + timedelta(minutes=40)


def test_naive_timestamps_are_local_unless_tz_says_otherwise(tmp_path: Path) -> None:
    points = series()
    aware = [(t.isoformat(), f"{v:.3f}") for t, v in points]
    naive = [(t.replace(tzinfo=None).isoformat(sep=" "), f"{v:.3f}") for t, v in points]
    seasonal = ("--detector", "seasonal")
    out_aware = backtest(tmp_path, write(tmp_path / "a.csv", aware), *seasonal)
    out_naive = backtest(tmp_path, write(tmp_path / "n.csv", naive, header=False), *seasonal)
    assert [(r["score"], r["is_anomaly"]) for r in out_aware] == [
        (r["score"], r["is_anomaly"]) for r in out_naive
    ]
    # --tz UTC reads the same wall-clock text as UTC instants.
    as_utc = [(t.replace(tzinfo=UTC).isoformat(), f"{v:.3f}") for t, v in points]
    out_utc = backtest(tmp_path, write(tmp_path / "u.csv", naive), "--tz", "UTC", *seasonal)
    out_aware_utc = backtest(tmp_path, write(tmp_path / "au.csv", as_utc), *seasonal)
    assert [r["score"] for r in out_utc] == [r["score"] for r in out_aware_utc]
    assert sum(r["is_anomaly"] == "1" for r in out_utc) == 1


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2026-11-02 07:00:00", LOCAL_TZ, datetime(2026, 11, 2, tzinfo=UTC)),
        ("2026-11-02T07:00:00", ZoneInfo("UTC"), datetime(2026, 11, 2, 7, tzinfo=UTC)),
        ("2026-11-02T07:00:00+07:00", ZoneInfo("UTC"), datetime(2026, 11, 2, tzinfo=UTC)),
        ("2026-11-02T00:00:00Z", LOCAL_TZ, datetime(2026, 11, 2, tzinfo=UTC)),
        ("1793577600", LOCAL_TZ, datetime(2026, 11, 2, tzinfo=UTC)),
        ("1793577600000", LOCAL_TZ, datetime(2026, 11, 2, tzinfo=UTC)),
    ],
)
def test_timestamp_forms(text: str, zone: ZoneInfo, expected: datetime) -> None:
    assert parse_timestamp(text, zone) == to_ms(expected)


def test_irregular_and_unsorted_series(tmp_path: Path) -> None:
    points = series(irregular=True)
    rows = [(t.isoformat(), f"{v:.3f}") for t, v in points]
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    out = backtest(tmp_path, write(tmp_path / "in.csv", shuffled), "--detector", "seasonal")
    assert [(r["timestamp"], r["value"]) for r in out] == shuffled  # input order kept
    assert sum(r["is_anomaly"] == "1" for r in out) == 1


def test_a_rule_by_name_and_params_from_a_file(tmp_path: Path) -> None:
    start = datetime(2026, 11, 2, 8, 0, tzinfo=LOCAL_TZ)
    volts = [221, 220, 190, 190, 190, 190, 221, 222, 221, 220]
    rows = [((start + timedelta(minutes=i)).isoformat(), str(v)) for i, v in enumerate(volts)]
    source = write(tmp_path / "v.csv", rows)
    out = backtest(tmp_path, source, "--detector", "undervoltage")
    assert [r["is_anomaly"] for r in out] == ["0"] * 4 + ["1"] + ["0"] * 5
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"rules": [{"name": "undervoltage", "duration_s": 60}]}))
    out = backtest(tmp_path, source, "--detector", "undervoltage", "--params", str(params))
    # One bad 1-minute point is "for 1 minute": it opens on the first bad row.
    assert [r["is_anomaly"] for r in out].index("1") == 2


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("timestamp,value\n2026-11-02T00:00:00,1\n", ["--detector", "nope"], "unknown detector"),
        ("timestamp,value\nyesterday,1\n", [], "in.csv:2"),
        ("timestamp,value\n2026-11-02T00:00:00,abc\n", [], "in.csv:2"),
        ("timestamp,value\n2026-11-02T00:00:00,1\n", ["--tz", "Mars/Base"], "time zone"),
    ],
)
def test_bad_input_is_a_clear_error(
    tmp_path: Path, content: str, args: list[str], message: str
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(content)
    result = CliRunner().invoke(
        app, ["backtest", "--input", str(source), "--output", str(tmp_path / "o.csv"), *args]
    )
    assert result.exit_code != 0
    assert message in str(result.exception) + result.output


def test_events_mode_aggregates_to_minutes_like_the_stream(tmp_path: Path) -> None:
    from tests import factories

    start = datetime(2026, 11, 2, 8, 0, tzinfo=LOCAL_TZ)
    lines = []
    for minute in range(12):
        volts = 190.0 if 3 <= minute < 9 else 221.0
        reading = factories.energy(
            meter_id="EM-0001",
            measured_at=start + timedelta(minutes=minute, seconds=30),
            voltage_v={"l1": volts, "l2": volts + 1, "l3": volts + 1},
            energy_kwh_total=1000.0 + minute,
        )
        lines.append(reading.model_dump_json())
    lines.append('{"not": "an event"}')  # counted as invalid, not fatal
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n")
    target = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app,
        ["backtest", "--events", str(events), "--metric", "voltage_min_v", "--output", str(target)],
    )
    assert result.exit_code == 0, result.output
    with target.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "timestamp",
        "value",
        "score",
        "is_anomaly",
        "entity_kind",
        "entity_id",
    ]
    assert {r["entity_id"] for r in rows} == {"EM-0001"}
    assert len(rows) == 12  # one per closed minute
    opened = [r for r in rows if r["is_anomaly"] == "1"]
    # Bad minutes 8:03, 8:04, 8:05 (windows ending 8:04-8:06): open at the third.
    assert [r["timestamp"] for r in opened] == [(start + timedelta(minutes=6)).isoformat()]
