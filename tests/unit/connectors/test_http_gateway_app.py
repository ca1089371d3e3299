"""The gateway's HTTP contract with a stand-in producer (no Kafka): codes, headers, limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka.errors import KafkaTimeoutError

from connectors.sources.http.keys import add_key, hash_key, revoke_keys
from schemas.timeutil import utcnow
from tests.unit.connectors.gateway_harness import (
    ROUTE,
    FakeProducer,
    post,
    qr,
    run,
    sample,
    serving,
)

pytestmark = pytest.mark.unit


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


def test_clients_without_a_valid_key_or_on_another_job_are_refused(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    gate = add_key(keys, "gate-1", ["qr"])
    sensors = add_key(keys, "sensors", ["traffic", "energy"])
    past = add_key(keys, "old-gate", ["qr"], expires=utcnow() - timedelta(seconds=1))
    later = add_key(keys, "new-gate", ["qr"], expires=utcnow() + timedelta(days=1))
    gone = add_key(keys, "gone", ["*"])
    revoke_keys(keys, source="gone")
    producer = FakeProducer()

    async def main() -> None:
        async with (
            serving(tmp_path, producer) as gw,
            httpx.AsyncClient(base_url=gw.url, timeout=10) as client,
        ):
            # No credentials, or ones that are not a key.
            for headers in (
                {},
                {"Authorization": "Bearer"},
                {"Authorization": "Basic Z2F0ZTpzZWNyZXQ="},
                {"Authorization": f"Bearer {gate[:-1]}"},
                {"X-API-Key": "wrong"},
                {"X-API-Key": hash_key(gate)},  # the stored hash is not a key
                {"Authorization": f"Bearer {gone}"},  # revoked
            ):
                r = await client.post("/v1/streams/qr/events", json=qr(), headers=headers)
                assert r.status_code == 401, headers
                assert r.json()["error"] == "unauthorized"
                assert r.headers["WWW-Authenticate"] == "Bearer"
            # Expired: told so, so that its owner knows to ask for a new one.
            r = await post(client, past, qr())
            assert (r.status_code, r.json()["error"]) == (401, "key_expired")
            assert (await post(client, later, qr())).status_code == 200
            # A valid key doing another component's job.
            for stream in ("traffic", "energy", "dossier"):
                r = await client.post(
                    f"/v1/streams/{stream}/events", json={}, headers={"X-API-Key": gate}
                )
                assert (r.status_code, r.json()["error"]) == (403, "forbidden"), stream
            r = await post(client, sensors, qr())
            assert (r.status_code, r.json()["error"]) == (403, "forbidden")
            # Writing as another source: refused (and dead-lettered), nothing written.
            before = len(producer.events)
            r = await post(client, gate, qr(source="sensors"))
            assert r.status_code == 422
            assert r.json()["errors"][0]["reason"] == "source_mismatch"
            assert len(producer.events) == before == 1
            assert sample(gw, "ioc_http_requests_total", route=ROUTE, status="401") == 8
            assert sample(gw, "ioc_http_requests_total", route=ROUTE, status="403") == 4

    asyncio.run(main())


def test_429_is_in_the_openapi_document(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient, key: str, _p: FakeProducer) -> None:
        doc = (await client.get("/openapi.json")).json()
        assert "429" in doc["paths"]["/v1/streams/qr/events"]["post"]["responses"]

    run(tmp_path, scenario)
