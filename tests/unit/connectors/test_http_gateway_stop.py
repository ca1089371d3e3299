"""The gateway's stop (SIGTERM): a request in its Kafka write is drained and answered; one
still uploading its body does not hold the process past its drain time."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.sources.http.keys import add_key
from tests.unit.connectors.gateway_harness import FakeProducer, post, qr, serving

pytestmark = pytest.mark.unit

KAFKA_TIMEOUT_S = 0.5


class Entered(FakeProducer):
    """A slow broker that says when a write reached it."""

    def __init__(self) -> None:
        super().__init__(gate=asyncio.Event())
        self.entered = asyncio.Event()

    async def send_events(self, topic: str, events: list[Any]) -> list[Any]:
        self.entered.set()
        return await super().send_events(topic, events)


def test_a_request_in_its_kafka_write_at_stop_is_answered(tmp_path: Path) -> None:
    key = add_key(tmp_path / "keys.json", "gate-1", ["qr"])
    producer = Entered()

    async def main() -> tuple[int, int]:
        async with (
            serving(tmp_path, producer, kafka_timeout_s=5.0) as gateway,
            httpx.AsyncClient(base_url=gateway.url, timeout=10) as client,
        ):
            request = asyncio.ensure_future(post(client, key, [qr()]))
            await asyncio.wait_for(producer.entered.wait(), 5)
            stopping = asyncio.ensure_future(gateway.stop())
            await asyncio.sleep(0.2)  # the stop has begun: the listener is closed
            assert producer.gate is not None
            producer.gate.set()
            response = await asyncio.wait_for(request, 5)
            await asyncio.wait_for(stopping, 5)
            return response.status_code, len(producer.events)

    assert asyncio.run(main()) == (200, 1)


def test_a_request_still_uploading_at_stop_does_not_hold_the_stop(tmp_path: Path) -> None:
    key = add_key(tmp_path / "keys.json", "gate-1", ["qr"])

    async def main() -> float:
        async with serving(tmp_path, kafka_timeout_s=KAFKA_TIMEOUT_S) as gateway:
            _reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
            # Headers and a tenth of the body: the handler starts and waits for the rest.
            writer.write(
                b"POST /v1/streams/qr/events HTTP/1.1\r\nHost: x\r\n"
                + f"Authorization: Bearer {key}\r\n".encode()
                + b"Content-Length: 100\r\n\r\n0123456789"
            )
            await writer.drain()
            await asyncio.sleep(0.2)
            began = time.monotonic()
            # aiohttp's default would wait 60 s for a body it no longer reads.
            await asyncio.wait_for(gateway.stop(), 10)
            took = time.monotonic() - began
            writer.close()
            return took

    assert asyncio.run(main()) <= KAFKA_TIMEOUT_S + 1.5
