"""Where the poller is: its row in PostgreSQL, and the Kafka tail written since.

The position row is updated only after Kafka acknowledged a batch, so a crash can
leave records in Kafka that the row does not know about. The row therefore also
stores the topics' end offsets at its last update; on restart the records after
them are read back, and their event ids are not written again. That closes the one
window a plain "position after ack" leaves open, without Kafka transactions.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from schemas.errors import ServiceUnavailableError

Offsets = dict[str, dict[str, int]]
"""topic -> partition (as text, JSON keys) -> next offset."""


@dataclass(slots=True)
class Position:
    consumer: str
    last_id: int = 0
    seen_ids: set[int] = field(default_factory=set)
    kafka_offsets: Offsets = field(default_factory=dict)
    snapshot_done: bool = False

    def low(self, overlap: int) -> int:
        """Rows above this id are (re-)read; below it they are settled."""
        return max(0, self.last_id - overlap)

    def mark(self, ids: set[int], overlap: int) -> None:
        """Rows written; the seen-set keeps only the overlap window, so it stays bounded."""
        if ids:
            self.last_id = max(self.last_id, max(ids))
        low = self.low(overlap)
        self.seen_ids = {i for i in self.seen_ids | ids if i > low}


async def load(conn: psycopg.AsyncConnection[Any], consumer: str) -> Position | None:
    """The stored position, or None on the very first start."""
    cur = await conn.execute(
        "SELECT last_id, seen_ids, kafka_offsets, snapshot_done FROM ioc_outbox_position "
        "WHERE consumer = %s",
        (consumer,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    last_id, seen, offsets, done = row
    return Position(consumer, int(last_id), set(seen), dict(offsets), bool(done))


async def save(conn: psycopg.AsyncConnection[Any], position: Position) -> None:
    """Upsert the position (autocommit: one statement is its own transaction)."""
    await conn.execute(
        """
        INSERT INTO ioc_outbox_position
            (consumer, last_id, seen_ids, kafka_offsets, snapshot_done, updated_at)
        VALUES (%s, %s, %s, %s, %s, now())
        ON CONFLICT (consumer) DO UPDATE SET
            last_id = EXCLUDED.last_id, seen_ids = EXCLUDED.seen_ids,
            kafka_offsets = EXCLUDED.kafka_offsets, snapshot_done = EXCLUDED.snapshot_done,
            updated_at = EXCLUDED.updated_at
        """,
        (
            position.consumer,
            position.last_id,
            sorted(position.seen_ids),
            orjson.dumps(position.kafka_offsets).decode(),
            position.snapshot_done,
        ),
    )


@dataclass(frozen=True, slots=True)
class Written:
    """What the Kafka tail shows this connector already wrote."""

    event_ids: frozenset[str]
    dead_letter_rows: frozenset[int]


class KafkaTail:
    """End offsets of our topics, and a read-back of what came after stored offsets."""

    def __init__(
        self, kafka: Mapping[str, Any], *, client_id: str, timeout_s: float = 60.0
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            **kafka,
            client_id=client_id,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        # The consumer only knows topics it subscribed to; the admin client describes any.
        self._admin = AIOKafkaAdminClient(**kafka, client_id=client_id)
        self._timeout = timeout_s
        self._known: dict[str, list[TopicPartition]] = {}

    async def start(self) -> None:
        """Connect; ServiceUnavailableError when Kafka does not answer."""
        try:
            await self._consumer.start()
            await self._admin.start()
        except KafkaError as exc:
            raise ServiceUnavailableError(f"Kafka unavailable: {exc}") from exc

    async def stop(self) -> None:
        """Disconnect."""
        await self._consumer.stop()
        await self._admin.close()

    async def _partitions(self, topics: list[str]) -> list[TopicPartition]:
        # Partition counts of source topics are fixed (keys would move otherwise), so a
        # topic once described is cached; only a topic not seen yet is looked up again.
        if any(t not in self._known for t in topics):
            # Every topic's metadata (None): naming ours could auto-create them with the
            # broker's default partition count before the producer's first write.
            for entry in await self._admin.describe_topics(None):
                if entry["topic"] in topics and entry["error_code"] == 0:
                    self._known[entry["topic"]] = sorted(
                        TopicPartition(entry["topic"], p["partition"]) for p in entry["partitions"]
                    )
        return [tp for t in topics for tp in self._known.get(t, [])]

    async def end_offsets(self, topics: list[str]) -> Offsets:
        """Next offset of every partition of ``topics`` (missing topics: none)."""
        tps = await self._partitions(topics)
        ends = await self._consumer.end_offsets(tps) if tps else {}
        out: Offsets = {}
        for tp, offset in ends.items():
            out.setdefault(tp.topic, {})[str(tp.partition)] = int(offset)
        return out

    async def written_since(
        self, offsets: Offsets, *, event_topic: str, deadletter_topic: str, source: str
    ) -> Written:
        """Event ids and dead-lettered rows this source wrote after ``offsets``.

        A partition without a stored offset is read from its beginning: it did not
        exist (or was empty) when the offsets were stored.
        """
        tps = await self._partitions([event_topic, deadletter_topic])
        if not tps:
            return Written(frozenset(), frozenset())
        ends = await self._consumer.end_offsets(tps)
        self._consumer.assign(tps)
        pending = set()
        for tp in tps:
            start = offsets.get(tp.topic, {}).get(str(tp.partition))
            if start is None:
                await self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, start)
            if ends[tp] > (start or 0):
                pending.add(tp)
        event_ids: set[str] = set()
        rows: set[int] = set()
        deadline = time.monotonic() + self._timeout
        while pending:
            if time.monotonic() > deadline:
                raise ServiceUnavailableError("reading back the Kafka tail timed out")
            batches = await self._consumer.getmany(timeout_ms=500)
            for tp, records in batches.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        continue
                    _collect(record.value, tp.topic == event_topic, source, event_topic,
                             event_ids, rows)  # fmt: skip
            for tp in list(pending):
                if await self._consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        # Paused, not unsubscribed: aiokafka's fetcher fails once its subscription is gone.
        self._consumer.pause(*tps)
        return Written(frozenset(event_ids), frozenset(rows))


def _collect(
    value: bytes | None,
    is_event: bool,
    source: str,
    event_topic: str,
    event_ids: set[str],
    rows: set[int],
) -> None:
    if value is None:
        return
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError:
        return  # not ours: every record we write is JSON
    if not isinstance(data, dict):
        return
    if is_event and data.get("source") == source and "event_id" in data:
        event_ids.add(str(data["event_id"]))
    elif (
        not is_event
        and data.get("producer") == source
        and data.get("source_topic") == event_topic
        and isinstance(data.get("offset"), int)
    ):
        rows.add(data["offset"])
