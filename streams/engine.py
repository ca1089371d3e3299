"""The processing of one source partition, record by record: pure, no Kafka, no faust.

For every source record, in offset order:

1. a record at or below the partition's stored offset is skipped whole — the ``meta``
   record is written last in every batch, so everything below it is applied;
2. a control tick advances the watermark to its timestamp (wall clock − max skew);
3. anything that does not decode or validate is dead-lettered and counted, never raised;
4. a duplicate event id (seen at a lower offset) is counted and dropped; an event whose
   minute the watermark has dropped is counted as late — and applied all the same: the
   windows still held take it, the dropped ones get a correction each (streams.book);
5. the domain applies the event, impossible-value checks run, the watermark advances,
   and every window it closes is emitted and fed to the detectors (corrections are not:
   detectors judge what arrived in time, see docs/decisions/0023);
6. when the watermark enters a new minute, silence is checked for the partition's
   expected entities.

The same engine runs in the faust worker and, with a dict for state, in tests and
offline tools.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from schemas.codec import decode
from schemas.errors import ContractError
from schemas.results import Anomaly, DataQualityRecord, DeadLetter, KpiRecord, WindowSize
from schemas.timeutil import to_ms
from schemas.topics import CONTROL_HEADER
from streams import dq
from streams.deadletter import dead_letter
from streams.detect import DetectorSuite, observations_from_kpi
from streams.detection import Detection
from streams.kpi.base import DomainLogic, KpiContext
from streams.records import EventIdRecord
from streams.state import META, PartitionState, Record
from streams.windows import MINUTE_MS, drop_at, window_bounds

log = logging.getLogger(__name__)

ID_PREFIX = "id|"
TICK = b"tick"


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record of a source topic, as the worker received it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None
    headers: tuple[tuple[str, bytes], ...] = ()

    def control(self) -> bytes | None:
        """The control header's value, if this is a control record."""
        for name, value in self.headers:
            if name == CONTROL_HEADER:
                return value or b""
        return None


@dataclass
class Outputs:
    """What processing produced, in production order."""

    kpis: list[KpiRecord] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    """Source records by outcome: applied, late, duplicate, invalid, control."""
    dq: list[DataQualityRecord] = field(default_factory=list)
    """Per-minute data-quality records (streams.dq), emitted like KPI windows."""

    def extend(self, other: Outputs) -> None:
        """Append another batch of outputs."""
        self.kpis += other.kpis
        self.anomalies += other.anomalies
        self.dead_letters += other.dead_letters
        for name, n in other.outcomes.items():
            self.outcomes[name] = self.outcomes.get(name, 0) + n
        self.dq += other.dq

    def count(self, outcome: str) -> None:
        """One more source record with this outcome."""
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


@dataclass(frozen=True)
class EngineConfig:
    """Everything a partition engine needs besides its state."""

    kpi: KpiContext
    producer: str
    max_skew_ms: int
    replay_horizon_ms: int
    suite: DetectorSuite | None = None


class PartitionEngine:
    """One (domain, partition): state records in, results out."""

    def __init__(
        self,
        logic_type: type[DomainLogic[Any]],
        config: EngineConfig,
        partition: int,
        records: Iterable[tuple[str, Record]] = (),
        *,
        partition_of: Callable[[str], int] | None = None,
        expected: list[tuple[str, str, str, int]] | None = None,
    ) -> None:
        self.config = config
        self.state = PartitionState(partition, records)
        self.logic = logic_type(config.kpi, self.state)
        self.partition = partition
        self.partition_of = partition_of
        self.expected: dict[str, list[tuple[str, str, str, int]]] = {}
        """The partition's expected entities by group (silence state is per group)."""
        self.group_of: dict[tuple[str, str], str] = {}
        for entity in expected or []:
            self.expected.setdefault(entity[2], []).append(entity)
            self.group_of[(entity[0], entity[1])] = entity[2]
        self.detection = (
            Detection(self.state, config.suite, config.kpi.generation) if config.suite else None
        )
        self.lateness_ms = config.kpi.lateness_ms
        self.quality = dq.QualityBook(
            self.state,
            logic_type.domain,
            partition,
            lateness_ms=config.kpi.lateness_ms,
            generation=config.kpi.generation,
        )

    # --- lifecycle ----------------------------------------------------------------

    def start(self) -> Outputs:
        """After recovery: re-emit the closed windows the state still holds."""
        wm = self.watermark
        for key, record in self.state.items(ID_PREFIX, EventIdRecord):
            # The deletion of an event id is scheduled in memory only: schedule it again
            # (ids written before "x" was stored expire with the oldest accepted minute).
            self.state.delete_after(key, int(record.get("x", wm if wm is not None else 0)))
        return Outputs(kpis=self.logic.load(wm), dq=self.quality.load(wm))

    def drain(self) -> list[tuple[str, Record | None]]:
        """The batch's state writes, in the order they must reach the changelog."""
        return self.state.drain()

    @property
    def watermark(self) -> int | None:
        """Max event time seen − allowed lateness (None before the first record)."""
        wm = self.state.meta.get("wm")
        return None if wm is None else int(wm)

    @property
    def offset(self) -> int:
        """The last source offset applied."""
        return int(self.state.meta.get("o", -1))

    # --- processing -----------------------------------------------------------------

    def process(self, record: SourceRecord, *, lag_high: bool = False) -> Outputs:
        """Apply one source record (never raises on bad input)."""
        out = Outputs()
        meta = self.state.meta
        if record.offset <= int(meta.get("o", -1)):
            return out  # applied before a crash: meta is the last write of a batch
        self.state.cursor.begin(record.offset)
        control = record.control()
        if control is None:
            self._data(record, out, lag_high)
        else:
            out.count("control")
            if control == TICK and record.timestamp_ms is not None:
                self._advance(record.timestamp_ms, out, lag_high)
        meta["o"] = record.offset
        self.state.put(META, meta)
        return out

    def _invalid(self, record: SourceRecord, reason: str, error: str, out: Outputs) -> None:
        source = dq.UNKNOWN_SOURCE
        try:
            payload = orjson.loads(record.value or b"")
            if isinstance(payload, dict):
                source = dq.source_name(payload.get("source"))
        except orjson.JSONDecodeError:
            pass  # no source to name: counted under "unknown"
        self._count(out, record, source, dq.Outcome.INVALID, reason=reason)
        out.count(dq.Outcome.INVALID.value)
        out.dead_letters.append(
            dead_letter(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=record.key,
                value=record.value,
                reason=reason,
                error=error,
                producer=self.config.producer,
                failed_at=self.config.kpi.now(),
                record_timestamp_ms=record.timestamp_ms,
            )
        )

    def _reject(self, record: SourceRecord, event_ms: int, key: str) -> tuple[str, str] | None:
        # Checked against the record's own timestamp, not the wall clock, so a replay
        # rejects exactly what the live run rejected.
        stamp = record.timestamp_ms
        if stamp is not None and event_ms > stamp + self.config.max_skew_ms:
            return "clock_skew", f"event time is {event_ms - stamp} ms after the record time"
        if stamp is not None and event_ms < stamp - self.config.replay_horizon_ms:
            return "too_old", "event time is older than the replay horizon"
        if self.partition_of is not None and self.partition_of(key) != record.partition:
            return (
                "wrong_partition",
                f"key {key!r} belongs to partition {self.partition_of(key)} (murmur2); "
                "produce with the murmur2 partitioner",
            )
        return None

    def _data(self, record: SourceRecord, out: Outputs, lag_high: bool) -> None:
        if record.value is None:
            self._invalid(record, "invalid_json", "empty record value", out)
            return
        try:
            event = decode(self.logic.model, record.value)
        except ContractError as exc:
            self._invalid(record, exc.reason, str(exc), out)
            return
        event_ms = to_ms(event.event_time)
        rejected = self._reject(record, event_ms, event.key)
        if rejected is not None:
            self._invalid(record, *rejected, out)
            return
        offset = record.offset
        id_key = ID_PREFIX + str(event.event_id)
        seen = self.state.get(id_key, EventIdRecord)
        wm = self.watermark
        late = self.logic.is_late(event, wm)
        # A late copy is never checked against the id record, which may or may not be
        # deleted yet (that depends on batch cuts): the windows and the sink check it.
        if seen is not None and int(seen["o"]) < offset and not late:
            self._count(out, record, event.source, dq.Outcome.DUPLICATE, event_ms=event_ms)
            out.count(dq.Outcome.DUPLICATE.value)
            return
        if seen is None and not late:
            # Kept until the event's minute is dropped: from then on a copy is late and
            # merged by the sink once per event id (schemas.corrections); dossier
            # changes are also de-duplicated by outbox id in their dossier's record.
            # A late event stores no id: it would be deleted at the next persisted
            # watermark, so whether a copy saw it would depend on where batches were cut.
            # "x" keeps the drop point so a recovered id is scheduled again (start()).
            minute_end = window_bounds(event_ms, WindowSize.M1)[1]
            expires = drop_at(minute_end, self.lateness_ms)
            self.state.put(id_key, {"o": offset, "x": expires})
            self.state.delete_after(id_key, expires)
        outcome = dq.Outcome.LATE if late else dq.Outcome.APPLIED
        self._count(out, record, event.source, outcome, event_ms=event_ms)
        out.count(outcome.value)
        try:
            self._emit(self.logic.apply(event, offset, wm, late), out)
            if self.detection is not None:
                for obs in self.logic.observations(event):
                    out.anomalies += self.detection.impossible(obs)
                for reporter in self.logic.reporters(event):
                    # Checked under the profile's group; an entity it does not list
                    # is expected nowhere, so its own key is as good as any.
                    group = self.group_of.get(reporter, event.key)
                    self.detection.seen(group, (reporter,), event_ms)
        except Exception as exc:  # a bug must not stop the partition; it is on record
            log.exception("processing %s[%d]@%d failed", record.topic, record.partition, offset)
            self._invalid(record, "processing_error", f"{type(exc).__name__}: {exc}", out)
            return
        self._advance(event_ms, out, lag_high)

    def _advance(self, ts_ms: int, out: Outputs, lag_high: bool) -> None:
        meta = self.state.meta
        old = self.watermark
        newest = meta.get("max")
        if newest is None or ts_ms > int(newest):
            meta["max"] = ts_ms
            meta["wm"] = ts_ms - self.lateness_ms
            self.state.put(META, meta)
        wm = self.watermark
        if wm is None or wm == old:
            return
        self._emit(self.logic.advance(old, wm, self.state.cursor.offset), out)
        out.dq += self.quality.close(wm)
        crossed = old is None or wm // MINUTE_MS > old // MINUTE_MS
        if self.detection is not None and self.expected and crossed:
            out.anomalies += self.detection.silence(self.expected, wm, lag_high)

    def _count(
        self,
        out: Outputs,
        record: SourceRecord,
        source: str,
        outcome: dq.Outcome,
        *,
        event_ms: int | None = None,
        reason: str | None = None,
    ) -> None:
        # Data quality (streams.dq): running totals and the per-minute record, which is
        # re-emitted at once when the count lands in a minute already closed.
        out.dq += self.quality.count(
            source,
            outcome,
            record.offset,
            event_ms=event_ms,
            record_ms=record.timestamp_ms,
            reason=reason,
        )

    def _emit(self, kpis: list[KpiRecord], out: Outputs) -> None:
        out.kpis += kpis
        if self.detection is None:
            return
        topology = self.config.kpi.topology
        for kpi in kpis:
            if kpi.correction:
                continue
            area = topology.area(kpi.entity_kind, kpi.entity_id)
            for obs in observations_from_kpi(kpi, area):
                out.anomalies += self.detection.observe(obs)
