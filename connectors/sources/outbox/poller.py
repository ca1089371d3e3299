"""Polls the dossier status history (the outbox) by id and writes it to Kafka.

Ids are allocated in order but committed out of order, so each poll re-reads rows
above ``last_id - overlap`` that are not in the seen-set (ids written within that
window). The position — last id, seen-set, Kafka end offsets — is saved after Kafka
acknowledged the batch; after a crash, the records written since the saved offsets
are read back and not written again (see position.py). On the very first start the
current state of every open dossier is emitted once (the snapshot).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Counter, Gauge

from connectors.sources.base import Connector
from connectors.sources.edge import EdgeValidator, TopicRoutes
from connectors.sources.link import KafkaLink
from connectors.sources.outbox import position as pos_store
from connectors.sources.outbox.position import KafkaTail, Position
from connectors.sources.outbox.rows import SOURCE, RowOutput, map_row
from connectors.sources.outbox.sql import (
    MAX_ID,
    OPEN_STATUSES,
    POLL,
    SNAPSHOT,
    WINDOW_IDS,
    HistoryRow,
)
from connectors.sources.producer import EventProducer
from schemas.errors import ServiceUnavailableError

log = logging.getLogger(__name__)
RETRYABLE = (psycopg.OperationalError, KafkaError, ServiceUnavailableError, TimeoutError)


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    conninfo: Mapping[str, Any]
    """psycopg connection keywords (host, port, user, password, dbname)."""
    schema: str = "public"
    position_schema: str = "ioc_connector"
    """Where the position table is: the one schema the poller's role may write."""
    consumer: str = "ioc-outbox"
    poll_interval_s: float = 1.0
    overlap_ids: int = 1_000
    batch_size: int = 500
    kafka_timeout_s: float = 30.0
    initial: Literal["snapshot", "history"] = "snapshot"
    """First start: emit open dossiers' current state, or replay the whole history table."""


class OutboxPoller(Connector):
    """Status-history rows -> ``ioc.dossier.status.v1``, without gaps or duplicates."""

    name = "outbox"

    def __init__(
        self,
        *,
        config: OutboxConfig,
        validator: EdgeValidator,
        routes: TopicRoutes,
        producer_factory: Callable[[], EventProducer],
        tail_factory: Callable[[], KafkaTail],
        registry: CollectorRegistry | None = None,
    ) -> None:
        super().__init__(registry)
        self.config = config
        self._validator = validator
        self._topic = routes.topic("dossier")
        self._deadletter = routes.deadletter
        self.link = KafkaLink(producer_factory, self.metrics.kafka_up)
        self._tail_factory = tail_factory
        self._tail: KafkaTail | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._written: set[str] = set()
        self._written_rows: set[int] = set()
        self.position: Position | None = None
        self.caught_up = asyncio.Event()
        reg = self.registry
        self.last_id = Gauge("ioc_outbox_last_id", "Highest history id written", registry=reg)
        self.lag_rows = Gauge("ioc_outbox_lag_rows", "Rows not yet written", registry=reg)
        self.late_rows = Counter(
            "ioc_outbox_late_rows", "Rows committed below the position (out of id order)",
            registry=reg,
        )  # fmt: skip
        self.snapshot_events = Counter(
            "ioc_outbox_snapshot_events", "Events of the first-start snapshot", registry=reg
        )
        self.errors = Counter(
            "ioc_outbox_errors", "Polls that failed and were retried", registry=reg
        )

    async def start(self) -> None:
        """Begin polling in the background (Kafka and PostgreSQL are retried until up)."""
        await self.link.start(wait=False)
        self._task = asyncio.create_task(self._run(), name="outbox-poller")

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the batch in hand (write, then save the position), then disconnect."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        await self._disconnect()
        await self.link.stop()

    async def wait(self) -> None:
        """Until the poller stops on its own (it only does on an unexpected error)."""
        if self._task is not None:
            # Shielded: a caller that stops waiting must not cancel the poller itself.
            await asyncio.shield(self._task)

    # --- the loop ------------------------------------------------------------------

    async def _run(self) -> None:
        delay = 0.5
        while not self._stopping.is_set():
            try:
                await self.link.wait_connected()
                await self._connect()
                assert self._conn is not None
                assert self._tail is not None
                self.position = await self._prepare(self._conn, self._tail)
                while not self._stopping.is_set():
                    if await self._poll_once(self._conn, self._tail) < self.config.batch_size:
                        self.caught_up.set()
                        await self._sleep(self.config.poll_interval_s)
                    delay = 0.5
            except RETRYABLE as exc:
                # Start over from the saved position: what reached Kafka is read back.
                self.errors.inc()
                self.link.report(ok=False)
                log.warning("outbox poll failed (%r); recovering in %.1f s", exc, delay)
                await self._disconnect()
                await self._sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _connect(self) -> None:
        self._conn = await psycopg.AsyncConnection.connect(
            **self.config.conninfo,
            autocommit=True,
            # Its own schema first: a stale position table an old version left beside the
            # dossier tables (init-db moves it, unless a new one already exists) must not
            # shadow the real one; the role cannot create anything there to shadow the rest.
            options=f"-c search_path={self.config.position_schema},{self.config.schema}",
        )
        self._tail = self._tail_factory()
        await self._tail.start()

    async def _disconnect(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                await self._conn.close()
            self._conn = None
        if self._tail is not None:
            with contextlib.suppress(KafkaError):
                await self._tail.stop()
            self._tail = None

    async def _prepare(self, conn: psycopg.AsyncConnection[Any], tail: KafkaTail) -> Position:
        topics = [self._topic, self._deadletter]
        position = await pos_store.load(conn, self.config.consumer)
        if position is None:
            # Offsets first, then the snapshot: whatever a crashed snapshot wrote lies
            # after these offsets and is found on the next start.
            position = Position(
                self.config.consumer,
                kafka_offsets=await tail.end_offsets(topics),
                snapshot_done=self.config.initial == "history",  # then poll from id 0
            )
            await pos_store.save(conn, position)
        written = await tail.written_since(
            position.kafka_offsets,
            event_topic=self._topic,
            deadletter_topic=self._deadletter,
            source=SOURCE,
        )
        self._written = set(written.event_ids)
        self._written_rows = set(written.dead_letter_rows)
        if not position.snapshot_done:
            await self._snapshot(conn, tail, position)
        self.last_id.set(position.last_id)
        return position

    async def _snapshot(
        self, conn: psycopg.AsyncConnection[Any], tail: KafkaTail, position: Position
    ) -> None:
        overlap = self.config.overlap_ids
        async with conn.transaction():
            # One consistent view: the open dossiers, and which ids existed then.
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            max_id = int((await (await conn.execute(MAX_ID)).fetchone() or (0,))[0])
            window = await conn.execute(WINDOW_IDS, {"low": max(0, max_id - overlap)})
            window_ids = {int(r[0]) for r in await window.fetchall()}
            cur = await conn.execute(SNAPSHOT, {"open": list(OPEN_STATUSES)})
            rows = [HistoryRow.from_record(r) for r in await cur.fetchall()]
        outputs = [map_row(r, self._validator, self._topic, snapshot=True) for r in rows]
        written = await self._emit(outputs)
        self.snapshot_events.inc(written)
        position.last_id = max(position.last_id, max_id)
        position.mark(window_ids, overlap)
        position.snapshot_done = True
        position.kafka_offsets = await tail.end_offsets([self._topic, self._deadletter])
        await pos_store.save(conn, position)
        log.info("snapshot: %d open dossiers written, position %d", written, max_id)

    async def _poll_once(self, conn: psycopg.AsyncConnection[Any], tail: KafkaTail) -> int:
        position = self.position
        assert position is not None
        overlap = self.config.overlap_ids
        cur = await conn.execute(
            POLL,
            {
                "low": position.low(overlap),
                "seen": sorted(position.seen_ids),
                "limit": self.config.batch_size,
            },
        )
        rows = [HistoryRow.from_record(r) for r in await cur.fetchall()]
        if not rows:
            max_id = int((await (await conn.execute(MAX_ID)).fetchone() or (0,))[0])
            self.lag_rows.set(max(0, max_id - position.last_id))
            return 0
        self.late_rows.inc(sum(1 for r in rows if r.id < position.last_id))
        await self._emit([map_row(r, self._validator, self._topic, snapshot=False) for r in rows])
        position.mark({r.id for r in rows}, overlap)
        position.kafka_offsets = await tail.end_offsets([self._topic, self._deadletter])
        await pos_store.save(conn, position)
        self.last_id.set(position.last_id)
        return len(rows)

    async def _emit(self, outputs: list[RowOutput]) -> int:
        """Write what was not written yet; return the number of events written."""
        events, letters, duplicates = [], [], 0
        for out in outputs:
            if out.letter is not None:
                if out.row_id in self._written_rows:
                    duplicates += 1
                else:
                    letters.append(out.letter)
            for event in out.events:
                if str(event.event_id) in self._written:
                    duplicates += 1
                else:
                    events.append(event)
        producer = self.link.producer
        with self.metrics.produce_seconds.time():
            async with asyncio.timeout(self.config.kafka_timeout_s):
                if events:
                    await producer.send_events(self._topic, events)
                if letters:
                    await producer.send_dead_letters(letters, self._deadletter)
        self.link.report(ok=True)
        self.metrics.count("dossier", "accepted", len(events))
        self.metrics.count("dossier", "duplicate", duplicates)
        self.metrics.count("dossier", "rejected", len(letters))
        for letter in letters:
            self.metrics.dead_lettered("dossier", letter.reason)
        return len(events)
