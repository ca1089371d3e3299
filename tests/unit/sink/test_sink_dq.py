"""Data-quality records into the dq table: one row per record, invalid by reason as arrays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.sinks.clickhouse.rows import COLUMNS, TOPIC_MODELS, Origin, rows_for
from schemas.results import DataQualityRecord
from schemas.topics import DQ

pytestmark = pytest.mark.unit

START = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)


def test_a_dq_record_is_one_row_of_the_dq_table() -> None:
    record = DataQualityRecord(
        domain="traffic",
        partition=2,
        source="mqtt-bridge",
        window_start=START,
        window_end=START + timedelta(minutes=1),
        events=10,
        late=2,
        duplicates=1,
        invalid={"validation": 1, "invalid_json": 3},
        last_seen=START + timedelta(seconds=59),
        generation=1,
        sequence=2,
    )
    [(table, row)] = rows_for(record, Origin(DQ, 0, 5), 123)
    assert table == "dq"
    got = dict(zip(COLUMNS["dq"], row, strict=True))
    assert got == {
        "domain": "traffic",
        "source": "mqtt-bridge",
        "source_partition": 2,
        "window_start": START,
        "window_end": START + timedelta(minutes=1),
        "events": 10,
        "late": 2,
        "duplicates": 1,
        "invalid": 4,
        "invalid_reasons": ["invalid_json", "validation"],
        "invalid_counts": [3, 1],
        "last_seen": START + timedelta(seconds=59),
        "generation": 1,
        "sequence": 2,
        "version": (1 << 32) + 2,
        "written_at_ms": 123,
    }
    assert TOPIC_MODELS[DQ] is DataQualityRecord
