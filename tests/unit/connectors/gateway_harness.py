"""A gateway with a stand-in producer (no Kafka) on 127.0.0.1, for the unit tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from connectors.sources.edge import EdgeValidator, TimePolicy, TopicRoutes
from connectors.sources.http.gateway import GatewayConfig, HttpGateway
from connectors.sources.http.keys import KeyStore, add_key
from schemas.errors import ServiceUnavailableError
from schemas.privacy import PiiHasher
from schemas.timeutil import utcnow

ROUTE = "/v1/streams/{stream}/events"


class FakeProducer:
    def __init__(
        self,
        *,
        refuse: bool = False,
        fail: Exception | None = None,
        gate: asyncio.Event | None = None,
    ) -> None:
        self.refuse, self.fail, self.gate = refuse, fail, gate
        self.events: list[tuple[str, Any]] = []
        self.letters: list[tuple[str, Any]] = []

    async def start(self) -> None:
        if self.refuse:
            raise ServiceUnavailableError("no broker")

    async def stop(self) -> None:
        return None

    async def send_events(self, topic: str, events: list[Any]) -> list[Any]:
        if self.gate is not None:  # a slow broker: held until the test opens the gate
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        self.events += [(topic, e) for e in events]
        return []

    async def send_dead_letters(self, letters: list[Any], topic: str) -> list[Any]:
        if self.fail is not None:
            raise self.fail
        self.letters += [(topic, letter) for letter in letters]
        return []


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


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


@asynccontextmanager
async def serving(
    tmp_path: Path,
    producer: FakeProducer | None = None,
    clock: Clock | None = None,
    **cfg: Any,
) -> AsyncIterator[HttpGateway]:
    """A started gateway on 127.0.0.1:<free port>, its keys in tmp_path/keys.json."""
    producer = producer or FakeProducer()
    gateway = HttpGateway(
        config=GatewayConfig(port=0, **cfg),
        keys=KeyStore.load(tmp_path / "keys.json", clock=clock or time.monotonic),
        validator=EdgeValidator(
            PiiHasher(b"k", "k1"), TimePolicy(timedelta(minutes=5), timedelta(days=30))
        ),
        routes=TopicRoutes.default(".unit"),
        producer_factory=lambda: producer,  # type: ignore[arg-type,return-value]
        clock=clock or time.monotonic,
    )
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()


def run(
    tmp_path: Path, scenario: Scenario, producer: FakeProducer | None = None, **cfg: Any
) -> None:
    producer = producer or FakeProducer()
    raw = add_key(tmp_path / "keys.json", "gate-1", ["qr"])

    async def main() -> None:
        async with (
            serving(tmp_path, producer, **cfg) as gateway,
            httpx.AsyncClient(base_url=gateway.url, timeout=10) as client,
        ):
            await scenario(client, raw, producer)

    asyncio.run(main())


async def post(
    client: httpx.AsyncClient, key: str | None, body: Any, **headers: str
) -> httpx.Response:
    hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
    if key is not None:
        hdrs["Authorization"] = f"Bearer {key}"
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return await client.post("/v1/streams/qr/events", content=content, headers=hdrs)


def sample(gateway: HttpGateway, name: str, **labels: str) -> float:
    return gateway.registry.get_sample_value(name, labels) or 0.0
