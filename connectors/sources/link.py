"""A Kafka producer that connects in the background and says whether it is ready.

Sources must not be refused because Kafka was down when the connector started: the
gateway answers 503 + Retry-After meanwhile, the MQTT bridge simply does not
acknowledge, and both start writing once the producer is connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from prometheus_client import Gauge

from connectors.sources.producer import EventProducer
from schemas.errors import ServiceUnavailableError

log = logging.getLogger(__name__)


class KafkaLink:
    """Owns one EventProducer; retries the connection with capped exponential backoff."""

    def __init__(
        self,
        factory: Callable[[], EventProducer],
        up_gauge: Gauge,
        *,
        backoff_min_s: float = 0.5,
        backoff_max_s: float = 10.0,
    ) -> None:
        self._factory = factory
        self._up = up_gauge
        self._backoff = (backoff_min_s, backoff_max_s)
        self._producer: EventProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._last_write_ok = True

    @property
    def ready(self) -> bool:
        """True once the producer is connected."""
        return self._producer is not None

    @property
    def healthy(self) -> bool:
        """Connected, and the last write was acknowledged."""
        return self.ready and self._last_write_ok

    def report(self, *, ok: bool) -> None:
        """Record the outcome of a write (health and the kafka_up gauge follow it)."""
        self._last_write_ok = ok
        self._up.set(1 if self.healthy else 0)

    @property
    def producer(self) -> EventProducer:
        """The connected producer; ServiceUnavailableError while there is none."""
        if self._producer is None:
            raise ServiceUnavailableError("Kafka is not connected yet")
        return self._producer

    async def _connect_once(self) -> bool:
        producer = self._factory()
        try:
            await producer.start()
        except ServiceUnavailableError as exc:
            log.warning("Kafka not reachable yet: %s", exc)
            # A half-started aiokafka producer still holds sockets and tasks.
            with contextlib.suppress(Exception):
                await producer.stop()
            return False
        self._producer = producer
        self._up.set(1)
        self._connected.set()
        return True

    async def _retry(self) -> None:
        delay = self._backoff[0]
        while not await self._connect_once():
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff[1])

    async def start(self, *, wait: bool) -> None:
        """Connect now; with ``wait=False`` a failure leaves a background retry running."""
        self._up.set(0)
        if await self._connect_once():
            return
        if wait:
            raise ServiceUnavailableError("Kafka is unavailable")
        self._task = asyncio.create_task(self._retry(), name="kafka-link-retry")

    async def wait_connected(self) -> None:
        """Block until the producer is connected."""
        await self._connected.wait()

    async def stop(self) -> None:
        """Cancel a pending retry, flush and close the producer."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        self._up.set(0)
