"""The demo's parts without the stack: device payloads, routing, process supervision."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from ioc.tooling.demo.senders import RoutingOutput, device_payload
from ioc.tooling.demo.supervisor import DemoError, Spec, Supervisor, _cmdline
from schemas.topics import DOSSIER_STATUS, ENERGY_READINGS, QR_SCANS, TRAFFIC_OBS
from tests.factories import energy, qr_scan

pytestmark = pytest.mark.unit

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def test_devices_send_no_stamps_of_ours() -> None:
    payload = device_payload(energy())
    assert {"event_id", "source", "schema_version"}.isdisjoint(payload)
    assert payload["meter_id"] == energy().meter_id
    app = device_payload(qr_scan(), keep_id=True)  # an app keeps its own ids for retries
    assert app["event_id"] == str(qr_scan().event_id)
    assert "source" not in app  # the gateway stamps the API key's source


def test_the_app_sends_raw_ids_that_the_gateway_hashes_to_the_simulators_hash() -> None:
    from datetime import UTC, datetime, timedelta

    from connectors.sources.edge import STREAMS, EdgeValidator, TimePolicy
    from ioc.tooling.demo.senders import HttpOutput
    from ioc.tooling.simulator import MemoryOutput, Simulation, SimulationConfig, run
    from schemas.privacy import PiiHasher
    from schemas.province.loading import load_profile

    hasher = PiiHasher(b"demo-key", "k1")
    start = datetime(2026, 11, 26, 7, tzinfo=UTC)
    config = SimulationConfig(
        profile=load_profile(), seed=3, start=start, end=start + timedelta(hours=2),
        domains=("qr",),
    )  # fmt: skip
    sim = Simulation(config, hasher)
    out = MemoryOutput()
    asyncio.run(run(sim, out))
    scans = [e for topic, e in out.events if topic == QR_SCANS][:200]
    assert scans
    http = HttpOutput("http://unused", "key")
    http.identities = sim.identities
    edge = EdgeValidator(hasher, TimePolicy(timedelta(minutes=5), timedelta(days=3650)))
    kinds = set()
    for scan in scans:
        sent = http._as_app_sends(scan)
        assert {"subject_hash", "pii_key_id"}.isdisjoint(sent)
        kinds.add("citizen_id" in sent)
        received = edge.validate(STREAMS["qr"], sent, source=scan.source, check_age=False)
        assert received.subject_hash == scan.subject_hash
        assert received.subject_kind == scan.subject_kind
    assert kinds == {True, False}  # people and vehicles both went through


class Recorder:
    def __init__(self) -> None:
        self.got: list[str] = []

    async def start(self) -> None: ...
    async def flush(self) -> None: ...
    async def close(self) -> None: ...

    async def send(self, topic: str, event: Any) -> None:
        self.got.append(topic)


def test_each_stream_goes_to_its_connector() -> None:
    import asyncio

    http, mqtt, outbox = Recorder(), Recorder(), Recorder()
    sink = RoutingOutput(http, mqtt, outbox)  # type: ignore[arg-type]
    for topic in (QR_SCANS, TRAFFIC_OBS, ENERGY_READINGS, DOSSIER_STATUS):
        asyncio.run(sink.send(topic, None))  # type: ignore[arg-type]
    assert (http.got, mqtt.got, outbox.got) == (
        [QR_SCANS],
        [TRAFFIC_OBS, ENERGY_READINGS],
        [DOSSIER_STATUS],
    )
    assert sink.sent == {QR_SCANS: 1, TRAFFIC_OBS: 1, ENERGY_READINGS: 1, DOSSIER_STATUS: 1}


def test_supervisor_stops_exactly_what_it_started(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path, {"PATH": "/usr/bin:/bin"})
    first = sup.start(Spec("a", SLEEPER))
    second = sup.start(Spec("b", SLEEPER))
    sup.wait_ready(second)
    recorded = orjson.loads((tmp_path / "pids.json").read_bytes())
    assert [e["pid"] for e in recorded] == [first.process.pid, second.process.pid]
    assert sup.stop() == [f"b ({second.process.pid})", f"a ({first.process.pid})"]
    assert first.process.poll() is not None
    assert second.process.poll() is not None
    assert not (tmp_path / "pids.json").exists()


def test_leftovers_of_a_killed_demo_are_stopped_by_recorded_pid_and_argv(tmp_path: Path) -> None:
    old = Supervisor(tmp_path, {})
    left = old.start(Spec("left", SLEEPER))
    old.wait_ready(left)  # records the final command line
    # A stale entry (a reused PID would have another command line) is left alone.
    entries = orjson.loads((tmp_path / "pids.json").read_bytes())
    entries.append({"name": "stale", "pid": 1, "cmdline": "not init"})
    (tmp_path / "pids.json").write_bytes(orjson.dumps(entries))
    assert Supervisor(tmp_path, {}).stop_leftovers() == [f"left ({left.process.pid})"]
    left.process.wait(timeout=10)
    assert _cmdline(1)  # init untouched


def test_a_process_that_dies_is_reported_with_its_log(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path, {})
    dying = sup.start(Spec("dies", [sys.executable, "-c", "print('boom'); raise SystemExit(3)"],
                           port=1))  # fmt: skip
    with pytest.raises(DemoError, match="exited with 3") as err:
        sup.wait_ready(dying, timeout_s=10)
    assert "boom" in str(err.value)
    sup.stop()
