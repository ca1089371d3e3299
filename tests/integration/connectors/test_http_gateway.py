"""The HTTP gateway end to end into real Kafka: counts reconciled, retries counted once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from connectors.sources.edge import TopicRoutes
from connectors.sources.http.gateway import HttpGateway
from connectors.sources.http.keys import add_key, revoke_keys
from ioc.settings import Settings
from ioc.wiring import connectors as wire
from schemas.timeutil import utcnow
from tests.integration.conftest import free_port
from tests.integration.connectors.conftest import (
    LoopThread,
    assert_murmur2_partitioning,
    counter,
    read_topic,
    values,
)

pytestmark = pytest.mark.integration


class Running:
    """A gateway serving on a real port in the loop thread."""

    def __init__(self, lt: LoopThread, settings: Settings) -> None:
        self.lt = lt
        self.gateway: HttpGateway = wire.gateway(settings, port=0)
        lt.run(self.gateway.start())
        self.client = httpx.Client(base_url=self.gateway.url, timeout=30)

    def wait_kafka(self) -> None:
        self.lt.run(self.gateway.link.wait_connected(), timeout=30)

    def close(self) -> None:
        self.client.close()
        self.lt.run(self.gateway.stop())


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, str, str]:
    path = tmp_path / "keys.json"
    return (
        path,
        add_key(path, "qr-gate-dx", ["qr"]),
        add_key(path, "sensors", ["traffic", "energy"]),
    )


@pytest.fixture
def gw_settings(conn_settings: Settings, keys: tuple[Path, str, str]) -> Settings:
    return conn_settings.model_copy(update={"http_api_keys_file": str(keys[0])})


@pytest.fixture
def gateway(
    loop_thread: LoopThread, gw_settings: Settings, routes: TopicRoutes
) -> Iterator[Running]:
    running = Running(loop_thread, gw_settings)
    running.wait_kafka()
    yield running
    running.close()


def qr(i: int, **kw: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "checkpoint_id": f"CP-{i % 7:02d}",
        "area_code": "689",
        "scanned_at": (utcnow() - timedelta(seconds=i)).isoformat(),
        "direction": "in" if i % 2 else "out",
        "device_id": f"DEV-{i % 5}",
    }
    if i % 3:
        event["citizen_id"] = f"0702{i:08d}"
    else:
        event["licence_plate"] = f"93A-{i % 1000:03d}.{i % 100:02d}"
    return {**event, **kw}


class Tally:
    """What the client saw: items sent, and the answer for each."""

    def __init__(self) -> None:
        self.sent = 0
        self.accepted: set[str] = set()
        self.rejected = 0
        self.refused = 0  # not admitted at all (401/403/413): nothing received, nothing written

    def post(
        self, client: httpx.Client, key: str, body: Any, stream: str = "qr", **headers: str
    ) -> httpx.Response:
        items = len(body) if isinstance(body, list) else 1
        content = body if isinstance(body, bytes) else orjson.dumps(body)
        hdrs = {
            "Authorization": f"Bearer {key}",
            **{k.replace("_", "-"): v for k, v in headers.items()},
        }
        response = client.post(f"/v1/streams/{stream}/events", content=content, headers=hdrs)
        if response.headers.get("Idempotent-Replayed") == "true":
            return response  # a retry: already counted
        self.sent += items
        data = response.json()
        if response.status_code in (200, 422):
            if "event_id" in data:
                self.accepted.add(data["event_id"])
            for item in data.get("event_ids", []):
                self.accepted.add(item["event_id"])
            self.rejected += data.get("rejected", 0)
        else:
            self.refused += items
        return response


def test_counts_reconcile_and_retries_count_once(
    gateway: Running, gw_settings: Settings, routes: TopicRoutes, keys: tuple[Path, str, str]
) -> None:
    _, qr_key, sensor_key = keys
    c, tally = gateway.client, Tally()
    ids_by_request: dict[str, Any] = {}

    for i in range(20):  # single events, each retried once with the same key
        body = qr(i)
        first = tally.post(c, qr_key, body, Idempotency_Key=f"single-{i}")
        assert first.status_code == 200, first.text
        retry = tally.post(c, qr_key, body, Idempotency_Key=f"single-{i}")
        assert retry.json() == first.json()
    for b in range(5):  # batches of 20 with 2 bad items each, retried once
        batch = [qr(100 + b * 20 + j) for j in range(20)]
        batch[3]["direction"] = "sideways"
        batch[11]["unexpected"] = True
        first = tally.post(c, qr_key, batch, Idempotency_Key=f"batch-{b}")
        assert first.status_code == 422
        body = first.json()
        assert (body["accepted"], body["rejected"]) == (18, 2)
        assert [e["index"] for e in body["errors"]] == [3, 11]
        assert body["errors"][0]["fields"] == ["direction"]
        assert body["errors"][1]["fields"] == ["unexpected"]
        ids_by_request[f"batch-{b}"] = body["event_ids"]
        tally.post(c, qr_key, batch, Idempotency_Key=f"batch-{b}")
    # The client's own ids are kept; events without any id get deterministic ones.
    own = "6f1c1e2a-8f0e-4a57-9a43-3d1f5b0c2e11"
    assert tally.post(c, qr_key, qr(500, event_id=own)).json()["event_id"] == own
    no_key = qr(501)
    first_id = tally.post(c, qr_key, no_key).json()["event_id"]
    assert tally.post(c, qr_key, no_key).json()["event_id"] == first_id  # same event again
    # Refused at the edge, each dead-lettered.
    now = utcnow()
    for bad in (
        b"not json at all",
        b'{"scanned_at": NaN}',
        '{"device_id": "\u0110\u1ed3ng Xo\u00e0i"}'.encode("utf-16"),
        qr(502, scanned_at=(now + timedelta(minutes=10)).isoformat()),
        qr(503, scanned_at=(now - timedelta(days=40)).isoformat()),
    ):
        assert tally.post(c, qr_key, bad).status_code == 422
    traffic = {
        "sensor_id": "TS-QL13-01",
        "segment_id": "QL13-01",
        "observed_at": now.isoformat(),
        "period_s": 60,
        "intensity": 12,
        "average_speed_kmh": 40.0,
        "occupancy": 0.1,
    }
    assert tally.post(c, sensor_key, [traffic], stream="traffic").status_code == 200
    assert tally.post(c, qr_key, [traffic], stream="traffic").status_code == 403

    # sent = accepted + rejected, exactly; accepted = in Kafka, each once.
    assert tally.refused == 1
    # +1: the no-key event sent twice is one accepted id
    assert tally.sent == len(tally.accepted) + tally.rejected + tally.refused + 1
    events = read_topic(gw_settings, routes.topic("qr")) + read_topic(
        gw_settings, routes.topic("traffic")
    )
    in_kafka = [v["event_id"] for v in values(events)]
    assert set(in_kafka) == tally.accepted
    # Idempotency-Key retries were answered from the replay cache, not written again; the
    # repeat without a key was written twice under one event_id (de-duplicated downstream).
    assert len(in_kafka) == len(tally.accepted) + 1
    dead = values(read_topic(gw_settings, routes.deadletter))
    assert len(dead) == tally.rejected
    assert {d["reason"] for d in dead} >= {
        "validation",
        "unknown_field",
        "invalid_json",
        "clock_skew",
        "too_old",
    }
    assert {d["producer"] for d in dead} == {"http-gateway"}
    assert_murmur2_partitioning(read_topic(gw_settings, routes.topic("qr")), 3)
    assert all(
        r.timestamp == _ms(v["scanned_at"])
        for r, v in zip(
            read_topic(gw_settings, routes.topic("qr")),
            values(read_topic(gw_settings, routes.topic("qr"))),
            strict=True,
        )
    )

    reg = gateway.gateway.registry
    accepted = sum(
        counter(reg, "ioc_connector_events_total", connector="http", stream=s, outcome="accepted")
        for s in ("qr", "traffic")
    )
    assert accepted == len(tally.accepted) + 1  # the no-key repeat is a new request
    assert (
        counter(
            reg, "ioc_connector_events_total", connector="http", stream="qr", outcome="duplicate"
        )
        == 20 + 5 * 20
    )

    # A retry after a gateway restart (empty replay cache) still yields the same ids.
    gateway.close()
    again = Running(gateway.lt, gw_settings)
    gateway.client = again.client  # so the fixture closes the new one
    gateway.gateway = again.gateway
    again.wait_kafka()
    batch = [qr(100 + j) for j in range(20)]
    batch[3]["direction"] = "sideways"
    batch[11]["unexpected"] = True
    assert again.client.post(
        "/v1/streams/qr/events", content=orjson.dumps(batch),
        headers={"Authorization": f"Bearer {qr_key}", "Idempotency-Key": "batch-0"},
    ).json()["event_ids"] == ids_by_request["batch-0"]  # fmt: skip


def _ms(text: str) -> int:
    from datetime import datetime

    from schemas.timeutil import to_ms

    return to_ms(datetime.fromisoformat(text))


def test_kafka_unavailable_answers_503_with_retry_after(
    loop_thread: LoopThread, gw_settings: Settings, keys: tuple[Path, str, str]
) -> None:
    down = gw_settings.model_copy(update={"kafka_port": free_port(), "http_retry_after_s": 3})
    running = Running(loop_thread, down)
    try:
        response = running.client.post(
            "/v1/streams/qr/events", json=qr(1), headers={"X-API-Key": keys[1]}
        )
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "3"
        assert running.client.get("/health").json() == {"status": "degraded", "kafka": "down"}
        assert running.client.get("/metrics").status_code == 200  # the process still answers
    finally:
        running.close()


def test_revoked_key_is_refused_without_a_restart_and_limits_answer_429(
    loop_thread: LoopThread,
    gw_settings: Settings,
    routes: TopicRoutes,  # creates the topics
    keys: tuple[Path, str, str],
) -> None:
    path, qr_key, _ = keys
    # One token every 5 s: the third quick request is refused however slow Kafka is today.
    limited = gw_settings.model_copy(update={"http_rate_per_key": 0.2, "http_burst_per_key": 2})
    running = Running(loop_thread, limited)
    try:
        running.wait_kafka()
        newcomer = add_key(path, "qr-gate-new", ["qr"])
        time.sleep(1.1)  # the keys file is looked at at most once a second
        post = running.client.post
        headers = {"Authorization": f"Bearer {newcomer}"}
        assert post("/v1/streams/qr/events", json=qr(1), headers=headers).status_code == 200
        assert post("/v1/streams/qr/events", json=qr(2), headers=headers).status_code == 200
        throttled = post("/v1/streams/qr/events", json=qr(3), headers=headers)
        assert throttled.status_code == 429
        assert 1 <= int(throttled.headers["Retry-After"]) <= 5
        assert throttled.json()["error"] == "rate_limited"

        qr_headers = {"Authorization": f"Bearer {qr_key}"}
        assert post("/v1/streams/qr/events", json=qr(4), headers=qr_headers).status_code == 200
        revoke_keys(path, source="qr-gate-dx")
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            status = post("/v1/streams/qr/events", json=qr(5), headers=qr_headers).status_code
            if status == 401:
                break
            assert status in (200, 429)
            time.sleep(0.2)
        assert status == 401, "a revoked key was still accepted 2.5 s later"
        reg = running.gateway.registry
        assert counter(reg, "ioc_http_throttled_total", source="qr-gate-new", reason="rate") == 1
    finally:
        running.close()
