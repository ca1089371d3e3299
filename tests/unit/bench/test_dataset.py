"""The bench's data set: a city-sized profile and re-stamped events."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from ioc.tooling.bench.dataset import BenchRecord, city_profile, entity_count, restamp
from schemas.codec import decode
from schemas.events import DossierStatusChange, TrafficObservation
from schemas.province.loading import load_profile
from schemas.timeutil import from_ms, to_ms
from schemas.topics import DOSSIER_STATUS, TRAFFIC_OBS
from tests.factories import dossier, traffic

pytestmark = pytest.mark.unit


def test_city_profile_clones_telemetry_entities_with_valid_distinct_ids() -> None:
    base = load_profile()
    city = city_profile(base, 3)
    assert len(city.sensors) == 3 * len(base.sensors)
    assert len(city.meters) == 3 * len(base.meters)
    assert len(city.agencies) == len(base.agencies)  # dossiers stay a trickle
    assert entity_count(city) > 2 * entity_count(base)
    clone = city.sensors[len(base.sensors)]
    assert clone.sensor_id == base.sensors[0].sensor_id + ".c1"
    assert clone.segment_id == base.sensors[0].segment_id + ".c1"
    assert city_profile(base, 1) is base


def test_restamp_moves_event_time_and_keeps_identity() -> None:
    event = traffic()
    record = BenchRecord(TRAFFIC_OBS, event.key.encode(), event.to_json(), to_ms(event.event_time))
    at = to_ms(datetime(2026, 11, 26, 3, 0, 1, 500_000, tzinfo=UTC))
    moved = restamp(record, at)
    again = decode(TrafficObservation, moved.value)
    assert moved.timestamp_ms == at
    assert to_ms(again.event_time) == at
    assert again.event_id == event.event_id
    assert moved.key == record.key


def test_restamp_shifts_dossier_times_together() -> None:
    event = dossier(status="processing")
    payload = orjson.loads(event.to_json())
    record = BenchRecord(DOSSIER_STATUS, b"k", event.to_json(), to_ms(event.event_time))
    at = to_ms(event.event_time) + 3_600_000
    moved = decode(DossierStatusChange, restamp(record, at).value)
    assert to_ms(moved.event_time) == at
    if payload.get("received_at"):
        assert moved.received_at == from_ms(to_ms(event.received_at) + 3_600_000)  # type: ignore[arg-type]
