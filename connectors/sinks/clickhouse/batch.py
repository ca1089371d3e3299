"""The sink's buffer: rows per table and the offsets they cover, flushed by size or time.

Pure bookkeeping, no I/O. Offsets to commit are the next offset after the highest
record *buffered* per partition; they are only handed out together with the rows
that cover them, so a commit can never overtake a write.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

from connectors.sinks.clickhouse.corrections import Key, key_of
from connectors.sinks.clickhouse.rows import Origin, Row
from schemas.results import KpiRecord

TopicPartitionKey = tuple[str, int]


@dataclass
class Batch:
    """Rows per table plus the offsets (next to consume) they cover."""

    rows: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))
    origins: dict[str, list[Origin]] = field(default_factory=lambda: defaultdict(list))
    offsets: dict[TopicPartitionKey, int] = field(default_factory=dict)
    corrections: list[tuple[KpiRecord, Origin]] = field(default_factory=list)
    """Late-event corrections, merged into their rows at write time (sink.corrections)."""
    kpis: dict[Key, KpiRecord] = field(default_factory=dict)
    """The newest KPI record of each window buffered: what a correction merges into."""
    event_times_ms: list[int] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    written_at_ms: int | None = None
    """Stamped on the first write attempt and kept by every retry, so a retried insert
    sends the same block, which a replicated table de-duplicates (decision 0036)."""

    @property
    def size(self) -> int:
        """Rows across all tables, and corrections."""
        return sum(len(r) for r in self.rows.values()) + len(self.corrections)

    def add_kpi(self, record: KpiRecord, table: str, row: Row, origin: Origin) -> None:
        """Buffer a KPI row, or a correction to merge (see :attr:`corrections`)."""
        if record.correction:
            self.corrections.append((record, origin))
            return
        key = key_of(record)
        have = self.kpis.get(key)
        if have is None or record.version >= have.version:
            self.kpis[key] = record
        self.add(table, row, origin)

    def add(self, table: str, row: Row, origin: Origin) -> None:
        """Buffer one row for a table, remembering the record it came from."""
        self.rows[table].append(row)
        self.origins[table].append(origin)

    def covered(self, topic: str, partition: int, offset: int) -> None:
        """Record that this source record is fully represented in the batch."""
        key = (topic, partition)
        self.offsets[key] = max(self.offsets.get(key, 0), offset + 1)

    def is_due(self, max_rows: int, max_age_s: float, now: float | None = None) -> bool:
        """Flush when the batch is big enough or old enough, whichever comes first."""
        if not self.offsets:
            return False
        age = (time.monotonic() if now is None else now) - self.started
        return self.size >= max_rows or age >= max_age_s

    def drop_partitions(self, lost: set[TopicPartitionKey]) -> None:
        """Forget offsets of revoked partitions; their records return to the new owner.

        Their rows may stay in the batch: writing them anyway is harmless because
        every table de-duplicates by key.
        """
        for key in lost:
            self.offsets.pop(key, None)
