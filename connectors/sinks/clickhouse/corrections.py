"""Corrections merged into the stored KPI rows of their windows, one batch at a time.

A correction (``KpiRecord.correction``) is the delta of one late event for a window
the worker no longer holds (docs/decisions/0023). The sink reads the rows its
corrections touch (``FINAL``, so the newest version), folds the batch's own newer rows
over them, merges every correction in order (:func:`schemas.corrections.merge`) and
writes each merged row once, with the next sequence. The batch is written in one go
from one thread and all versions of a window travel in one KPI partition, in order, so
nothing else writes a row between this read and this write.

Exactly once: a merged row carries the ids of the late events it took. A retried batch
(ClickHouse failed half-way) or a redelivered one (the sink crashed before its commit)
finds its events already on the row and merges nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from connectors.sinks.clickhouse.rows import COLUMNS, kpi_from_row
from connectors.sinks.clickhouse.writer import WRITTEN_AT
from schemas.corrections import merge
from schemas.results import Domain, KpiRecord
from schemas.timeutil import to_ms

Key = tuple[int, str, str, str, int]
"""(generation, window size, entity kind, entity id, window start ms): one stored row."""

KEY_STRUCTURE = [
    ("generation", "UInt32"),
    ("window_size", "String"),
    ("entity_kind", "String"),
    ("entity_id", "String"),
    ("start_s", "UInt32"),
]
KEY_NAMES = [name for name, _ in KEY_STRUCTURE]
LOOKUP_CHUNK = 2_000
"""Keys per lookup query (a long IN list is fine; a megabyte query is not)."""


def key_of(k: KpiRecord) -> Key:
    """The stored row a record belongs to."""
    return (k.generation, k.window.value, k.entity_kind, k.entity_id, to_ms(k.window_start))


class Query(Protocol):
    """What the lookup needs of a ClickHouse client (clickhouse-driver's Client)."""

    def execute(self, query: str, params: Any = None, **kwargs: Any) -> Any:
        """Run a query and return its rows."""


class StoredRows:
    """The newest stored row of each window, read with ``FINAL``."""

    def __init__(self, client: Query, database: str) -> None:
        self.client = client
        self.database = database

    def fetch(self, domain: Domain, keys: Iterable[Key]) -> dict[Key, KpiRecord]:
        """The stored rows of ``keys`` that exist."""
        table = f"kpi_{domain.value}"
        columns = [c for c in COLUMNS[table] if c not in ("version", WRITTEN_AT)]
        found: dict[Key, KpiRecord] = {}
        wanted = sorted(set(keys))
        for i in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[i : i + LOOKUP_CHUNK]
            # The keys travel as an external table: no literal to escape, any size.
            rows = self.client.execute(
                f"SELECT {', '.join(columns)} FROM {self.database}.{table} FINAL"
                " WHERE (generation, window_size, entity_kind, entity_id,"
                " toUInt32(window_start)) IN (SELECT * FROM wanted)",
                external_tables=[
                    {
                        "name": "wanted",
                        "structure": KEY_STRUCTURE,
                        "data": [dict(zip(KEY_NAMES, (*k[:4], k[4] // 1000), strict=True))
                                 for k in chunk],
                    }
                ],
            )  # fmt: skip
            for row in rows:
                record = kpi_from_row(domain, dict(zip(columns, row, strict=True)))
                found[key_of(record)] = record
        return found


@dataclass
class Resolved:
    """What a batch's corrections came to."""

    rows: list[KpiRecord]
    """The merged rows to write, one per window."""
    merged: int = 0
    duplicates: int = 0
    """Corrections whose event the row had already taken."""


def resolve(
    corrections: list[KpiRecord], in_batch: dict[Key, KpiRecord], stored: dict[Key, KpiRecord]
) -> Resolved:
    """Merge ``corrections`` (in arrival order) into the newest row of each window.

    ``in_batch`` holds the batch's own rows (not yet written), ``stored`` what ClickHouse
    has; the higher version of the two is the row a correction merges into.
    """
    current = dict(stored)
    for key, record in in_batch.items():
        have = current.get(key)
        if have is None or record.version >= have.version:
            current[key] = record
    out: dict[Key, KpiRecord] = {}
    result = Resolved([])
    for c in corrections:
        key = key_of(c)
        merged = merge(current.get(key), c)
        if merged is None:
            result.duplicates += 1
            continue
        result.merged += 1
        current[key] = out[key] = merged
    result.rows = list(out.values())
    return result
