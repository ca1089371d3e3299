"""Where simulated events go: the small Output interface and its implementations.

An output receives already-validated, already-hashed events with the topic they belong
to. ``send`` may buffer; ``flush`` returns only when everything sent so far is
durable (on disk, acknowledged by Kafka); ``close`` flushes and releases. An output that
cannot deliver raises — the runner never drops an event silently. Outputs that go
through the real connectors (HTTP gateway, MQTT bridge, PostgreSQL outbox) implement
the same four methods; docs/simulator.md shows how.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from connectors.sources.producer import EventProducer
from schemas.base import Event


@runtime_checkable
class Output(Protocol):
    """The output side of the simulator."""

    async def start(self) -> None:
        """Connect or open; called once before the first send."""

    async def send(self, topic: str, event: Event) -> None:
        """Accept one event for ``topic`` (may buffer)."""

    async def flush(self) -> None:
        """Return when every event sent so far is delivered; raise if one cannot be."""

    async def close(self) -> None:
        """Flush, then release connections and files."""


class JsonlOutput:
    """One JSON Lines file per topic (``<dir>/<topic>.jsonl``), for the file connector and tests."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: dict[str, IO[bytes]] = {}

    async def start(self) -> None:
        """Create the directory."""
        self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, topic: str) -> Path:
        """The file of a topic."""
        return self.directory / f"{topic}.jsonl"

    async def send(self, topic: str, event: Event) -> None:
        """Append one event as a line of UTF-8 JSON."""
        fh = self._files.get(topic)
        if fh is None:
            # Truncate: a run writes its files whole, so two runs of a seed are comparable.
            fh = self._files[topic] = self.path(topic).open("wb", buffering=1 << 20)
        fh.write(event.to_json() + b"\n")

    async def flush(self) -> None:
        """Hand buffered lines to the operating system."""
        for fh in self._files.values():
            fh.flush()

    async def close(self) -> None:
        """Flush and close every file."""
        try:
            await self.flush()
        finally:
            for fh in self._files.values():
                fh.close()
            self._files.clear()


class KafkaOutput:
    """Straight to Kafka through :class:`EventProducer`: keyed by group, stamped with event time.

    Events are batched per topic and each batch is awaited before the next is sent, so
    records of one key stay in order and a failure surfaces at the batch that failed.
    The producer is made in ``start`` by ``make_producer``: aiokafka binds it to the
    running event loop.
    """

    def __init__(
        self,
        make_producer: Callable[[], EventProducer],
        *,
        batch_size: int = 2_000,
        topic_suffix: str = "",
    ) -> None:
        self._make_producer = make_producer
        self._producer: EventProducer | None = None
        self._batch_size = batch_size
        self._suffix = topic_suffix
        self._buffers: dict[str, list[Event]] = defaultdict(list)
        self.acknowledged: dict[str, int] = defaultdict(int)

    def topic(self, topic: str) -> str:
        """The topic actually written (with the test/staging suffix, if any)."""
        return f"{topic}{self._suffix}"

    async def start(self) -> None:
        """Connect the producer (ServiceUnavailableError when Kafka does not answer)."""
        producer = self._make_producer()
        await producer.start()
        self._producer = producer

    async def send(self, topic: str, event: Event) -> None:
        """Buffer; write the topic's batch when it is full."""
        buffer = self._buffers[topic]
        buffer.append(event)
        if len(buffer) >= self._batch_size:
            await self._write(topic)

    async def _write(self, topic: str) -> None:
        batch = self._buffers[topic]
        if not batch:
            return
        if self._producer is None:
            raise RuntimeError("KafkaOutput.start() was not called")
        # Cleared only after the acknowledgement: a failed batch stays visible to the caller.
        await self._producer.send_events(self.topic(topic), batch)
        self.acknowledged[self.topic(topic)] += len(batch)
        self._buffers[topic] = []

    async def flush(self) -> None:
        """Write every partial batch and wait for the acknowledgements."""
        for topic in list(self._buffers):
            await self._write(topic)

    async def close(self) -> None:
        """Flush, then stop the producer."""
        if self._producer is None:
            return
        try:
            await self.flush()
        finally:
            producer, self._producer = self._producer, None
            await producer.stop()


class MemoryOutput:
    """Keeps events in a list: for tests and for embedding the simulator in other code."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Event]] = []

    async def start(self) -> None:
        """Nothing to open."""

    async def send(self, topic: str, event: Event) -> None:
        """Remember the event."""
        self.events.append((topic, event))

    async def flush(self) -> None:
        """Nothing is buffered."""

    async def close(self) -> None:
        """Nothing to release."""
