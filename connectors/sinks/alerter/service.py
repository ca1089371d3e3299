"""The alerter process: replay the compacted anomalies topic, then follow it and post.

State lives in Kafka, not on disk: the topic is compacted by anomaly_id, so reading it
from the beginning to its end yields the latest record of every anomaly. That is why
the alerter never commits offsets (no consumer group) and why a restart posts only
final states — nothing that already paged someone is sent as new.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from connectors.sinks.alerter.book import AlertBook, Batch
from connectors.sinks.alerter.metrics import AlerterMetrics
from connectors.sinks.alerter.poster import (
    AlertmanagerPoster,
    AlertsRejectedError,
    AlertsUnauthorizedError,
)
from schemas.codec import decode
from schemas.errors import ContractError, ServiceUnavailableError
from schemas.results import Anomaly
from schemas.timeutil import utcnow
from schemas.topics import CONTROL_HEADER

log = logging.getLogger(__name__)

LiveGeneration = Callable[[], Awaitable[int | None]]
"""Reads the promoted generation (e.g. ClickHouse ``live_generation``); None = unknown."""


@dataclass(frozen=True, slots=True)
class AlerterConfig:
    kafka: Mapping[str, Any]
    """Client options: bootstrap_servers and the security settings (TLS, SASL)."""
    topic: str
    repost_interval_s: float = 60.0
    resolved_horizon_s: float = 86_400.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    generation_refresh_s: float = 30.0
    poll_timeout_ms: int = 500
    topic_wait_s: float = 30.0
    client_id: str = "ioc-alerter"


class Alerter:
    """Anomalies topic → Alertmanager."""

    def __init__(
        self,
        config: AlerterConfig,
        book: AlertBook,
        poster: AlertmanagerPoster,
        metrics: AlerterMetrics,
        *,
        live_generation: LiveGeneration | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.book = book
        self.poster = poster
        self.metrics = metrics
        self.live_generation = live_generation
        self.clock = clock
        self.ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._backoff = config.backoff_initial_s
        self._retry_at = 0.0
        self._generation_checked = 0.0
        metrics.live_generation.set(book.live_generation)

    @property
    def consumer(self) -> AIOKafkaConsumer:
        """The Kafka consumer (created in :meth:`start`)."""
        if self._consumer is None:
            raise RuntimeError("alerter not started")
        return self._consumer

    async def start(self) -> None:
        """Connect, learn the live generation, replay the topic, decide final states.

        A start that fails releases what it opened (the process then exits non-zero).
        """
        try:
            await self._connect()
        except BaseException:
            await self.close()
            raise
        self.ready.set()
        self.metrics.ready.set(1)

    async def _connect(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **self.config.kafka,
            group_id=None,  # no commits: the topic itself is the state
            client_id=self.config.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await self.consumer.start()
        self._partitions = await self._topic_partitions()
        self.consumer.assign(self._partitions)
        await self._refresh_generation(force=True)
        await self._replay()

    async def _topic_partitions(self) -> list[TopicPartition]:
        deadline = time.monotonic() + self.config.topic_wait_s
        while True:
            # partitions_for_topic() only knows subscribed topics; an assigning consumer
            # asks the cluster itself (aiokafka has no public call for this).
            cluster = await self.consumer._client.fetch_all_metadata()
            found = cluster.partitions_for_topic(self.config.topic)
            if found:
                return [TopicPartition(self.config.topic, p) for p in sorted(found)]
            if time.monotonic() > deadline:
                raise ServiceUnavailableError(
                    f"topic {self.config.topic} not found (run `ioc topics create`)"
                )
            await asyncio.sleep(0.5)

    async def _replay(self) -> None:
        """Read every partition from its start to the end it had when we began."""
        started = time.monotonic()
        ends = await self.consumer.end_offsets(self._partitions)
        await self.consumer.seek_to_beginning(*self._partitions)
        replayed = 0
        while True:
            behind = [tp for tp in self._partitions if await self.consumer.position(tp) < ends[tp]]
            if not behind:
                break
            batches = await self.consumer.getmany(*behind, timeout_ms=self.config.poll_timeout_ms)
            for records in batches.values():
                for record in records:
                    replayed += 1
                    anomaly = self._decode(record)
                    if anomaly is not None:
                        self.book.store(anomaly)
                    elif record.value is None:
                        self.book.forget(_key(record), self.clock())
        self.book.start(self.clock(), timedelta(seconds=self.config.resolved_horizon_s))
        self.metrics.replayed.set(replayed)
        log.info(
            "replayed %d anomaly records in %.1f s; %d alerts firing",
            replayed,
            time.monotonic() - started,
            len(self.book.firing),
        )

    def _decode(self, record: ConsumerRecord) -> Anomaly | None:
        if any(name == CONTROL_HEADER for name, _ in record.headers or ()):
            self.metrics.records.labels("control").inc()
            return None
        if record.value is None:
            self.metrics.records.labels("tombstone").inc()
            return None
        try:
            return decode(Anomaly, record.value)
        except ContractError as exc:
            # The sink dead-letters bad records; here a bad one is skipped, visibly.
            self.metrics.records.labels("invalid").inc()
            log.error(
                "skipping invalid anomaly at %s/%d/%d: %s",
                record.topic,
                record.partition,
                record.offset,
                exc,
            )
            return None

    @property
    def healthy(self) -> bool:
        """Replayed the topic at start, and Alertmanager took the last post (no retry due)."""
        return self.ready.is_set() and time.monotonic() >= self._retry_at

    def request_stop(self) -> None:
        """Finish the current step and return from :meth:`run`.

        Nothing is resolved on the way out: firing alerts keep their endsAt, and the
        next start re-posts them without paging anyone again.
        """
        self._stopping.set()

    async def run(self) -> None:
        """Follow the topic and post until asked to stop."""
        try:
            while not self._stopping.is_set():
                await self.step()
        finally:
            await self.close()

    async def close(self) -> None:
        """Release the consumer and the HTTP client."""
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        await self.poster.close()

    async def step(self) -> None:
        """Poll once (no longer than the next re-post is due), apply, post what is due."""
        await self._refresh_generation()
        now = self.clock()
        timeout_ms = self.config.poll_timeout_ms
        due = self.book.next_due(now)
        if due is not None:
            until = max(0.0, (due - now).total_seconds(), self._retry_at - time.monotonic())
            timeout_ms = int(min(timeout_ms, until * 1000))
        batches = await self.consumer.getmany(timeout_ms=timeout_ms)
        for records in batches.values():
            for record in records:
                anomaly = self._decode(record)
                if anomaly is not None:
                    applied = self.book.apply(anomaly, self.clock())
                    self.metrics.records.labels("applied" if applied else "ignored").inc()
                elif record.value is None:
                    self.book.forget(_key(record), self.clock())
        await self.flush()

    async def flush(self) -> None:
        """Post everything due; on failure keep it due and back off."""
        now = self.clock()
        if time.monotonic() >= self._retry_at:
            batch = self.book.take_due(now)
            if batch:
                await self._post(batch, now)
        self.metrics.pending.set(self.book.pending(self.clock()))
        self.metrics.firing.set(len(self.book.firing))

    async def _post(self, batch: Batch, now: datetime) -> None:
        try:
            await self.poster.post(batch.payloads)
        except AlertsRejectedError as exc:
            self.metrics.posts.labels("rejected").inc()
            await self._post_one_by_one(batch, now, exc)
            return
        except ServiceUnavailableError as exc:
            # Refused credentials are no outage: an error, counted apart, still retried
            # (the operator may fix the secret without restarting Alertmanager).
            unauthorized = isinstance(exc, AlertsUnauthorizedError)
            self.metrics.posts.labels("unauthorized" if unauthorized else "failed").inc()
            self._retry_at = time.monotonic() + self._backoff
            level = logging.ERROR if unauthorized else logging.WARNING
            log.log(level, "Alertmanager unavailable, retrying in %.1f s: %s", self._backoff, exc)
            self._backoff = min(self._backoff * 2, self.config.backoff_max_s)
            return
        self._accepted(batch, now)

    async def _post_one_by_one(self, batch: Batch, now: datetime, error: Exception) -> None:
        # One malformed alert must not hold back the others: isolate it, drop it loudly.
        log.error(
            "Alertmanager rejected a batch of %d (%s); posting one by one",
            len(batch.payloads),
            error,
        )
        for single in _split(batch):
            try:
                await self.poster.post(single.payloads)
            except AlertsRejectedError as exc:
                log.error("dropping an alert Alertmanager refuses: %s (%s)", single.payloads, exc)
                self.book.ack(single, now)
            except ServiceUnavailableError:
                return  # the rest stays due
            else:
                self._accepted(single, now)

    def _accepted(self, batch: Batch, now: datetime) -> None:
        self.book.ack(batch, now)
        self.metrics.posts.labels("ok").inc()
        self.metrics.alerts_sent.labels("firing").inc(batch.firing_count)
        self.metrics.alerts_sent.labels("resolved").inc(batch.resolved_count)
        self.metrics.last_success.set(time.time())
        self._backoff = self.config.backoff_initial_s
        self._retry_at = 0.0

    async def _refresh_generation(self, *, force: bool = False) -> None:
        if self.live_generation is None or self.config.generation_refresh_s <= 0:
            return
        if not force and time.monotonic() - self._generation_checked < (
            self.config.generation_refresh_s
        ):
            return
        self._generation_checked = time.monotonic()
        try:
            generation = await self.live_generation()
        except ServiceUnavailableError as exc:
            log.warning("live generation unknown, keeping %d: %s", self.book.live_generation, exc)
            return
        if generation is None or generation == self.book.live_generation:
            return
        rollback = generation < self.book.live_generation
        log.warning("live generation %d → %d", self.book.live_generation, generation)
        self.book.set_live_generation(generation, self.clock())
        self.metrics.live_generation.set(generation)
        if rollback and self.ready.is_set():
            # Records of older generations were not kept: read them again.
            await self._replay()


def _key(record: ConsumerRecord) -> str:
    key = record.key
    return key.decode() if isinstance(key, bytes) else str(key)


def _split(batch: Batch) -> list[Batch]:
    singles = [Batch([p], [], [r]) for p, r in zip(batch.payloads, batch.resolves, strict=False)]
    offset = len(batch.resolves)
    singles += [Batch([batch.payloads[offset + i]], [f], []) for i, f in enumerate(batch.firing)]
    return singles
