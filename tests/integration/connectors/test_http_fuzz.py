"""Hostile payloads against the real gateway: every one answered 4xx or written, none 5xx;
every rejected item dead-lettered; the process healthy afterwards."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from connectors.sources.edge import TopicRoutes
from connectors.sources.http.keys import add_key
from ioc.settings import Settings
from ioc.wiring import connectors as wire
from schemas.timeutil import utcnow
from tests.integration.connectors.conftest import LoopThread, read_topic, values
from tests.integration.connectors.hostile import bodies

pytestmark = pytest.mark.integration


def test_gateway_survives_hostile_payloads(
    loop_thread: LoopThread, conn_settings: Settings, routes: TopicRoutes, tmp_path: Path
) -> None:
    raw_key = add_key(tmp_path / "keys.json", "fuzz", ["qr"])
    cfg = conn_settings.model_copy(
        update={
            "http_api_keys_file": str(tmp_path / "keys.json"),
            "http_max_body_bytes": 65_536,
            "http_rate_per_key": 10_000.0,  # hostile bodies, not the rate limit, are tested here
        }
    )
    gateway = wire.gateway(cfg, port=0)
    loop_thread.run(gateway.start())
    loop_thread.run(gateway.link.wait_connected(), timeout=30)
    client = httpx.Client(base_url=gateway.url, timeout=30)
    headers = {"Authorization": f"Bearer {raw_key}"}
    base = {
        "checkpoint_id": "CP-01",
        "area_code": "689",
        "scanned_at": utcnow().isoformat(),
        "citizen_id": "079201001234",
        "direction": "in",
        "device_id": "DEV-1",
    }
    seen = {"accepted": 0, "rejected": 0, "too_large": 0}
    accepted_ids: set[str] = set()
    try:

        @settings(
            max_examples=150,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(body=bodies(base))
        def probe(body: bytes) -> None:
            response = client.post("/v1/streams/qr/events", content=body, headers=headers)
            assert response.status_code in (200, 413, 422), (response.status_code, response.text)
            if response.status_code == 413:
                seen["too_large"] += 1
                return
            data = response.json()
            seen["accepted"] += data["accepted"]
            seen["rejected"] += data["rejected"]
            if "event_id" in data:
                accepted_ids.add(data["event_id"])
            accepted_ids.update(e["event_id"] for e in data.get("event_ids", []))
            if response.status_code == 422:
                assert data["rejected"] >= 1 or data["error"] == "empty_batch"
                assert all(e["reason"] for e in data.get("errors", []))

        probe()
        assert client.get("/health").json() == {"status": "ok", "kafka": "up"}
        good = client.post("/v1/streams/qr/events", content=orjson.dumps(base), headers=headers)
        assert good.status_code == 200
    finally:
        client.close()
        loop_thread.run(gateway.stop())

    events = values(read_topic(cfg, routes.topic("qr")))
    assert len(events) == seen["accepted"] + 1
    assert {e["event_id"] for e in events} == accepted_ids | {good.json()["event_id"]}
    dead = values(read_topic(cfg, routes.deadletter))
    assert len(dead) == seen["rejected"]
    assert seen["rejected"] > 0
    assert all("079201001234" not in d["payload"] for d in dead)
