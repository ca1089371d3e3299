"""faust's messages as the engines' plain records, and the engines' outputs as Kafka records.

Pure translation, no I/O: the runtime (:mod:`streams.runtime.partition`) sends what
:func:`result_records` builds through its own producer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.timeutil import to_ms
from streams.engine import Outputs, SourceRecord
from streams.runtime.sender import OutRecord


@dataclass(frozen=True)
class OutputTopics:
    kpi: str
    anomalies: str
    deadletter: str
    dq: str
    """Per-minute data-quality records (``ioc.dq.v1``), sent with the KPIs."""


def _headers(raw: Any) -> tuple[tuple[str, bytes], ...]:
    if not raw:
        return ()
    items = raw.items() if isinstance(raw, Mapping) else raw
    return tuple((str(k), v if isinstance(v, bytes) else str(v).encode()) for k, v in items)


def source_record(message: Any) -> SourceRecord:
    """A faust message as the engine's plain record."""
    stamp = message.timestamp
    return SourceRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        timestamp_ms=None if stamp is None else round(stamp * 1000),
        headers=_headers(message.headers),
    )


def result_records(out: Outputs, topics: OutputTopics) -> list[OutRecord]:
    """KPI records, anomalies, data-quality records and dead letters, keyed for Kafka."""
    records = [
        OutRecord(topics.kpi, k.key.encode(), k.model_dump_json().encode()) for k in out.kpis
    ]
    records += [
        OutRecord(topics.anomalies, a.anomaly_id.encode(), a.model_dump_json().encode())
        for a in out.anomalies
    ]
    records += [OutRecord(topics.dq, q.key.encode(), q.model_dump_json().encode()) for q in out.dq]
    records += [
        OutRecord(
            topics.deadletter,
            letter.source_topic.encode(),
            letter.model_dump_json().encode(),
            timestamp_ms=to_ms(letter.failed_at),  # dead letters carry wall-clock time
        )
        for letter in out.dead_letters
    ]
    return records
