"""The sink process: consume, buffer, write, then commit — and survive ClickHouse outages.

Ordering that makes it exactly-once in effect:
  1. records are decoded into rows and buffered with the offsets they cover;
  2. a flush inserts every table (one columnar insert each);
  3. only then are the covered offsets committed.
A crash between 2 and 3 re-delivers records that are already written; the tables'
keys collapse them. When ClickHouse fails, the batch is kept, the partitions are
paused and the consumer keeps polling — so the group does not rebalance and Kafka
keeps the data — until a retry with backoff succeeds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from connectors.sinks.clickhouse.batch import Batch
from connectors.sinks.clickhouse.corrections import StoredRows, key_of, resolve
from connectors.sinks.clickhouse.erasure import ErasureRegister, keep
from connectors.sinks.clickhouse.metrics import SinkMetrics
from connectors.sinks.clickhouse.rows import (
    EVENT_TABLES,
    Origin,
    Row,
    deadletter_row,
    kpi_row,
    rows_for,
)
from connectors.sinks.clickhouse.writer import OutageError, Rejected, TableWriter
from schemas.base import Contract
from schemas.codec import decode
from schemas.errors import ContractError
from schemas.privacy import MAX_PAYLOAD, mask_error, mask_key, mask_payload, mask_text
from schemas.results import DeadLetter, Domain, KpiRecord
from schemas.timeutil import utcnow
from schemas.topics import CONTROL_HEADER

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SinkConfig:
    kafka: Mapping[str, Any]
    """Client options: bootstrap_servers and the security settings (TLS, SASL)."""
    group_id: str
    batch_max_rows: int = 50_000
    batch_max_age_s: float = 1.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 10.0
    session_timeout_ms: int = 30_000
    max_poll_interval_ms: int = 300_000
    client_id: str = "ioc-sink"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class _Revocations(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, sink: ClickHouseSink) -> None:
        self.sink = sink

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        if not revoked:  # called with nothing on the first join
            return
        self.sink.revocations += 1
        log.warning("partitions revoked (rebalance): %s", revoked)
        await self.sink.flush_before_revoke({(tp.topic, tp.partition) for tp in revoked})

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.sink.assignments += 1
        log.info("partitions assigned: %d", len(assigned))


class ClickHouseSink:
    """Kafka topics → ClickHouse tables, batched by size or time."""

    def __init__(
        self,
        config: SinkConfig,
        writer: TableWriter,
        topics: Mapping[str, type[Contract]],
        metrics: SinkMetrics,
    ) -> None:
        self.config = config
        self.writer = writer
        self.stored = StoredRows(writer.client, writer.database)
        self.register = ErasureRegister(writer.client, writer.database)
        self.topics = dict(topics)
        self.metrics = metrics
        self.batch = Batch()
        self.revocations = 0
        self.assignments = 0
        self._retry_at = 0.0
        self._backoff = config.backoff_initial_s
        self._paused = False
        self._last_write_ok = True
        self._inflight: asyncio.Future[None] | None = None
        self._inflight_batch: Batch | None = None
        self._pending: Batch | None = None
        self._stopping = asyncio.Event()
        self.committed: dict[tuple[str, int], int] = {}
        self._consumer: AIOKafkaConsumer | None = None

    @property
    def consumer(self) -> AIOKafkaConsumer:
        """The Kafka consumer (created in :meth:`start`, inside the event loop)."""
        if self._consumer is None:
            raise RuntimeError("sink not started")
        return self._consumer

    async def start(self) -> None:
        """Connect and subscribe."""
        config = self.config
        self._consumer = AIOKafkaConsumer(
            **config.kafka,
            group_id=config.group_id,
            client_id=config.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=config.session_timeout_ms,
            heartbeat_interval_ms=max(1_000, config.session_timeout_ms // 3),
            max_poll_interval_ms=config.max_poll_interval_ms,
        )
        await self.consumer.start()
        self.consumer.subscribe(list(self.topics), listener=_Revocations(self))

    @property
    def healthy(self) -> bool:
        """Consuming, and ClickHouse took the last write (no failed batch waiting)."""
        return self._consumer is not None and self._last_write_ok and not self._stopping.is_set()

    def request_stop(self) -> None:
        """Ask the loop to finish its current step, flush and return."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume until asked to stop; flush what is buffered on the way out."""
        try:
            while not self._stopping.is_set():
                await self.step()
            await self.drain()
        finally:
            await self.consumer.stop()

    @property
    def idle(self) -> bool:
        """Nothing buffered, nothing being written, nothing waiting for a retry."""
        return (
            self._inflight is None
            and self._pending is None
            and not self.batch.offsets
            and not self.batch.size
        )

    async def step(self) -> None:
        """One poll, then move the write pipeline forward without waiting for it.

        Writes run in a worker thread while this loop keeps polling: a slow or
        hanging insert must never keep us from calling poll, or Kafka would
        consider the consumer dead after max.poll.interval.ms and rebalance.
        """
        polled = await self.consumer.getmany(timeout_ms=100, max_records=10_000)
        for records in polled.values():
            for record in records:
                self._accept(record)
        if self._inflight is not None and self._inflight.done():
            await self._finish_write()
        if self._inflight is None:
            if self._pending is not None:
                if time.monotonic() >= self._retry_at:
                    self._start_write(self._pending)
            elif self.batch.is_due(self.config.batch_max_rows, self.config.batch_max_age_s):
                self._start_write(self.batch)
                self.batch = Batch()
        # Back-pressure: stop fetching while a failed batch waits, or while the next
        # batch is already full behind a write in flight. Polling goes on regardless.
        blocked = self._pending is not None or (
            self._inflight is not None and self.batch.size >= self.config.batch_max_rows
        )
        if blocked:
            self._pause()
        else:
            self._resume()

    def _start_write(self, batch: Batch) -> None:
        self._pending = None
        self._inflight_batch = batch
        self._inflight = asyncio.ensure_future(asyncio.to_thread(self._write, batch))

    async def _finish_write(self) -> bool:
        task, batch = self._inflight, self._inflight_batch
        assert task is not None
        assert batch is not None
        self._inflight = self._inflight_batch = None
        try:
            await task
        except OutageError as exc:
            self.metrics.retries.inc()
            self._last_write_ok = False
            self._pending = batch
            self._retry_at = time.monotonic() + self._backoff
            log.warning("ClickHouse write failed, retrying in %.1fs: %s", self._backoff, exc)
            self._backoff = min(self._backoff * 2, self.config.backoff_max_s)
            return False
        self._backoff = self.config.backoff_initial_s
        self._last_write_ok = True
        if batch.offsets:
            # Only now: the rows covering these offsets are in ClickHouse.
            await self.consumer.commit(
                {TopicPartition(t, p): o for (t, p), o in batch.offsets.items()}
            )
            self.metrics.committed.inc()
            self.committed.update(batch.offsets)
        return True

    async def flush(self) -> bool:
        """Write everything held (in flight, pending, buffered), in order; True if all landed."""
        if self._inflight is not None and not await self._finish_write():
            return False
        if self._pending is not None:
            self._start_write(self._pending)
            if not await self._finish_write():
                return False
        if self.batch.offsets or self.batch.size:
            self._start_write(self.batch)
            self.batch = Batch()
            return await self._finish_write()
        return True

    async def drain(self) -> None:
        """On shutdown: one last attempt; what is not committed is re-read next time."""
        await self.flush()

    def _accept(self, record: ConsumerRecord[bytes, bytes]) -> None:
        origin = Origin(record.topic, record.partition, record.offset)
        if any(key == CONTROL_HEADER for key, _ in record.headers or ()):
            self.batch.covered(record.topic, record.partition, record.offset)
            return
        written_at = _now_ms()
        try:
            value = decode(self.topics[record.topic], record.value or b"")
        except ContractError as exc:
            self._dead_letter(origin, record, exc.reason, str(exc), written_at)
        else:
            if isinstance(value, KpiRecord):
                table = f"kpi_{value.domain.value}"
                self.batch.add_kpi(value, table, kpi_row(value, written_at), origin)
            else:
                for table, row in rows_for(value, origin, written_at):
                    self.batch.add(table, row, origin)
        self.batch.covered(record.topic, record.partition, record.offset)

    def _dead_letter(
        self,
        origin: Origin,
        record: ConsumerRecord[bytes, bytes],
        reason: str,
        error: str,
        written_at: int,
    ) -> None:
        # Keyed by the source position: if a worker also dead-lettered this record,
        # both land on the same deadletter_id and count once.
        letter = DeadLetter(
            source_topic=origin.topic,
            partition=origin.partition,
            offset=origin.offset,
            key=mask_key(record.key or b""),
            reason=reason,
            error=mask_error(error),
            # Masked like every dead letter (schemas.privacy): a topic anyone can write
            # to may carry a raw citizen id or plate, and this row is kept for 30 days.
            payload=mask_payload(record.value, MAX_PAYLOAD),
            producer=self.config.client_id,
            failed_at=utcnow(),
            record_timestamp_ms=record.timestamp,
        )
        ident = f"{origin.topic}/{origin.partition}/{origin.offset}"
        self.batch.add("deadletter", deadletter_row(letter, ident, written_at), origin)
        self.metrics.dead_lettered.labels(reason=reason).inc()

    def _merged(self, batch: Batch, written_at: int) -> dict[str, list[tuple[Row, Origin]]]:
        """The rows the batch's corrections make (read now: a retry reads them again)."""
        out: dict[str, list[tuple[Row, Origin]]] = {}
        by_domain: dict[Domain, list[tuple[KpiRecord, Origin]]] = {}
        for record, origin in batch.corrections:
            by_domain.setdefault(record.domain, []).append((record, origin))
        for domain, items in by_domain.items():
            records = [r for r, _ in items]
            try:
                stored = self.stored.fetch(domain, {key_of(r) for r in records})
            except Exception as exc:  # the server is unwell: keep the batch, retry
                raise OutageError(f"reading kpi_{domain.value} to merge: {exc}") from exc
            resolved = resolve(records, batch.kpis, stored)
            self.metrics.corrections.labels(outcome="merged").inc(resolved.merged)
            self.metrics.corrections.labels(outcome="duplicate").inc(resolved.duplicates)
            origin_of = {key_of(r): o for r, o in items}
            out[f"kpi_{domain.value}"] = [
                (kpi_row(row, written_at), origin_of[key_of(row)]) for row in resolved.rows
            ]
        return out

    def _write(self, batch: Batch) -> None:
        if batch.written_at_ms is None:
            batch.written_at_ms = _now_ms()
        written_at = batch.written_at_ms
        self.metrics.batch_rows.observe(batch.size)
        merged = self._merged(batch, written_at) if batch.corrections else {}
        try:  # before every write, retries too: an erasure made meanwhile is honoured
            erased = self.register.refresh()
        except Exception as exc:  # never write without knowing who was erased
            raise OutageError(f"reading the erasure register: {exc}") from exc
        for table in {*batch.rows, *merged}:
            # A merged row goes after the rows of its table: its version is higher anyway.
            rows = batch.rows.get(table, []) + [row for row, _ in merged.get(table, [])]
            origins = batch.origins.get(table, []) + [o for _, o in merged.get(table, [])]
            rows, origins, dropped = keep(erased, table, rows, origins)
            if dropped:
                self.metrics.erased_dropped.labels(table=table).inc(dropped)
            started = time.perf_counter()
            rejected = self.writer.write(table, rows, written_at=written_at)
            self.metrics.insert_seconds.labels(table=table).observe(time.perf_counter() - started)
            self.metrics.rows_written.labels(table=table).inc(len(rows) - len(rejected))
            if table in EVENT_TABLES:
                # Measured when this attempt landed, not at the batch's stamp: after an
                # outage the latency includes it (IocSinkFallingBehind sees it).
                time_col, landed = EVENT_TABLES[table], _now_ms()
                for row in rows:
                    self.metrics.lag_seconds.observe((landed - row[time_col]) / 1_000)
            if rejected:
                self._dead_letter_rejected(table, rows, origins, rejected, written_at)

    def _dead_letter_rejected(
        self,
        table: str,
        written: list[Row],
        origins: list[Origin],
        rejected: list[Rejected],
        written_at: int,
    ) -> None:
        rows = []
        for item in rejected:
            origin = origins[item.index]
            letter = DeadLetter(
                source_topic=origin.topic,
                partition=origin.partition,
                offset=origin.offset,
                reason="clickhouse_rejected",
                error=mask_error(f"{table}: {item.error}"),  # it may quote the row
                payload=mask_text(repr(written[item.index]))[:MAX_PAYLOAD],
                producer=self.config.client_id,
                failed_at=utcnow(),
            )
            ident = f"{origin.topic}/{origin.partition}/{origin.offset}"
            rows.append(deadletter_row(letter, ident, written_at))
            self.metrics.dead_lettered.labels(reason="clickhouse_rejected").inc()
        still_bad = self.writer.write("deadletter", rows, written_at=written_at)
        if still_bad:
            raise OutageError(f"dead letters themselves were refused: {still_bad[0].error}")

    def _pause(self) -> None:
        if not self._paused:
            self.consumer.pause(*self.consumer.assignment())
            self._paused = True
            self.metrics.paused.set(1)

    def _resume(self) -> None:
        if self._paused:
            self.consumer.resume(*self.consumer.assignment())
            self._paused = False
            self.metrics.paused.set(0)

    async def flush_before_revoke(self, revoked: set[tuple[str, int]]) -> None:
        """Write what we hold before losing partitions; if we cannot, forget their offsets.

        Forgotten offsets are simply not committed: the new owner re-reads those
        records, and the tables' keys collapse whatever we did write.
        """
        if not await self.flush():
            if self._pending is not None:
                self._pending.drop_partitions(revoked)
            self.batch.drop_partitions(revoked)
