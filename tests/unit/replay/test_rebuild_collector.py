"""What a rebuild writes: only windows in range, complete, and dropped by the watermark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.sinks.clickhouse.rows import COLUMNS
from ioc.ops.replay.rebuild import RebuildPlan, _Collector
from schemas.results import Domain
from schemas.timeutil import to_ms
from streams.engine import Outputs
from tests.factories import anomaly, kpi

pytestmark = pytest.mark.unit

T = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
LATENESS = 120_000


class Writer:
    def __init__(self) -> None:
        self.rows: dict[str, list[Any]] = {}

    def write(self, table: str, rows: list[Any], start: int = 0) -> list[Any]:
        self.rows.setdefault(table, []).extend(rows)
        return []


def _plan() -> RebuildPlan:
    lo, hi = to_ms(T), to_ms(T + timedelta(hours=1))
    return RebuildPlan(
        generation=7, app_id="w-rebuild-7", from_ms=lo, to_ms=hi, read_from_ms=lo - 3_600_000,
        read_to_ms=hi + 300_000, complete_from_ms=lo - 1_800_000, source_database="ioc",
        database="ioc", promote=False, spans={}, topics={},
    )  # fmt: skip


def _minute(at: datetime, sequence: int = 1, **kw: Any) -> Any:
    return kpi(window_start=at, window_end=at + timedelta(minutes=1), generation=7,
               sequence=sequence, **kw)  # fmt: skip


def test_windows_are_written_once_dropped_and_only_their_last_emission() -> None:
    writer = Writer()
    c = _Collector(_plan(), writer, LATENESS)  # type: ignore[arg-type]
    first = _minute(T + timedelta(minutes=5))
    c.add(Domain.TRAFFIC, 0, Outputs(kpis=[first]))
    c.settle(Domain.TRAFFIC, 0, to_ms(first.window_end))  # closed, still held
    assert c.rows == {}
    again = _minute(T + timedelta(minutes=5), sequence=2, parts=first.parts.model_copy(
        update={"vehicles": 43}))  # fmt: skip
    c.add(Domain.TRAFFIC, 0, Outputs(kpis=[again]))
    c.settle(Domain.TRAFFIC, 0, to_ms(first.window_end) + LATENESS)  # dropped: final
    c.finish()
    (row,) = writer.rows["kpi_traffic"]
    assert row[7] == 43  # vehicles of the re-emission
    assert c.summary.tables["kpi_traffic"].written == 1


def test_out_of_range_incomplete_and_held_windows_are_not_written() -> None:
    writer = Writer()
    c = _Collector(_plan(), writer, LATENESS)  # type: ignore[arg-type]
    before = _minute(T - timedelta(minutes=5))  # ends before --from: read for context only
    hour = kpi(
        window="1h",
        window_start=T - timedelta(hours=1),
        window_end=T + timedelta(minutes=1),
        generation=7,
        sequence=1,
    )  # overlaps, starts before the complete bound
    held = _minute(T + timedelta(minutes=59))  # in range, never dropped
    c.add(Domain.TRAFFIC, 1, Outputs(kpis=[before, hour, held]))
    c.settle(Domain.TRAFFIC, 1, to_ms(T + timedelta(minutes=59)))
    c.finish()
    assert writer.rows == {}
    assert c.summary.held_back == 1


def test_anomalies_that_started_in_range_are_written_in_their_last_state() -> None:
    writer = Writer()
    c = _Collector(_plan(), writer, LATENESS)  # type: ignore[arg-type]
    opened = anomaly(started_at=T + timedelta(minutes=3), updated_at=T + timedelta(minutes=3),
                     generation=7, sequence=1)  # fmt: skip
    resolved = anomaly(started_at=opened.started_at, updated_at=T + timedelta(minutes=9),
                       state="resolved", ended_at=T + timedelta(minutes=9), generation=7,
                       sequence=2)  # fmt: skip
    earlier = anomaly(anomaly_id="an-0", started_at=T - timedelta(hours=2),
                      updated_at=T - timedelta(hours=2), generation=7, sequence=1)  # fmt: skip
    c.add(Domain.ENERGY, 0, Outputs(anomalies=[opened, earlier, resolved]))
    c.finish()
    (row,) = writer.rows["anomalies"]
    assert row[0] == "an-1"
    assert row[COLUMNS["anomalies"].index("state")] == "resolved"
