"""File replay into real Kafka: field maps, dead letters by line, pacing, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from connectors.sources.edge import TopicRoutes
from connectors.sources.files import FileJob
from ioc.settings import Settings
from ioc.wiring import connectors as wire
from schemas.timeutil import utcnow
from tests.integration.connectors.conftest import (
    LoopThread,
    assert_murmur2_partitioning,
    read_topic,
    values,
)

pytestmark = pytest.mark.integration


def test_jsonl_with_a_field_map_counts_reconcile(
    loop_thread: LoopThread, conn_settings: Settings, routes: TopicRoutes, tmp_path: Path
) -> None:
    now = utcnow()
    lines = [
        orjson.dumps(
            {
                "sensor": f"TS-{i:02d}",
                "segment_id": f"QL14-{i % 3:02d}",
                "ts": (now - timedelta(minutes=i)).isoformat(),
                "period_s": 60,
                "count": 10 + i,
                "speed": 42.0,
                "occupancy": 0.3,
                "vendor_note": "dropped by the map",
            }
        )
        for i in range(20)
    ]
    lines.insert(5, b"{this is not json")
    lines.insert(9, orjson.dumps({"sensor": "TS-X", "ts": now.isoformat(), "count": -1}))
    path = tmp_path / "traffic.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    mapping = {
        "sensor": "sensor_id",
        "ts": "observed_at",
        "count": "intensity",
        "speed": "average_speed_kmh",
        "vendor_note": "",
    }
    connector = wire.file_connector(conn_settings)
    loop_thread.run(connector.start())
    progress: list[int] = []
    try:
        report = loop_thread.run(
            connector.run(FileJob(path, "traffic", mapping=mapping, batch_size=7), progress.append)
        )
    finally:
        loop_thread.run(connector.stop())
    assert (report.read, report.accepted, report.rejected) == (22, 20, 2)
    assert sum(progress) == 22
    records = read_topic(conn_settings, routes.topic("traffic"))
    assert len(records) == 20
    assert_murmur2_partitioning(records, 3)
    dead = values(read_topic(conn_settings, routes.deadletter))
    assert sorted((d["offset"], d["reason"]) for d in dead) == [
        (6, "invalid_json"),
        (10, "validation"),
    ]


def test_cli_replays_csv_at_speedup(
    conn_settings: Settings, routes: TopicRoutes, tmp_path: Path
) -> None:
    start = utcnow() - timedelta(minutes=5)
    rows = ["meter,feeder_id,area_code,measured_at,kw,energy_kwh_total,v1,v2,v3"]
    for i in range(5):  # 2 s apart in event time
        at = (start + timedelta(seconds=2 * i)).isoformat()
        rows.append(f"EM-{i},FD-01,689,{at},1.5,{100 + i},220.5,219.0,221.2")
    path = tmp_path / "energy.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    env = {**os.environ, "IOC_CONNECTOR_TOPIC_SUFFIX": conn_settings.connector_topic_suffix}
    args = [sys.executable, "-m", "ioc", "connector", "file", str(path), "--stream", "energy"]
    for pair in (
        "meter=meter_id",
        "kw=active_power_kw",
        "v1=voltage_v.l1",
        "v2=voltage_v.l2",
        "v3=voltage_v.l3",
    ):
        args += ["--map", pair]
    began = time.monotonic()
    done = subprocess.run(
        [*args, "--speedup", "10", "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert "accepted 5, dead-lettered 0" in done.stderr
    assert elapsed >= 0.8  # 8 s of event time at 10x
    records = values(read_topic(conn_settings, routes.topic("energy")))
    assert sorted(r["meter_id"] for r in records) == [f"EM-{i}" for i in range(5)]
    assert records[0]["voltage_v"] == {"l1": 220.5, "l2": 219.0, "l3": 221.2}
