"""Small Kafka helpers the replay verbs share: partition offsets and a bounded reader.

The reader is kafka-python's synchronous consumer with manual assignment and no group:
a replay reads fixed offset ranges and must not commit anything or join any group.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec, OffsetTimestamp

from ioc.kafka_client import kafka_client_options
from ioc.ops.replay.times import ReplayUsageError
from ioc.settings import Settings


@dataclass(frozen=True, slots=True)
class Span:
    """Offsets [start, stop) of one partition."""

    partition: int
    start: int
    stop: int

    @property
    def size(self) -> int:
        """Records in the span (control records included)."""
        return max(0, self.stop - self.start)


@dataclass(frozen=True, slots=True)
class Message:
    """One record as read, with everything a copy must keep."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


def partitions_of(admin: KafkaAdminClient, topic: str) -> list[int]:
    """The topic's partition numbers; a missing topic is a usage error, not a crash."""
    if topic not in set(admin.list_topics()):
        raise ReplayUsageError(f"topic {topic!r} does not exist")
    described = admin.describe_topics([topic])
    return sorted(int(p["partition_index"]) for p in described[0]["partitions"])


def _lookup(
    admin: KafkaAdminClient, topic: str, partitions: list[int], spec: object
) -> dict[int, int]:
    found = admin.list_partition_offsets({TopicPartition(topic, p): spec for p in partitions})
    return {tp.partition: int(v.offset) for tp, v in found.items()}


def earliest(admin: KafkaAdminClient, topic: str, partitions: list[int]) -> dict[int, int]:
    """First retained offset per partition."""
    return _lookup(admin, topic, partitions, OffsetSpec.EARLIEST)


def latest(admin: KafkaAdminClient, topic: str, partitions: list[int]) -> dict[int, int]:
    """End offset (next to be written) per partition."""
    return _lookup(admin, topic, partitions, OffsetSpec.LATEST)


def at_time(
    admin: KafkaAdminClient, topic: str, partitions: list[int], ts_ms: int
) -> dict[int, int]:
    """First offset whose record timestamp is ≥ ``ts_ms``; the end offset when none is."""
    found = _lookup(admin, topic, partitions, OffsetTimestamp(ts_ms))
    missing = [p for p, o in found.items() if o < 0]
    if missing:
        found.update(latest(admin, topic, missing))
    return found


def spans(admin: KafkaAdminClient, topic: str, start_ms: int | None, stop_ms: int) -> list[Span]:
    """Per partition, the offsets from ``start_ms`` (None: earliest) up to ``stop_ms``.

    Offsets come from the broker's time index (ListOffsets by timestamp), which finds
    the first record at or after a time. Records are in the log in arrival order, so
    a late record just before the start offset is outside; the rebuild starts early
    enough for that not to matter, and a copy says what it skipped in its summary.
    """
    parts = partitions_of(admin, topic)
    first = earliest(admin, topic, parts)
    lo = first if start_ms is None else at_time(admin, topic, parts, start_ms)
    hi = at_time(admin, topic, parts, stop_ms)
    return [Span(p, max(lo[p], first[p]), max(hi[p], lo[p], first[p])) for p in parts]


def consumer(settings: Settings, client_id: str) -> KafkaConsumer:
    """A group-less consumer: reads assigned offsets, never commits."""
    return KafkaConsumer(
        **kafka_client_options(settings),
        client_id=client_id,
        group_id=None,
        enable_auto_commit=False,
        request_timeout_ms=max(settings.request_timeout_ms, 10_001),
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )


def read(
    kafka: KafkaConsumer, topic: str, ranges: Mapping[int, Span], *, poll_ms: int = 500
) -> Iterator[list[Message]]:
    """Batches of records of ``topic`` in offset order per partition, each within its span.

    A partition stops once its span is read; a span whose records are gone (retention,
    or compaction gaps) ends at the first offset past it, never waits forever.
    """
    todo = {p: s for p, s in ranges.items() if s.size > 0}
    if not todo:
        return
    tps = {p: TopicPartition(topic, p) for p in todo}
    kafka.assign(list(tps.values()))
    for p, first in todo.items():
        kafka.seek(tps[p], first.start)
    while todo:
        polled = kafka.poll(timeout_ms=poll_ms, max_records=5_000)
        for tp, records in polled.items():
            span = todo.get(tp.partition)
            if span is None:
                continue
            batch = [
                Message(
                    topic=r.topic,
                    partition=r.partition,
                    offset=r.offset,
                    timestamp_ms=r.timestamp,
                    key=r.key,
                    value=r.value,
                    headers=tuple((k, v or b"") for k, v in (r.headers or ())),
                )
                for r in records
                if r.offset < span.stop
            ]
            if batch:
                yield batch
            if records and records[-1].offset + 1 >= span.stop:
                del todo[tp.partition]
                kafka.pause(tp)
        for p, span in list(todo.items()):
            # A compacted or trimmed log may end the span before its last offset.
            if kafka.position(tps[p]) >= span.stop:
                del todo[p]
                kafka.pause(tps[p])
