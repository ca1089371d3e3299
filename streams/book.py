"""The held windows of one partition: create, apply, close (emit), re-emit, drop.

A window record is a :class:`~streams.records.WindowRecord` (kind, entity, group, size,
start, end, parts, sequence emitted, changed since emitted, offset). Emission is
decided per event, right after the event is applied and the watermark advanced —
never per batch — so a replay after a crash, whose batches are cut differently,
emits the same (sequence, content) pairs as the run it replaces.

A late event's window that the watermark has dropped is not held any more: the event
goes into a *transient* window of its own, never stored, emitted at once as a
correction (``KpiRecord.correction``) that the sink merges into the stored row
(:mod:`schemas.corrections`). Whether a window is dropped is decided by the watermark
alone, never by whether its record is still in memory (deletions wait for a persisted
watermark, so that depends on where batches were cut).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from schemas.results import WindowSize
from streams.records import DqMinuteRecord, Held, WindowRecord
from streams.state import PartitionState
from streams.windows import SIZE_TEXT, drop_at, is_closed, is_dropped, window_bounds, window_key

WINDOW_PREFIX = "w|"
MAX_LATE_IDS = 4_096
"""Late-event ids a held window keeps (about 160 kB of JSON): a backfill of a busy
segment's day must not grow one state record, or the KPI record that carries them, past
the broker's 1 MB limit. A late copy of an event beyond them is applied again."""

P = TypeVar("P")
H = TypeVar("H", bound=WindowRecord[Any] | DqMinuteRecord)
"""A held window: a KPI window or a data-quality minute."""


class Closing(Generic[H]):
    """Held window records not closed yet: a heap by window end, and their emission.

    Shared by the KPI windows and the data-quality minutes (:mod:`streams.dq`): both
    emit a changed window when the watermark passes its end, with the next sequence.
    """

    def __init__(self, state: PartitionState, kind: type[H]) -> None:
        self.state = state
        self.kind = kind
        self._heap: list[tuple[int, str]] = []

    def hold(self, end_ms: int, key: str) -> None:
        """Remember a window until the watermark passes ``end_ms``."""
        heapq.heappush(self._heap, (end_ms, key))

    def closed(self, wm: int | None) -> list[tuple[str, H]]:
        """Changed windows the watermark just closed, marked emitted, in (end, key) order."""
        out: list[tuple[str, H]] = []
        while self._heap and is_closed(self._heap[0][0], wm):
            _, key = heapq.heappop(self._heap)
            record = self.state.get(key, self.kind)
            if record is not None and record.get("d"):
                out.append((key, self.emitted(key, record)))
        return out

    def emitted(self, key: str, record: H) -> H:
        """The record with its next sequence, no longer changed since emitted."""
        held: Held = record
        held["q"] = int(held.get("q", 0)) + 1
        held["d"] = False
        self.state.put(key, record)
        return record

    def __len__(self) -> int:
        return len(self._heap)


class WindowBook:
    """Window records of one partition, with a heap of the ones not yet closed."""

    def __init__(self, state: PartitionState, lateness_ms: int, zone: str) -> None:
        self.state = state
        self.lateness_ms = lateness_ms
        self.zone = zone
        self._closing = Closing(state, WindowRecord)
        self._touched: dict[str, None] = {}
        self._corrections: dict[str, WindowRecord[Any]] = {}
        self.late_event: str | None = None
        """The id of the event being applied if it is late (see :meth:`begin`)."""

    def begin(self, late_event: str | None) -> None:
        """The next event's windows are touched: the id of a late one, None if in time.

        A late event is taken once per window: held windows keep its id (and emit it, so
        the sink's merge of a later correction knows it too), transient ones carry it.
        """
        self.late_event = late_event
        # Left over only if the previous event failed half-way (dead-lettered as a
        # processing error): its corrections must not go out under this event's id.
        self._corrections.clear()

    def load(self, wm: int | None) -> tuple[list[WindowRecord[Any]], list[WindowRecord[Any]]]:
        """After recovery: (closed windows to re-emit as stored, closed windows to emit anew).

        A closed window whose last emission may not have reached the results topic
        (the changelog said "emitted", the crash ate the send) is re-emitted with its
        stored sequence and content: same version, same value, harmless if it did arrive.
        """
        again: list[WindowRecord[Any]] = []
        fresh: list[WindowRecord[Any]] = []
        for key, record in sorted(self.state.items(WINDOW_PREFIX, WindowRecord)):
            self.state.delete_after(key, drop_at(int(record["end"]), self.lateness_ms))
            if not is_closed(int(record["end"]), wm):
                self._closing.hold(int(record["end"]), key)
            elif record.get("d"):
                fresh.append(self._closing.emitted(key, record))
            elif int(record.get("q", 0)) > 0:
                again.append(record)
        return again, fresh

    def window(
        self,
        kind: str,
        entity_id: str,
        group_id: str,
        size: WindowSize,
        ts_ms: int,
        offset: int,
        empty: Callable[[], P],
        wm: int | None,
    ) -> WindowRecord[P] | None:
        """The window record to apply the event at ``offset`` to, or None if it already did.

        ``empty`` makes the parts of a new window (its type is the domain's parts).
        """
        start, end = window_bounds(ts_ms, size, self.zone)
        key = window_key(kind, entity_id, size, start)
        late = self.late_event
        if late is not None and is_dropped(end, wm, self.lateness_ms):
            # One transient window per dropped window per event, never in the state; a
            # second touch by the same event is "already applied", as for held windows.
            if key in self._corrections:
                return None
            transient = _new_window(kind, entity_id, group_id, size, start, end, offset, empty)
            transient["q"] = 1
            self._corrections[key] = transient
            return transient
        existing = self.state.get(key, WindowRecord)
        new: WindowRecord[P] | None = None
        if existing is None:
            new = _new_window(kind, entity_id, group_id, size, start, end, offset, empty)
        if late is not None and existing is not None and late in existing.get("l", ()):
            return None  # a second copy of a late event this window already took
        record = self.state.touch(key, offset, new)
        if record is None:
            return None
        if late is not None:
            ids = record.setdefault("l", [])
            if len(ids) < MAX_LATE_IDS:
                ids.append(late)
            else:
                record["lx"] = record.get("lx", 0) + 1
        if new is not None:
            self.state.delete_after(key, drop_at(end, self.lateness_ms))
            if not is_closed(end, wm):
                self._closing.hold(end, key)
        record["d"] = True
        self._touched[key] = None
        return record

    def corrections(self) -> list[WindowRecord[Any]]:
        """The last event's transient windows (of dropped windows), to emit as corrections."""
        out = list(self._corrections.values())
        self._corrections.clear()
        return out

    def emit_touched(self, wm: int | None) -> list[WindowRecord[Any]]:
        """Windows the last event changed that are already closed: re-emit them now."""
        out: list[WindowRecord[Any]] = []
        for key in self._touched:
            record = self.state.get(key, WindowRecord)
            if record is not None and record.get("d") and is_closed(int(record["end"]), wm):
                out.append(self._closing.emitted(key, record))
        self._touched.clear()
        return out

    def close(self, wm: int | None) -> list[WindowRecord[Any]]:
        """Windows the watermark just closed, in (end, key) order."""
        return [record for _, record in self._closing.closed(wm)]

    @property
    def open_windows(self) -> int:
        """Windows not closed yet (a gauge for /metrics)."""
        return len(self._closing)


def _new_window(
    kind: str,
    entity_id: str,
    group_id: str,
    size: WindowSize,
    start: int,
    end: int,
    offset: int,
    empty: Callable[[], P],
) -> WindowRecord[P]:
    return {
        "k": kind,
        "e": entity_id,
        "g": group_id,
        "z": SIZE_TEXT[size],
        "s": start,
        "end": end,
        "p": empty(),
        "q": 0,
        "d": False,
        "o": offset,  # where touch() puts it
    }
