"""The state of one (domain, partition): JSON records by string key, with the batch's writes.

Every record is a plain JSON-serializable dict (its layout, key by key, is
:mod:`streams.records`) that carries the source offset (``o``) or position
(``pos`` = [offset, step]) it last applied, so a redelivered event is
skipped record by record — the changelog of a crash may hold some of a batch's writes
and not others, and each record decides for itself.

Write order is what makes that safe. All of a partition's records go to one changelog
partition, written in order, and :meth:`PartitionState.drain` puts the partition's
``meta`` record (the watermark) *last*. So a record is never behind the watermark that
is persisted beside it: whatever the crash, the recovered watermark is one the crashed
run had at a batch boundary, and replaying from the committed offset walks the same
watermark trajectory again. Deletions obey the same rule (see :meth:`delete_after`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import TypeVar, overload

from streams.records import MetaRecord, Positioned, Stamped, StampedRecord, StateRecord

Record = StateRecord
"""Any value of the table (the union of :mod:`streams.records`)."""

R = TypeVar("R", bound=StateRecord)
"""The record class a caller knows a key holds (its prefix says which)."""
S = TypeVar("S", bound=StampedRecord)
"""A record class with an offset (``o``): what :meth:`PartitionState.touch` stamps."""

META = "meta"


def record_offset(record: Stamped | None) -> int:
    """Offset a record last applied (−1 for a new record)."""
    if record is None:
        return -1
    return int(record.get("o", -1))


def position_before(record: Positioned | None, pos: tuple[int, int]) -> bool:
    """True when ``record`` has not yet applied step ``pos`` = (offset, step)."""
    if record is None:
        return True
    stored = record.get("pos")
    if stored is None:
        return True
    return (int(stored[0]), int(stored[1])) < pos


class Cursor:
    """Where processing is: the offset of the current record and a step counter within it.

    Records that one event may change more than once (a period recomputed before and
    after the watermark moves, a detector fed two windows) store the position
    (offset, step) instead of the offset. The steps of an event come in a fixed order,
    so a replay numbers them the same way.
    """

    def __init__(self) -> None:
        self.offset = -1
        self.step = 0

    def begin(self, offset: int) -> None:
        """Start a new source record."""
        self.offset = offset
        self.step = 0

    def next(self) -> tuple[int, int]:
        """The position of the next step of the current record."""
        self.step += 1
        return self.offset, self.step


class PartitionState:
    """Records of one partition: reads from memory, writes collected until :meth:`drain`."""

    def __init__(self, partition: int, records: Iterable[tuple[str, Record]] = ()) -> None:
        self.partition = partition
        self.cursor = Cursor()
        self.records: dict[str, Record] = dict(records)
        self._dirty: dict[str, None] = {}
        self._pending_deletes: list[tuple[int, str]] = []  # a heap by drop watermark
        meta = self.get(META, MetaRecord)
        self.persisted_wm: int | None = None if meta is None else meta.get("wm")

    # --- reads and writes ---------------------------------------------------------
    #
    # The store holds every kind of record; a key's prefix says which kind it is
    # (:mod:`streams.records`). A reader names that kind — ``get(key, WindowRecord)``
    # — and gets the record typed as such: the one place where the type is taken on
    # the key's word, at no cost (the class is an argument, never called).

    @overload
    def get(self, key: str) -> Record | None: ...
    @overload
    def get(self, key: str, kind: type[R]) -> R | None: ...
    def get(self, key: str, kind: type[R] | None = None) -> R | Record | None:
        """The record under ``key``, if any (of the class ``kind`` its prefix means)."""
        return self.records.get(key)

    def put(self, key: str, record: Record) -> None:
        """Store (or mark as changed) a record; written at the end of the batch."""
        self.records[key] = record
        self._dirty[key] = None

    def touch(self, key: str, offset: int, new: S | None = None) -> S | None:
        """The record to apply ``offset`` to, or None when it already applied it.

        ``new`` is the record to create when there is none yet (of the class the key
        holds). The returned record is marked changed and stamped with ``offset``.
        """
        record: S | None = self.records.get(key)  # type: ignore[assignment]  # see get()
        if record is None:
            if new is None:
                return None
            record = new
        elif record_offset(record) >= offset:
            return None  # already applied before a crash: skipping is what prevents double counts
        record["o"] = offset
        self.put(key, record)
        return record

    @overload
    def items(self, prefix: str = "") -> Iterator[tuple[str, Record]]: ...
    @overload
    def items(self, prefix: str, kind: type[R]) -> Iterator[tuple[str, R]]: ...
    def items(
        self, prefix: str = "", kind: type[R] | None = None
    ) -> Iterator[tuple[str, R]] | Iterator[tuple[str, Record]]:
        """Records whose key starts with ``prefix`` (a snapshot, safe to mutate during)."""
        return iter([(k, v) for k, v in self.records.items() if k.startswith(prefix)])

    # --- the watermark ------------------------------------------------------------

    @property
    def meta(self) -> MetaRecord:
        """The partition's own record: max event time, last offset, watermark."""
        meta: MetaRecord | None = self.records.get(META)  # type: ignore[assignment]  # see get()
        if meta is None:
            meta = {"o": -1, "max": None, "wm": None}
            self.records[META] = meta
        return meta

    # --- deletions ----------------------------------------------------------------

    def delete_after(self, key: str, drop_wm: int) -> None:
        """Delete ``key`` once a *persisted* watermark has reached ``drop_wm``.

        A record is only deleted in a batch that started with a watermark already past
        its drop point. That watermark is in the changelog before the tombstone, so a
        recovered state never lacks a record its recovered watermark still needs.
        """
        heapq.heappush(self._pending_deletes, (drop_wm, key))

    def drain(self) -> list[tuple[str, Record | None]]:
        """The batch's writes in changelog order — tombstones and records, ``meta`` last."""
        writes: list[tuple[str, Record | None]] = []
        persisted = self.persisted_wm
        pending = self._pending_deletes
        while pending and persisted is not None and pending[0][0] <= persisted:
            _, key = heapq.heappop(pending)
            if self.records.pop(key, None) is not None:
                writes.append((key, None))
            self._dirty.pop(key, None)
        meta_dirty = META in self._dirty
        self._dirty.pop(META, None)
        writes.extend((key, self.records[key]) for key in self._dirty if key in self.records)
        self._dirty.clear()
        if meta_dirty:
            writes.append((META, self.records[META]))
        self.persisted_wm = self.meta.get("wm")
        return writes

    @property
    def pending_deletes(self) -> int:
        """Records waiting for a persisted watermark before they are deleted."""
        return len(self._pending_deletes)
