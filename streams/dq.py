"""Data-quality counters per source and stream (docs/architecture.md, "Data-quality records").

events, invalid (dead-lettered, by reason), late, duplicates, last seen. Two kinds of
records, both stamped with the offset they last counted, like every other stateful
value, so a replayed message is not counted twice:

- ``dq|<source>``: running totals per (partition, source), what /metrics exports;
- ``dqw|<source>|<minute_start_ms>``: the same counts per 1-minute window, emitted as
  :class:`~schemas.results.DataQualityRecord` on ``ioc.dq.v1`` when the watermark
  closes the minute, re-emitted (sequence + 1) when a count still lands in it while it
  is held, re-emitted as stored after recovery, and dropped like a KPI minute
  (:class:`QualityBook`, the counterpart of :class:`streams.book.WindowBook`).

Which minute a count lands in (:func:`window_time`, docs/decisions/0012): an applied
event's own event time; for anything else (late, duplicate, invalid — whose event
time is missing, already dropped, or not to be trusted) the record's timestamp; and
when that minute is already dropped, the partition's newest minute. The choice reads
only the partition's watermark, so a replay after a crash makes the same choices.

"Silent sources" are the silence anomalies (:mod:`streams.detection`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from schemas.results import DataQualityRecord, Domain, WindowSize
from schemas.timeutil import from_ms
from streams.book import Closing
from streams.records import DqCounts, DqMinuteRecord, DqTotalsRecord
from streams.state import PartitionState
from streams.windows import accepts, drop_at, is_closed, window_bounds

DQ_PREFIX = "dq|"
WINDOW_PREFIX = "dqw|"
UNKNOWN_SOURCE = "unknown"
_SOURCE = re.compile(r"^[A-Za-z0-9_.:\-/]{1,64}$")


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    LATE = "late"
    INVALID = "invalid"


@dataclass
class SourceCounts:
    """Counters of one source on one partition (what /metrics exports)."""

    source: str
    events: int = 0
    late: int = 0
    duplicates: int = 0
    invalid: dict[str, int] = field(default_factory=dict)
    last_seen_ms: int | None = None

    @classmethod
    def from_record(cls, source: str, record: DqCounts) -> SourceCounts:
        """From a stored record."""
        return cls(
            source=source,
            events=int(record.get("events", 0)),
            late=int(record.get("late", 0)),
            duplicates=int(record.get("dup", 0)),
            invalid={str(k): int(v) for k, v in record.get("invalid", {}).items()},
            last_seen_ms=record.get("last"),
        )


def source_name(value: object) -> str:
    """A safe label for a source (an unparseable payload has none)."""
    if isinstance(value, str) and _SOURCE.match(value):
        return value
    return UNKNOWN_SOURCE


def _add(record: DqCounts, outcome: Outcome, event_ms: int | None, reason: str | None) -> None:
    # One message's outcome into a record of either kind (same field names).
    if outcome is Outcome.INVALID:
        invalid = record.setdefault("invalid", {})
        invalid[reason or "invalid"] = int(invalid.get(reason or "invalid", 0)) + 1
        return
    record["events"] = int(record.get("events", 0)) + 1
    if outcome is Outcome.LATE:
        record["late"] = int(record.get("late", 0)) + 1
    elif outcome is Outcome.DUPLICATE:
        record["dup"] = int(record.get("dup", 0)) + 1
    if event_ms is not None and event_ms > int(record.get("last", -1) or -1):
        record["last"] = event_ms


def count(
    state: PartitionState,
    source: str,
    outcome: Outcome,
    offset: int,
    *,
    event_ms: int | None = None,
    reason: str | None = None,
) -> None:
    """Count one message's outcome once, however often the message is replayed."""
    new: DqTotalsRecord = {"o": offset}
    record = state.touch(DQ_PREFIX + source, offset, new)
    if record is None:
        return
    _add(record, outcome, event_ms, reason)


def counters(state: PartitionState) -> list[SourceCounts]:
    """Every source's counters on this partition."""
    return [
        SourceCounts.from_record(key.removeprefix(DQ_PREFIX), record)
        for key, record in state.items(DQ_PREFIX, DqTotalsRecord)
    ]


# --- per-minute records --------------------------------------------------------------


def window_time(
    outcome: Outcome,
    *,
    event_ms: int | None,
    record_ms: int | None,
    newest_ms: int | None,
    wm: int | None,
    lateness_ms: int,
) -> int:
    """The instant whose 1-minute window counts this outcome; always a held minute.

    ``newest_ms`` is the partition's maximum event time seen (the watermark plus the
    allowed lateness): its minute is never closed, let alone dropped.
    """
    if outcome is Outcome.APPLIED and event_ms is not None and accepts(event_ms, wm, lateness_ms):
        return event_ms
    if record_ms is not None and accepts(record_ms, wm, lateness_ms):
        return record_ms
    if newest_ms is not None:
        return newest_ms
    # Only reached before any event or tick (no watermark) and without a record
    # timestamp, which Kafka always sets: a fixed minute keeps replays identical.
    return 0


def window_key(source: str, start_ms: int) -> str:
    """Record key of one source's minute: primitives only."""
    return f"{WINDOW_PREFIX}{source}|{start_ms}"


class QualityBook:
    """The per-minute data-quality records of one (stream, partition).

    A record is a :class:`~streams.records.DqMinuteRecord` (source, start, end, the
    counts, sequence emitted, changed since emitted, offset). Emission is
    decided per source record (when a count lands in a closed minute, or when the
    watermark closes one), never per batch, so a replay after a crash emits the same
    (sequence, content) pairs as the run it replaces.
    """

    def __init__(
        self,
        state: PartitionState,
        domain: Domain,
        partition: int,
        *,
        lateness_ms: int,
        generation: int,
    ) -> None:
        self.state = state
        self.domain = domain
        self.partition = partition
        self.lateness_ms = lateness_ms
        self.generation = generation
        self._closing = Closing(state, DqMinuteRecord)
        self._offset = -1

    def load(self, wm: int | None) -> list[DataQualityRecord]:
        """After recovery: closed minutes still held, re-emitted (as stored, or anew if changed).

        A stored record that was emitted carries the content of that emission, so
        re-emitting it repeats the same version with the same counts: harmless if the
        first one did arrive, the missing row if it did not.
        """
        out: list[DataQualityRecord] = []
        for key, record in sorted(self.state.items(WINDOW_PREFIX, DqMinuteRecord)):
            end = int(record["end"])
            self.state.delete_after(key, drop_at(end, self.lateness_ms))
            if not is_closed(end, wm):
                self._closing.hold(end, key)
            elif record.get("d"):
                out.append(self.to_record(self._closing.emitted(key, record)))
            elif int(record.get("q", 0)) > 0:
                out.append(self.to_record(record))
        return out

    def count(
        self,
        source: str,
        outcome: Outcome,
        offset: int,
        *,
        event_ms: int | None = None,
        record_ms: int | None = None,
        reason: str | None = None,
    ) -> list[DataQualityRecord]:
        """Count one message (running totals and its minute); re-emit that minute if closed.

        A message has one outcome, its first: a record that fails after it was counted
        as an event (``processing_error``, a bug) stays an event, as in the running
        totals, whose record already carries its offset. (Remembered in memory: the
        second call comes in the same ``process`` call, on replay too.)
        """
        if offset == self._offset:
            return []
        self._offset = offset
        count(self.state, source, outcome, offset, event_ms=event_ms, reason=reason)
        meta = self.state.meta
        wm, newest = meta.get("wm"), meta.get("max")
        wm = None if wm is None else int(wm)
        newest = None if newest is None else int(newest)
        at = window_time(
            outcome,
            event_ms=event_ms,
            record_ms=record_ms,
            newest_ms=newest,
            wm=wm,
            lateness_ms=self.lateness_ms,
        )
        start, end = window_bounds(at, WindowSize.M1)
        key = window_key(source, start)
        new: DqMinuteRecord | None = None
        if self.state.get(key) is None:
            new = {"src": source, "s": start, "end": end, "q": 0, "d": False, "o": offset}
        record = self.state.touch(key, offset, new)
        if record is None:
            return []  # counted before a crash
        if new is not None:
            self.state.delete_after(key, drop_at(end, self.lateness_ms))
            if not is_closed(end, wm):
                self._closing.hold(end, key)
        _add(record, outcome, event_ms, reason)
        record["d"] = True
        if is_closed(end, wm):
            return [self.to_record(self._closing.emitted(key, record))]
        return []

    def close(self, wm: int | None) -> list[DataQualityRecord]:
        """Minutes the watermark just closed, in (end, key) order."""
        return [self.to_record(record) for _, record in self._closing.closed(wm)]

    def to_record(self, record: DqMinuteRecord) -> DataQualityRecord:
        """The result record of one emission of a minute."""
        last = record.get("last")
        return DataQualityRecord(
            domain=self.domain,
            partition=self.partition,
            source=record["src"],
            window_start=from_ms(int(record["s"])),
            window_end=from_ms(int(record["end"])),
            events=int(record.get("events", 0)),
            late=int(record.get("late", 0)),
            duplicates=int(record.get("dup", 0)),
            invalid={str(k): int(v) for k, v in record.get("invalid", {}).items()},
            last_seen=None if last is None else from_ms(int(last)),
            generation=self.generation,
            sequence=int(record["q"]),
        )
