"""Late-event corrections merged into their stored rows on the real ClickHouse, once each."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from ioc.ops.db.executors import ClickHouseExecutor
from ioc.settings import Settings
from schemas.results import KpiRecord
from schemas.topics import KPI
from tests.factories import T0, kpi
from tests.integration.sink.harness import drive, make_output, produce, unique_topics

pytestmark = pytest.mark.integration

SEGMENT = {"entity_kind": "segment", "entity_id": "QL13-01", "group_id": "QL13-01"}


def segment(**kw: Any) -> KpiRecord:
    parts = {**kpi().parts.model_dump(), "sensors_expected": 3, **kw.pop("parts", {})}
    return kpi(**{**SEGMENT, "parts": parts, **kw})


def correction(event: uuid.UUID, member: str, vehicles: int, **kw: Any) -> KpiRecord:
    return segment(
        parts={"vehicles": vehicles},
        members=[member],
        sequence=1,
        correction=True,
        event_id=event,
        late_ids=[event],
        **kw,
    )


def rows(ch: ClickHouseExecutor, database: str) -> dict[str, tuple[Any, ...]]:
    found = ch.execute(
        "SELECT window_size, observations, vehicles, sensors_reporting, sequence, late_events,"
        f" members, late_ids FROM {database}.kpi_traffic FINAL"
        " WHERE entity_kind = 'segment'"
    )
    # Sorted here: ClickHouse orders UUIDs by their two 64-bit halves, Python by value.
    return {str(r[0]): (*r[1:-1], sorted(r[-1])) for r in found}


def test_corrections_merge_once_into_the_stored_row_and_a_replay_changes_nothing(
    settings: Settings, clickhouse: ClickHouseExecutor, database: str, unique: str
) -> None:
    specs = unique_topics(settings, unique)
    topic = specs[KPI].name
    base = segment(members=["TS-A"], sequence=2)  # 1 observation, 42 vehicles, TS-A
    e1, e2, e3, e4 = sorted(uuid.uuid4() for _ in range(4))
    hour = {"window": "1h", "window_end": T0.replace(minute=0, hour=T0.hour + 1)}
    hour_start = T0.replace(minute=0)

    def settle(group: str, want: dict[str, tuple[Any, ...]]) -> None:
        sink = make_output(settings, specs, database, group)
        assert drive(sink, lambda: rows(clickhouse, database) == want, timeout_s=60), rows(
            clickhouse, database
        )

    produce(settings, topic, [base])
    settle(f"g1-{unique}", {"1m": (1, 42, 1, 2, 0, ["TS-A"], [])})
    # TS-A is counted already; TS-B is new; e1 twice (a second copy of one late event);
    # and a window with no stored row, whose base row arrives in the same batch as a
    # correction, plus one that only corrections make.
    produce(
        settings,
        topic,
        [
            correction(e1, "TS-A", 5),
            correction(e2, "TS-B", 7),
            correction(e1, "TS-A", 5),
            segment(members=["TS-C"], sequence=1, window_start=hour_start, **hour),
            correction(e3, "TS-A", 3, window_start=hour_start, **hour),
            correction(e4, "TS-D", 1, window="15m", window_end=T0.replace(minute=45)),
        ],
    )
    want = {
        "1m": (3, 54, 2, 4, 2, ["TS-A", "TS-B"], sorted([e1, e2])),
        "1h": (2, 45, 2, 2, 1, ["TS-A", "TS-C"], [e3]),
        "15m": (1, 1, 1, 1, 1, ["TS-D"], [e4]),
    }
    settle(f"g2-{unique}", want)
    # A new group re-reads everything from the start: old versions and merged events.
    settle(f"g3-{unique}", want)
    live = clickhouse.execute(
        f"SELECT count(), sum(late_events) FROM {database}.kpi_traffic_live"
        " WHERE entity_kind = 'segment'"
    )
    assert [tuple(r) for r in live] == [(3, 4)]
