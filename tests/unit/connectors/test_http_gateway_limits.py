"""The gateway's per-key limits (429), key reloads and cache budget, with a stand-in producer."""

from __future__ import annotations

import asyncio
import os
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
    Clock,
    FakeProducer,
    post,
    qr,
    run,
    sample,
    serving,
)

pytestmark = pytest.mark.unit


def test_rate_limit_per_key_is_429_with_retry_after(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    fast = add_key(keys, "gate-1", ["qr"])
    slow = add_key(keys, "gate-2", ["qr"], rate=0.25, burst=1)  # its own limits win
    clock = Clock()

    async def main() -> None:
        async with (
            serving(tmp_path, clock=clock, rate_per_key=2.0, burst_per_key=3) as gw,
            httpx.AsyncClient(base_url=gw.url, timeout=10) as client,
        ):
            assert [(await post(client, fast, qr())).status_code for _ in range(3)] == [200] * 3
            r = await post(client, fast, qr())
            assert r.status_code == 429
            assert r.headers["Retry-After"] == "1"  # 0.5 s rounded up
            assert r.json()["error"] == "rate_limited"
            assert (await post(client, slow, qr())).status_code == 200  # another key's bucket
            r = await post(client, slow, qr())
            assert (r.status_code, r.headers["Retry-After"]) == (429, "4")
            clock.t += 0.5
            assert (await post(client, fast, qr())).status_code == 200
            assert (await post(client, fast, qr())).status_code == 429
            # Checked after the key: an unknown key is 401, never 429.
            assert (await post(client, "wrong", qr())).status_code == 401
            assert sample(gw, "ioc_http_throttled_total", source="gate-1", reason="rate") == 2
            assert sample(gw, "ioc_http_throttled_total", source="gate-2", reason="rate") == 1
            assert sample(gw, "ioc_http_requests_total", route=ROUTE, status="429") == 3
            metrics = (await client.get("/metrics")).text
            assert 'ioc_http_throttled_total{reason="rate",source="gate-1"} 2.0' in metrics

    asyncio.run(main())


def test_requests_in_flight_are_capped_per_key_and_always_released(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    key = add_key(keys, "gate-1", ["qr"])
    other = add_key(keys, "gate-2", ["qr"])

    async def main() -> None:
        gate = asyncio.Event()
        async with (
            serving(tmp_path, FakeProducer(gate=gate), max_in_flight_per_key=2) as gw,
            httpx.AsyncClient(base_url=gw.url, timeout=10) as client,
        ):
            slow = [asyncio.create_task(post(client, key, qr())) for _ in range(2)]
            for _ in range(500):  # until both are inside, waiting for the "broker"
                if gw.limiter.in_flight(hash_key(key)) == 2:
                    break
                await asyncio.sleep(0.01)
            r = await post(client, key, qr())
            assert (r.status_code, r.headers["Retry-After"]) == (429, "1")
            assert r.json()["error"] == "too_many_in_flight"
            other_one = asyncio.create_task(post(client, other, qr()))  # not held back
            await asyncio.sleep(0.05)
            gate.set()
            assert [r.status_code for r in await asyncio.gather(*slow, other_one)] == [200] * 3
            assert gw.limiter.in_flight(hash_key(key)) == 0
            assert (await post(client, key, qr())).status_code == 200
            assert sample(gw, "ioc_http_throttled_total", source="gate-1", reason="in_flight") == 1

    asyncio.run(main())


def test_a_failing_request_gives_its_slot_back(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient, key: str, _p: FakeProducer) -> None:
        for _ in range(3):  # the handler raises: 500, and the one slot is free again
            assert (await post(client, key, qr())).status_code == 500

    run(tmp_path, scenario, FakeProducer(fail=RuntimeError("bug")), max_in_flight_per_key=1)

    async def kafka_down(client: httpx.AsyncClient, key: str, _p: FakeProducer) -> None:
        for _ in range(3):
            assert (await post(client, key, qr())).status_code == 503

    run(tmp_path, kafka_down, FakeProducer(fail=KafkaTimeoutError()), max_in_flight_per_key=1)


def test_keys_file_changes_apply_without_a_restart(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    first = add_key(keys, "gate-1", ["qr"])
    clock = Clock()

    async def main() -> None:
        async with (
            serving(tmp_path, clock=clock) as gw,
            httpx.AsyncClient(base_url=gw.url, timeout=10) as client,
        ):
            assert (await post(client, first, qr())).status_code == 200
            second = add_key(keys, "gate-2", ["qr"])
            clock.t += 1.0
            assert (await post(client, second, qr())).status_code == 200  # new key accepted
            revoke_keys(keys, source="gate-1")
            assert (await post(client, first, qr())).status_code == 200  # within the second
            clock.t += 1.0
            assert (await post(client, first, qr())).status_code == 401  # revoked
            mtime = keys.stat().st_mtime_ns
            keys.write_bytes(b'{"keys": [{"source": "x"}]}')  # in place: same inode
            os.utime(keys, ns=(mtime + 10**9, mtime + 10**9))  # coarse clocks: differ anyway
            clock.t += 1.0
            assert (await post(client, second, qr())).status_code == 200  # old keys stay
            assert sample(gw, "ioc_http_api_keys_stale") == 1
            soon = utcnow() + timedelta(milliseconds=300)
            add_key(keys.with_name("next.json"), "gate-2", ["qr"])  # keep gate-2, expiring
            entries = orjson.loads(keys.with_name("next.json").read_bytes())["keys"]
            entries[0]["sha256"] = hash_key(second)
            entries[0]["expires"] = soon.isoformat()
            keys.with_name("next.json").write_bytes(orjson.dumps({"keys": entries}))
            keys.with_name("next.json").replace(keys)
            clock.t += 1.0
            assert (await post(client, second, qr())).status_code == 200
            await asyncio.sleep(0.4)
            r = await post(client, second, qr())
            assert (r.status_code, r.json()["error"]) == (401, "key_expired")
            assert sample(gw, "ioc_http_key_reloads_total", outcome="ok") == 3
            assert sample(gw, "ioc_http_key_reloads_total", outcome="error") == 1
            assert sample(gw, "ioc_http_api_keys") == 1
            assert sample(gw, "ioc_http_api_keys_stale") == 0

    asyncio.run(main())


def test_idempotency_cache_bytes_are_a_gauge(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient, key: str, _p: FakeProducer) -> None:
        metrics = (await client.get("/metrics")).text
        assert "ioc_http_idempotency_cache_bytes 0.0" in metrics
        await post(client, key, [qr(), qr()], Idempotency_Key="a")
        await post(client, key, [qr()], Idempotency_Key="b")
        metrics = (await client.get("/metrics")).text
        assert "ioc_http_idempotency_cache_entries 1.0" in metrics  # the budget holds one
        assert "ioc_http_idempotency_cache_bytes 0.0" not in metrics

    run(tmp_path, scenario, idempotency_cache_bytes=1_000)
