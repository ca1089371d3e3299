"""Many small records to Kafka at once: results and changelog writes of a batch.

A worker writes several records per event (windows, event ids, results). Sent one
``send()`` at a time, aiokafka's per-record bookkeeping cost more than the KPI maths;
here records are packed into one ``BatchBuilder`` per topic-partition, in order, and
the batch's delivery is awaited as a whole. Keyed records go where Kafka's default
partitioner (murmur2) would put them, so results stay readable by key.

Its own producer (acks=all, idempotent): every send is awaited before the source
records are acked, so faust's flush-before-commit is not needed for these.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError

from schemas.errors import IocError
from streams import murmur

STOP_DEADLINE_S = 5.0
MAX_BATCH_BYTES = 512 * 1024
MAX_RECORD_BYTES = 1_000_000
"""Kafka's default ``max.message.bytes`` (1 MiB + 12) less headroom for the batch header."""


class RecordTooLargeError(IocError):
    """A record the broker would refuse: retrying cannot help, so it must not be retried."""


@dataclass(frozen=True, slots=True)
class OutRecord:
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int | None = None
    timestamp_ms: int | None = None


class BatchSender:
    """An idempotent producer that sends lists of records as few batches."""

    def __init__(
        self, kafka: Mapping[str, Any], *, client_id: str, request_timeout_ms: int
    ) -> None:
        self._options = {
            **kafka,
            "client_id": client_id,
            "acks": "all",
            "enable_idempotence": True,
            "max_batch_size": MAX_BATCH_BYTES,
            "request_timeout_ms": request_timeout_ms,
        }
        self._producer_or_none: AIOKafkaProducer | None = None
        self._start_deadline_s = 3 * request_timeout_ms / 1000
        self._partitions: dict[str, int] = {}
        self._lock = asyncio.Lock()  # four agents may start it at once

    @property
    def _producer(self) -> AIOKafkaProducer:
        assert self._producer_or_none is not None, "start() first"
        return self._producer_or_none

    async def start(self) -> None:
        """Connect (once; later calls return at once). Needs the running loop.

        Bounded: an idempotent producer's start waits for a producer id, and aiokafka
        retries "coordinator not available / loading" for it silently and forever while
        holding every agent's sends behind this lock. Past the deadline the producer is
        dropped and :class:`KafkaTimeoutError` raised: the caller retries, loudly, with a
        new one.
        """
        async with self._lock:
            if self._producer_or_none is None:
                producer = AIOKafkaProducer(**self._options)
                try:
                    await asyncio.wait_for(producer.start(), self._start_deadline_s)
                except TimeoutError:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(producer.stop(), STOP_DEADLINE_S)
                    raise KafkaTimeoutError(
                        f"results producer not started within {self._start_deadline_s:.0f} s "
                        "(no producer id from the broker)"
                    ) from None
                self._producer_or_none = producer

    async def stop(self) -> None:
        """Flush and disconnect."""
        if self._producer_or_none is not None:
            producer, self._producer_or_none = self._producer_or_none, None
            await producer.stop()

    async def _partition(self, record: OutRecord) -> int:
        if record.partition is not None:
            return record.partition
        count = self._partitions.get(record.topic)
        if count is None:
            count = len(await self._producer.partitions_for(record.topic))
            self._partitions[record.topic] = count
        if record.key is None:
            return 0
        return murmur.partition_of(record.key, count)

    async def send(self, records: Sequence[OutRecord]) -> None:
        """Send in order per topic-partition and wait until all are acknowledged."""
        if not records:
            return
        for record in records:
            size = len(record.key or b"") + len(record.value or b"")
            if size > MAX_RECORD_BYTES:
                # aiokafka would put it alone in a batch and the broker would refuse it
                # (MessageSizeTooLarge, then OutOfOrderSequenceNumber on every retry).
                raise RecordTooLargeError(
                    f"a {size}-byte record for {record.topic} "
                    f"(key {(record.key or b'')[:80]!r}) exceeds {MAX_RECORD_BYTES} bytes"
                )
        await self.start()
        grouped: dict[tuple[str, int], list[OutRecord]] = {}
        for record in records:
            grouped.setdefault((record.topic, await self._partition(record)), []).append(record)
        futures = []
        for (topic, partition), rows in grouped.items():
            batch = self._producer.create_batch()
            for row in rows:
                if batch.append(key=row.key, value=row.value, timestamp=row.timestamp_ms) is None:
                    futures.append(
                        await self._producer.send_batch(batch, topic, partition=partition)
                    )
                    batch = self._producer.create_batch()
                    if (
                        batch.append(key=row.key, value=row.value, timestamp=row.timestamp_ms)
                        is None
                    ):
                        raise ValueError(
                            f"a record for {topic} is larger than {MAX_BATCH_BYTES} bytes"
                        )
            if batch.record_count():
                futures.append(await self._producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*futures)
