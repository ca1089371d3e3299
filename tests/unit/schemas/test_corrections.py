"""How a correction merges into the stored row of its window (schemas.corrections)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas.corrections import merge
from schemas.results import Domain, KpiRecord, TrafficParts, WindowSize

START = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


def parts(**over: Any) -> TrafficParts:
    base: dict[str, Any] = {
        "observations": 1,
        "vehicles": 10,
        "speed_x_vehicles": 400.0,
        "free_flow_x_vehicles": 600.0,
        "speed_vehicles": 10,
        "occupancy_sum": 0.2,
        "occupancy_samples": 1,
        "period_s_sum": 300,
        "speed_min_kmh": 40.0,
        "speed_max_kmh": 40.0,
        "sensors_reporting": 1,
        "sensors_expected": 2,
    }
    return TrafficParts(**{**base, **over})


def row(p: TrafficParts, *, members: list[str], sequence: int = 3, **over: Any) -> KpiRecord:
    return KpiRecord(
        domain=Domain.TRAFFIC,
        entity_kind="segment",
        entity_id="QL13-02",
        group_id="QL13-02",
        window=WindowSize.M1,
        window_start=START,
        window_end=START + timedelta(minutes=1),
        parts=p,
        computed_at=START + timedelta(hours=1),
        generation=1,
        sequence=sequence,
        members=members,
        **over,
    )


def correction(p: TrafficParts, member: str, event: uuid.UUID) -> KpiRecord:
    return row(p, members=[member], sequence=1, correction=True, event_id=event, late_ids=[event])


def test_a_correction_adds_sums_merges_extremes_and_counts_members_once() -> None:
    stored = row(parts(), members=["S-A"])
    late = uuid.uuid4()
    delta = parts(vehicles=5, speed_x_vehicles=150.0, speed_min_kmh=30.0, sensors_expected=3)
    merged = merge(stored, correction(delta, "S-A", late))
    assert merged is not None
    p = merged.parts
    assert isinstance(p, TrafficParts)
    assert (p.observations, p.vehicles, p.speed_x_vehicles) == (2, 15, 550.0)
    assert (p.speed_min_kmh, p.speed_max_kmh) == (30.0, 40.0)
    assert (p.sensors_reporting, p.sensors_expected) == (1, 3)  # S-A once; newest expected
    assert (merged.sequence, merged.late_events, merged.late_ids) == (4, 1, [late])
    assert not merged.correction
    assert merged.event_id is None
    other = merge(merged, correction(parts(), "S-B", uuid.uuid4()))
    assert other is not None
    assert isinstance(other.parts, TrafficParts)
    assert (other.parts.sensors_reporting, other.members) == (2, ["S-A", "S-B"])
    assert other.sequence == 5
    assert other.late_events == 2


def test_a_late_event_is_merged_once() -> None:
    late = uuid.uuid4()
    first = merge(row(parts(), members=["S-A"]), correction(parts(), "S-B", late))
    assert first is not None
    assert merge(first, correction(parts(), "S-B", late)) is None


def test_a_correction_of_a_window_never_stored_becomes_its_row() -> None:
    late = uuid.uuid4()
    merged = merge(None, correction(parts(), "S-B", late))
    assert merged is not None
    assert not merged.correction
    assert (merged.sequence, merged.late_events, merged.late_ids) == (1, 1, [late])


def test_only_corrections_merge_and_they_name_their_event() -> None:
    with pytest.raises(ValueError, match="takes a correction"):
        merge(None, row(parts(), members=[]))
    with pytest.raises(ValueError, match="names its late event"):
        row(parts(), members=[], correction=True)


def test_a_row_stored_before_members_were_listed_keeps_its_count() -> None:
    legacy = row(parts(sensors_reporting=2), members=[])
    merged = merge(legacy, correction(parts(), "S-C", uuid.uuid4()))
    assert merged is not None
    assert isinstance(merged.parts, TrafficParts)
    assert merged.parts.sensors_reporting == 2
