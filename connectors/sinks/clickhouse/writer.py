"""Writes a batch to ClickHouse: one columnar insert per table, split to find poison rows.

Two kinds of failure are told apart. A *poison* row (a value the server or the
driver refuses) is isolated by bisecting the insert: the good rows are written,
the bad ones come back to the caller for the dead-letter table. Anything else
(connection refused, timeout, server restarting) is an *outage*: the whole batch
is kept and retried later, nothing is dropped.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from clickhouse_driver import errors as ch_errors

from connectors.sinks.clickhouse.rows import COLUMNS, Row
from schemas.errors import IocError
from schemas.privacy import MAX_ERROR

# Server error codes that mean "this data is wrong", not "the server is unwell".
_DATA_ERROR_CODES = frozenset(
    {
        6,  # CANNOT_PARSE_TEXT
        27,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
        41,  # CANNOT_PARSE_DATETIME
        53,  # TYPE_MISMATCH
        69,  # ARGUMENT_OUT_OF_BOUND
        70,  # CANNOT_CONVERT_TYPE
        72,  # CANNOT_PARSE_NUMBER
        131,  # TOO_LARGE_STRING_SIZE
        321,  # VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
    }
)


class OutageError(IocError):
    """ClickHouse is unreachable or failing; the batch must be retried, not split."""


class Inserter(Protocol):
    """Anything that can run a columnar insert (clickhouse-driver's Client does)."""

    def execute(self, query: str, params: Any = None, **kwargs: Any) -> Any:
        """Run a query; ``params`` carries the rows of an insert."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row the server or driver refused: its index in the insert and why."""

    index: int
    error: str


def is_poison(exc: BaseException) -> bool:
    """True when the failure is about the rows themselves."""
    if isinstance(exc, ch_errors.Error):
        # Server-side refusals and the driver's own client-side TypeMismatchError
        # (code 53) both carry a ClickHouse error code.
        return getattr(exc, "code", None) in _DATA_ERROR_CODES
    # The driver serialises columns client-side: out-of-range numbers, dates the
    # type cannot hold and wrong Python types fail here, before anything is sent.
    return isinstance(exc, (struct.error, OverflowError, ValueError, TypeError, AttributeError))


WRITTEN_AT = "written_at_ms"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class TableWriter:
    """Columnar inserts into one database."""

    def __init__(self, client: Inserter, database: str, clock: Callable[[], int] = _now_ms) -> None:
        self.client = client
        self.database = database
        self.clock = clock

    def _insert(self, table: str, rows: Sequence[Row], written_at: int | None) -> None:
        columns = COLUMNS[table]
        data = [list(col) for col in zip(*rows, strict=True)]
        if columns[-1] == WRITTEN_AT:
            # Stamped as the insert leaves, not when the record was buffered: the column
            # is the event-to-queryable latency, and a row waits in the batch for up to
            # sink_batch_max_age_s before this. A retry passes its first attempt's stamp:
            # the same rows make the same block, which replicated tables de-duplicate.
            data[-1] = [self.clock() if written_at is None else written_at] * len(rows)
        self.client.execute(
            f"INSERT INTO {self.database}.{table} ({', '.join(columns)}) VALUES",
            data,
            columnar=True,
        )

    def write(
        self, table: str, rows: Sequence[Row], start: int = 0, *, written_at: int | None = None
    ) -> list[Rejected]:
        """Insert rows; return the ones refused as poison. Raise OutageError otherwise.

        Halves are written independently: re-writing a half that already landed is
        harmless, since every table de-duplicates by key. ``written_at``: the stamp of
        ``written_at_ms`` (default: now).
        """
        if not rows:
            return []
        try:
            self._insert(table, rows, written_at)
            return []
        except Exception as exc:
            if not is_poison(exc):
                raise OutageError(f"insert into {table} failed: {exc}") from exc
            if len(rows) == 1:
                # It becomes a dead letter's error: cut at the same limit as every other.
                return [Rejected(start, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])]
            middle = len(rows) // 2
            return self.write(table, rows[:middle], start, written_at=written_at) + self.write(
                table, rows[middle:], start + middle, written_at=written_at
            )
