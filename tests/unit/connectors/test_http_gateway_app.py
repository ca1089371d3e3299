"""The gateway's HTTP contract with a stand-in producer (no Kafka): codes, headers, limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka.errors import KafkaTimeoutError

from connectors.sources.edge import EdgeValidator, TimePolicy, TopicRoutes
from connectors.sources.http.gateway import GatewayConfig, HttpGateway
from connectors.sources.http.keys import KeyStore, add_key
from schemas.errors import ServiceUnavailableError
from schemas.privacy import PiiHasher
from schemas.timeutil import utcnow

pytestmark = pytest.mark.unit


class FakeProducer:
    def __init__(self, *, refuse: bool = False, fail: Exception | None = None) -> None:
        self.refuse, self.fail = refuse, fail
        self.events: list[tuple[str, Any]] = []
        self.letters: list[tuple[str, Any]] = []

    async def start(self) -> None:
        if self.refuse:
            raise ServiceUnavailableError("no broker")

    async def stop(self) -> None:
        return None

    async def send_events(self, topic: str, events: list[Any]) -> list[Any]:
        if self.fail is not None:
            raise self.fail
        self.events += [(topic, e) for e in events]
        return []

    async def send_dead_letters(self, letters: list[Any], topic: str) -> list[Any]:
        if self.fail is not None:
            raise self.fail
        self.letters += [(topic, letter) for letter in letters]
        return []


def qr(**kw: object) -> dict[str, object]:
    return {
        "checkpoint_id": "CP-1",
        "area_code": "689",
        "scanned_at": utcnow().isoformat(),
        "citizen_id": "079201001234",
        "direction": "in",
        "device_id": "D-1",
        **kw,
    }


Scenario = Callable[[httpx.AsyncClient, str, FakeProducer], Awaitable[None]]


def run(
    tmp_path: Path, scenario: Scenario, producer: FakeProducer | None = None, **cfg: Any
) -> None:
    producer = producer or FakeProducer()
    raw = add_key(tmp_path / "keys.json", "gate-1", ["qr"])

    async def main() -> None:
        gateway = HttpGateway(
            config=GatewayConfig(port=0, **cfg),
            keys=KeyStore.load(tmp_path / "keys.json"),
            validator=EdgeValidator(
                PiiHasher(b"k", "k1"), TimePolicy(timedelta(minutes=5), timedelta(days=30))
            ),
            routes=TopicRoutes.default(".unit"),
            producer_factory=lambda: producer,  # type: ignore[arg-type,return-value]
        )
        await gateway.start()
        try:
            async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
                await scenario(client, raw, producer)
        finally:
            await gateway.stop()

    asyncio.run(main())


async def post(
    client: httpx.AsyncClient, key: str | None, body: Any, **headers: str
) -> httpx.Response:
    hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
    if key is not None:
        hdrs["Authorization"] = f"Bearer {key}"
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return await client.post("/v1/streams/qr/events", content=content, headers=hdrs)


def test_auth_codes(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient, key: str, _p: FakeProducer) -> None:
        r = await post(client, None, qr())
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert (await post(client, "wrong", qr())).status_code == 401
        r = await client.post("/v1/streams/traffic/events", json={}, headers={"X-API-Key": key})
        assert r.status_code == 403
        r = await client.post("/v1/streams/weather/events", json={}, headers={"X-API-Key": key})
        assert r.status_code == 404
        assert (await post(client, key, qr(), Idempotency_Key="a b")).status_code == 400

    run(tmp_path, scenario)


def test_accepted_rejected_and_dead_lettered(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient, key: str, producer: FakeProducer) -> None:
        r = await post(client, key, qr())
        assert r.status_code == 200
        assert r.json()["accepted"] == 1
        r = await post(client, key, [qr(), qr(direction="up", level=3)])
        assert r.status_code == 422
        body = r.json()
        assert (body["accepted"], body["rejected"]) == (1, 1)
        assert body["errors"][0]["index"] == 1
        assert set(body["errors"][0]["fields"]) == {"direction", "level"}
        r = await post(client, key, qr(source="someone-else"))
        assert r.json()["errors"][0]["reason"] == "source_mismatch"
        r = await post(client, key, b'{"scanned_at": NaN}')
        assert r.status_code == 422
        assert r.json()["errors"][0]["reason"] == "invalid_json"
        r = await post(client, key, [])
        assert r.status_code == 422
        assert len(producer.events) == 2
        assert [t for t, _ in producer.letters] == ["ioc.deadletter.v1.unit"] * 3
        assert all("079201001234" not in letter.payload for _, letter in producer.letters)

    run(tmp_path, scenario)


def test_size_limits(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient, key: str, _p: FakeProducer) -> None:
        big = orjson.dumps([qr(device_id="D" * 60)] * 40)
        assert len(big) > 4_096
        assert (await post(client, key, big)).status_code == 413

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b" " * 1_000

        r = await client.post("/v1/streams/qr/events", content=chunks(), headers={"X-API-Key": key})
        assert r.status_code == 413
        r = await post(client, key, [qr()] * 3)
        assert r.status_code == 413
        assert r.json()["error"] == "batch_too_large"

    run(tmp_path, scenario, max_body_bytes=4_096, max_batch=2)


def test_idempotency_replay_and_conflict(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient, key: str, producer: FakeProducer) -> None:
        batch = [qr(), qr(direction="out")]
        first = await post(client, key, batch, Idempotency_Key="req-1")
        again = await post(client, key, batch, Idempotency_Key="req-1")
        assert first.json() == again.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert len(producer.events) == 2  # the replay was not written again
        assert (await post(client, key, [qr()], Idempotency_Key="req-1")).status_code == 409

    run(tmp_path, scenario)


def test_kafka_down_is_503_with_retry_after(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient, key: str, _p: FakeProducer) -> None:
        r = await post(client, key, qr())
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "7"
        assert (await client.get("/health")).status_code == 503

    run(tmp_path, scenario, FakeProducer(fail=KafkaTimeoutError()), retry_after_s=7)
    run(tmp_path, scenario, FakeProducer(refuse=True), retry_after_s=7)


def test_health_metrics_openapi(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient, key: str, _p: FakeProducer) -> None:
        await post(client, key, qr())
        assert (await client.get("/health")).json() == {"status": "ok", "kafka": "up"}
        metrics = (await client.get("/metrics")).text
        assert (
            'ioc_connector_events_total{connector="http",outcome="accepted",stream="qr"} 1.0'
            in metrics
        )
        assert "ioc_http_requests_total" in metrics
        doc = (await client.get("/openapi.json")).json()
        assert doc["openapi"].startswith("3.")
        assert "/v1/streams/qr/events" in doc["paths"]
        assert "QrScan" in doc["components"]["schemas"]

    run(tmp_path, scenario)


def test_hostile_bodies_get_4xx_and_a_dead_letter_never_a_500(tmp_path: Path) -> None:
    nested = b'{"device_id": ' + b"[" * 900 + b"]" * 900 + b"}"
    bodies = [
        nested,  # orjson parses it (its limit is 1,024 levels)
        b"[" * 5_000 + b"]" * 5_000,  # orjson refuses it
        b"[" + b",".join([nested] * 3) + b"]",  # several, in one batch
        b'{"citizen_id": "\xff\xfe"}',  # invalid UTF-8
        b'{"scanned_at": 1e999}',
        orjson.dumps(qr(device_id={"a": [[[[[[[[[[{"b": "079201001234"}]]]]]]]]]]})),
    ]

    async def scenario(client: httpx.AsyncClient, key: str, producer: FakeProducer) -> None:
        for body in bodies:
            r = await post(client, key, body)
            assert 400 <= r.status_code < 500, (body[:40], r.status_code, r.text[:200])
        assert producer.events == []
        assert len(producer.letters) >= len(bodies)
        assert all("079201001234" not in letter.payload for _, letter in producer.letters)
        assert (await post(client, key, qr())).status_code == 200  # and the next one is fine

    run(tmp_path, scenario, max_body_bytes=1_000_000)
