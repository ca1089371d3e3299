"""The faust side of one domain: source records in, pure engines, results and changelog out.

Order of a batch, and why:

1. every record goes through its partition's :class:`~streams.engine.PartitionEngine`
   (records of partitions this worker no longer owns are left alone: after a
   rebalance they belong to another worker, which will see them again);
2. KPI records, data-quality records, anomalies and dead letters are produced and
   their delivery *awaited*;
3. only then are the state writes sent to the changelog (``meta`` last) and awaited —
   so a changelog that says "emitted" never stands for a result that was lost;
4. only then are the source records acked. faust commits acked offsets after
   flushing *its* producer (checked: ``Consumer._commit_offsets`` awaits
   ``producer.flush()`` first when not in a transaction); results and state go
   through our own idempotent producer (:mod:`streams.runtime.sender`) and are acknowledged
   by the broker before the ack, so nothing a commit covers is still in flight.

At-least-once, idempotent results: a crash re-delivers records after the last
commit, every state record skips what it already applied, and re-emitted results
carry the version they had (docs/architecture.md, "Idempotency and delivery"; faust's
exactly_once is avoided for its open rebalance bugs, faust-streaming #323 and #502).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson
from aiokafka.errors import KafkaError, KafkaTimeoutError
from faust.exceptions import ProducerSendError
from faust.types import TP

from streams.domains import EngineFactory
from streams.engine import Outputs, PartitionEngine
from streams.runtime.diagnostics import Stage
from streams.runtime.messages import OutputTopics, result_records, source_record
from streams.runtime.metrics import StreamMetrics
from streams.runtime.resume import STALL_S, LogProbe, Rewind, Step, next_step, stalled
from streams.runtime.sender import BatchSender, OutRecord, RecordTooLargeError
from streams.state import Record

log = logging.getLogger(__name__)

RETRY_MAX_S = 10.0
EXIT_PROCESSING_FAILED = 70
"""EX_SOFTWARE: a batch raised (a bug, not bad input: that is dead-lettered)."""
EXIT_RECORD_TOO_LARGE = 71


class DomainRuntime:
    """Engines per partition of one source topic, over one faust table."""

    def __init__(
        self,
        *,
        app: Any,
        table: Any,
        topic: str,
        factory: EngineFactory,
        outputs: OutputTopics,
        lag_threshold_s: float,
        metrics: StreamMetrics,
        sender: BatchSender,
        probe: LogProbe,
        empty_state_from_group: bool = False,
    ) -> None:
        self.app = app
        self.table = table
        self.topic = topic
        self.factory = factory
        self.stream_name = factory.spec.domain.value
        self.outputs = outputs
        self.lag_threshold_s = lag_threshold_s
        self.metrics = metrics
        self.sender = sender
        self.probe = probe
        self.empty_state_from_group = empty_state_from_group
        self.app_exit: Callable[[int], None] = os._exit
        self.engines: dict[int, PartitionEngine] = {}
        self.last_activity: dict[int, float] = {}
        self.rewinding: dict[int, Rewind] = {}
        """Partitions sought back (see :mod:`streams.runtime.resume`)."""
        self.stage = Stage()
        """The step this domain's agent is in (``kill -USR2`` logs it)."""
        self._busy = asyncio.Lock()
        """Held by a batch and by :meth:`unstall`: both load engines and seek."""

    # --- partitions ------------------------------------------------------------------

    def _prefix(self, partition: int) -> str:
        return f"{partition}|"

    def _load(self, partition: int, out: Outputs) -> PartitionEngine:
        # The table store holds what faust recovered from the changelog (and what this
        # process wrote since); keys carry the partition, so one scan finds ours.
        prefix = self._prefix(partition)
        records: list[tuple[str, Record]] = [
            (str(k)[len(prefix) :], v)
            for k, v in list(self.table.data.items())
            if str(k).startswith(prefix) and v is not None
        ]
        engine = self.factory.engine(partition, records)
        started = engine.start()
        out.extend(started)
        self.engines[partition] = engine
        log.info(
            "%s[%d]: loaded %d state records, watermark %s, offset %d, re-emitting %d",
            self.stream_name,
            partition,
            len(records),
            engine.watermark,
            engine.offset,
            len(started.kpis),
        )
        return engine

    def revoke(self, partitions: Iterable[int]) -> None:
        """Forget engines of partitions another worker now owns (reloaded if they return)."""
        for partition in partitions:
            self.engines.pop(partition, None)
            self.last_activity.pop(partition, None)
            self.rewinding.pop(partition, None)

    def assigned(self, partitions: Iterable[int]) -> None:
        """Start the idle clock of newly assigned partitions."""
        now = time.monotonic()
        for partition in partitions:
            self.last_activity.setdefault(partition, now)

    def owned(self) -> set[int]:
        """Partitions of the source topic this worker is assigned."""
        return {tp.partition for tp in self.app.consumer.assignment() if tp.topic == self.topic}

    def _lag_high(self, message: Any) -> bool:
        # Lag in time: how old the record being processed is, when more are waiting.
        # (Idle partitions are not lagging, however old their last tick is.)
        try:
            highwater = self.app.consumer.highwater(message.tp)
        except Exception:  # the metadata may not be there yet: assume no lag
            return False
        pending = highwater is not None and highwater > message.offset + 1
        age_s = time.time() - (message.timestamp or time.time())
        self.metrics.lag.labels(self.stream_name, str(message.partition)).set(
            max(0, (highwater or 0) - message.offset - 1)
        )
        return bool(pending and age_s > self.lag_threshold_s)

    # --- a batch ---------------------------------------------------------------------

    async def handle(self, stream: Any, events: Sequence[Any]) -> None:
        """Process a batch and ack it; any failure ends the process loudly.

        faust would log a crashed agent and go on with the others: this domain would stop
        for good while the process looked healthy and ignored SIGTERM. Exiting makes the
        supervisor restart it (nothing of the batch was acked) and shows in
        ``IocWorkerDown``; bad *input* never gets here, it is dead-lettered.
        """
        try:
            async with self._busy:
                await self._handle(stream, events)
        except (asyncio.CancelledError, RecordTooLargeError):
            raise  # a stop, or already reported with its own exit code
        except Exception:
            log.critical(
                "%s: processing a batch failed; exiting with %d so that a restart retries it",
                self.stream_name,
                EXIT_PROCESSING_FAILED,
                exc_info=True,
            )
            self.app_exit(EXIT_PROCESSING_FAILED)
            raise

    async def _handle(self, stream: Any, events: Sequence[Any]) -> None:
        """Process a batch and ack it (see the module doc for the order)."""
        started = time.monotonic()
        owned = self.owned()
        out = Outputs()
        touched: dict[int, PartitionEngine] = {}
        lag_high: dict[int, bool] = {}
        for event in events:
            message = event.message
            partition = message.partition
            if partition not in owned:
                continue  # revoked mid-batch: the new owner will process it
            self.last_activity[partition] = time.monotonic()
            if self.app.in_recovery:
                # faust is still restoring tables: an engine loaded now would miss state.
                # Acked unapplied, the record is fetched again once the state asks for it.
                continue
            engine = self.engines.get(partition) or self._load(partition, out)
            if not await self._in_order(engine, message):
                continue
            touched[partition] = engine
            if partition not in lag_high:
                lag_high[partition] = self._lag_high(message)
            result = engine.process(source_record(message), lag_high=lag_high[partition])
            out.extend(result)
        try:
            with self.stage.step("deliver", f"{len(out.kpis)} KPI records"):
                await self._deliver(out)
            with self.stage.step("persist", f"partitions {sorted(touched)}"):
                await self._persist(touched)
        except RecordTooLargeError as exc:
            # Not an input problem (those are dead-lettered) but a state or result the
            # broker can never take: stop loudly rather than retry or skip it.
            log.critical("%s: %s; stopping the worker", self.stream_name, exc)
            self.app_exit(EXIT_RECORD_TOO_LARGE)
            raise
        with self.stage.step("ack", f"{len(events)} records"):
            for event in events:
                await stream.ack(event)
        self.metrics.observe_batch(self.stream_name, out, touched, time.monotonic() - started)

    async def _in_order(self, engine: PartitionEngine, message: Any) -> bool:
        """True when ``message`` is the record the partition's state is owed next.

        Otherwise the partition is sought back to what the log really holds next
        (see :mod:`streams.runtime.resume`) and the record is left unapplied.
        """
        partition, offset = message.partition, message.offset
        rewind = self.rewinding.get(partition)
        step = next_step(
            engine.offset,
            offset,
            rewind,
            time.monotonic(),
            empty_from_group=self.empty_state_from_group,
        )
        if step is Step.APPLY:
            self.rewinding.pop(partition, None)
            return True
        if step is Step.SKIP:
            return False
        if step is Step.RESEEK:
            assert rewind is not None
            await self._seek(message.tp, rewind.awaited)
            return False
        expected = engine.offset + 1
        first: int | None = None

        async def probe() -> None:
            nonlocal first
            first = await self.probe.first_offset_from(message.topic, partition, expected)
            if first is None:  # the record in hand is there: the broker did not answer in time
                raise KafkaTimeoutError(f"no record at or after offset {expected}")

        with self.stage.step("probe", f"partition {partition} from offset {expected}"):
            await self._retrying("offset probe", probe)
        assert first is not None
        if first >= offset:
            self.rewinding.pop(partition, None)
            if offset > expected:
                log.info(
                    "%s[%d]: offsets %d..%d are not in the log; resuming at %d",
                    self.stream_name,
                    partition,
                    expected,
                    offset - 1,
                    offset,
                )
            return True
        if rewind is None:
            log.warning(
                "%s[%d]: received offset %d but the state applied up to %d; seeking back to %d",
                self.stream_name,
                partition,
                offset,
                engine.offset,
                first,
            )
            self.metrics.rewinds.labels(self.stream_name).inc()
        self.rewinding[partition] = Rewind(first, time.monotonic())
        await self._seek(message.tp, first)
        return False

    async def unstall(self) -> None:
        """Seek back every owned partition that faust stopped handing over.

        :meth:`_in_order` notices missing records when a later one arrives; a partition
        that gets none (quiet, or control ticks off) would wait for ever, its records
        fetched and dropped inside faust (:func:`streams.runtime.resume.stalled`). Runs
        between batches, never while faust restores tables or rebalances.
        """
        if self._busy.locked():
            return
        async with self._busy:
            for partition in sorted(self.owned()):
                if self.app.in_recovery or self.app.rebalancing:
                    return
                if partition in self.owned():  # (not revoked at an await of this loop)
                    await self._unstall(partition, time.monotonic())

    async def _unstall(self, partition: int, now: float) -> None:
        tp = TP(self.topic, partition)
        idle_s = now - self.last_activity.setdefault(partition, now)
        highwater = self.app.consumer.highwater(tp)
        engine = self.engines.get(partition)
        if self.empty_state_from_group and (engine is None or engine.offset < 0):
            return  # an empty state started from the group is owed whatever comes
        if engine is None:
            if not highwater or idle_s < STALL_S:
                return
            out = Outputs()
            engine = self._load(partition, out)
            await self._deliver(out)
        awaited = stalled(engine.offset, highwater, idle_s)
        if awaited is None:
            return
        log.warning(
            "%s[%d]: the log ends at %d, the state applied %d and nothing came for %.0f s; "
            "seeking back to %d",
            self.stream_name,
            partition,
            highwater,
            engine.offset,
            idle_s,
            awaited,
        )
        self.metrics.stalls.labels(self.stream_name).inc()
        self.last_activity[partition] = now
        self.rewinding[partition] = Rewind(awaited, now)
        await self._seek(tp, awaited)

    async def _seek(self, tp: Any, offset: int) -> None:
        # In the consumer's own thread: faust's ``seek`` calls aiokafka's from this one,
        # racing the fetch that thread runs — aiokafka's fetched_records then raises
        # KeyError, faust's Fetcher crashes and the worker stops consuming while alive.
        with self.stage.step("seek", f"{tp} to {offset}"):
            await self.app.consumer.seek_wait({tp: offset})

    async def _deliver(self, out: Outputs) -> None:
        records = result_records(out, self.outputs)
        if records:
            await self._retrying("results", lambda: self.sender.send(records))

    async def _persist(self, touched: Mapping[int, PartitionEngine]) -> None:
        # Straight to the changelog with an explicit partition (the record's source
        # partition — a batch mixes partitions, so faust's "current event" cannot say),
        # serialized as faust's json codec does (orjson), so faust's recovery reads it.
        # Not through ``table.send_changelog``: its buffer sends one record at a time.
        store = self.table.data
        topic = self.table.changelog_topic.get_topic_name()
        records: list[OutRecord] = []
        for partition, engine in touched.items():
            prefix = self._prefix(partition)
            for key, value in engine.drain():
                full = prefix + key
                if value is None:
                    store.pop(full, None)
                else:
                    store[full] = value  # the engine's own dict: what the changelog now says
                payload = None if value is None else orjson.dumps(value)
                records.append(OutRecord(topic, orjson.dumps(full), payload, partition))
        if records:
            await self._retrying("changelog", lambda: self.sender.send(records))

    async def _retrying(self, what: str, attempt: Callable[[], Any]) -> None:
        # Results and state must reach Kafka before the batch is acked; while the broker
        # is away, wait (the consumer cannot commit either) rather than drop or crash.
        delay = 0.2
        while True:
            try:
                await attempt()
                return
            except (KafkaError, ProducerSendError) as exc:
                self.metrics.send_errors.labels(self.stream_name, what).inc()
                log.warning(
                    "%s: sending %s failed (%s); retrying in %.1fs",
                    self.stream_name,
                    what,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(RETRY_MAX_S, delay * 2)
