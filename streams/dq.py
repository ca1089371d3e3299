"""Data-quality counters per source and stream (DESIGN.md, KPIs: data quality).

events, invalid (dead-lettered, by reason), late, duplicates, last seen. One record
per (partition, source) with the offset it last counted, like every other stateful
value, so a replayed message is not counted twice. "Silent sources" are the silence
anomalies (:mod:`streams.detection`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from streams.state import PartitionState, Record

DQ_PREFIX = "dq|"
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
    def from_record(cls, source: str, record: Record) -> SourceCounts:
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
    record = state.touch(DQ_PREFIX + source, offset, {})
    if record is None:
        return
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


def counters(state: PartitionState) -> list[SourceCounts]:
    """Every source's counters on this partition."""
    return [
        SourceCounts.from_record(key.removeprefix(DQ_PREFIX), record)
        for key, record in state.items(DQ_PREFIX)
    ]
