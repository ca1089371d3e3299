"""The sink's resolution of a batch's corrections (pure: rows in, rows out)."""

from __future__ import annotations

import uuid
from typing import Any

from connectors.sinks.clickhouse.corrections import key_of, resolve
from schemas.results import KpiRecord, TrafficParts
from tests.factories import kpi


def vehicles(record: KpiRecord) -> int:
    assert isinstance(record.parts, TrafficParts)
    return record.parts.vehicles


def correction(event: uuid.UUID, n: int, **kw: Any) -> KpiRecord:
    parts = {**kpi().parts.model_dump(), "vehicles": n}
    return kpi(parts=parts, sequence=1, correction=True, event_id=event, late_ids=[event], **kw)


def test_corrections_merge_into_the_newer_of_the_stored_and_the_batch_row() -> None:
    stored = kpi(sequence=2)  # 42 vehicles
    newer = kpi(sequence=3, parts={**kpi().parts.model_dump(), "vehicles": 50})
    e1, e2 = uuid.uuid4(), uuid.uuid4()
    out = resolve(
        [correction(e1, 5), correction(e2, 1), correction(e1, 5)],
        {key_of(newer): newer},
        {key_of(stored): stored},
    )
    assert (out.merged, out.duplicates) == (2, 1)
    assert len(out.rows) == 1  # one row per window, written once
    assert (vehicles(out.rows[0]), out.rows[0].sequence, out.rows[0].late_events) == (56, 5, 2)


def test_an_older_batch_row_does_not_hide_the_stored_merge() -> None:
    e1 = uuid.uuid4()
    merged = resolve([correction(e1, 5)], {}, {key_of(kpi()): kpi(sequence=2)}).rows[0]
    redelivered = kpi(sequence=2)  # the base row again, after the merged one was written
    again = resolve(
        [correction(e1, 5)], {key_of(redelivered): redelivered}, {key_of(merged): merged}
    )
    assert (again.merged, again.duplicates, again.rows) == (0, 1, [])
