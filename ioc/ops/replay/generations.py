"""The rebuild registry in ClickHouse (``generations``) and what panels read now.

A generation number is taken as max + 1 and recorded before any row is written, so
two rebuilds (or a rebuild and a new live deployment that reads the table) never
share one. Rows are appended (ReplacingMergeTree by ``updated_at_ms``): the latest
row of a generation is its state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clickhouse_driver import Client

from connectors.sinks.clickhouse.rows import COLUMNS, KPI_COMMON, KPI_TAIL
from schemas.timeutil import from_ms, to_ms, utcnow

KIND_LIVE = "live"
KIND_REBUILD = "rebuild"
Key = tuple[str, str, str, int]
"""(entity_kind, entity_id, window_size, window_start epoch s): a KPI row's identity."""


@dataclass(frozen=True, slots=True)
class Generation:
    generation: int
    application_id: str
    kind: str
    range_from_ms: int | None
    range_to_ms: int | None
    status: str
    promoted: bool
    note: str = ""


def parts_columns(table: str) -> tuple[str, ...]:
    """The additive parts of a KPI table (between identity and version columns)."""
    columns = COLUMNS[table]
    return columns[len(KPI_COMMON) : len(columns) - len(KPI_TAIL)]


def row_key(table: str, row: Sequence[Any]) -> Key:
    """The identity of a row built by ``connectors.sinks.clickhouse.rows.kpi_row``."""
    return (str(row[0]), str(row[1]), str(row[3]), to_ms(row[4]) // 1000)


def row_parts(table: str, row: Sequence[Any]) -> tuple[Any, ...]:
    """The parts of such a row, in column order."""
    return tuple(row[len(KPI_COMMON) : len(KPI_COMMON) + len(parts_columns(table))])


def same_parts(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Equal parts: exact for counts, 1e-9 relative for sums of floats (order of addition)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x is None or y is None:
            if x is not y:
                return False
        elif isinstance(x, float) or isinstance(y, float):
            if not math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-9):
                return False
        elif x != y:
            return False
    return True


class Registry:
    """``generations`` and the panels' views of one database."""

    def __init__(self, client: Client, database: str) -> None:
        self.client = client
        self.database = database

    def next_generation(self) -> int:
        """One above every generation recorded (live or rebuild)."""
        rows = self.client.execute(f"SELECT max(generation) FROM {self.database}.generations")
        return int(rows[0][0] or 0) + 1

    def record(self, g: Generation) -> None:
        """Append the generation's current state."""
        self.client.execute(
            f"INSERT INTO {self.database}.generations (generation, application_id, kind, "
            "range_from, range_to, status, promoted, note, updated_at_ms) VALUES",
            [
                (
                    g.generation, g.application_id, g.kind,
                    None if g.range_from_ms is None else from_ms(g.range_from_ms),
                    None if g.range_to_ms is None else from_ms(g.range_to_ms),
                    g.status, int(g.promoted), g.note, to_ms(utcnow()),
                )
            ],
        )  # fmt: skip

    def get(self, generation: int) -> Generation | None:
        """The latest recorded state of a generation."""
        rows = self.client.execute(
            f"SELECT generation, application_id, kind, toUInt32(range_from), toUInt32(range_to),"
            f" status, promoted, note FROM {self.database}.generations FINAL"
            f" WHERE generation = {int(generation)}"
        )
        if not rows:
            return None
        g, app, kind, lo, hi, status, promoted, note = rows[0]
        return Generation(
            int(g), str(app), str(kind),
            None if lo is None else int(lo) * 1000, None if hi is None else int(hi) * 1000,
            str(status), bool(promoted), str(note),
        )  # fmt: skip

    def all(self) -> list[Generation]:
        """Every generation, oldest first."""
        rows = self.client.execute(
            f"SELECT generation FROM {self.database}.generations FINAL ORDER BY generation"
        )
        return [g for (n,) in rows if (g := self.get(int(n))) is not None]

    def visible(self, table: str, from_ms: int, to_ms: int) -> dict[Key, tuple[Any, ...]]:
        """What panels read now (the ``<table>_live`` view) for windows starting in range."""
        parts = ", ".join(parts_columns(table))
        rows = self.client.execute(
            f"SELECT entity_kind, entity_id, window_size, toUInt32(window_start), {parts}"
            f" FROM {self.database}.{table}_live"
            f" WHERE window_start >= toDateTime({from_ms // 1000})"
            f" AND window_start < toDateTime({-(-to_ms // 1000)})"
        )
        return {(str(r[0]), str(r[1]), str(r[2]), int(r[3])): tuple(r[4:]) for r in rows}
