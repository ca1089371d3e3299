"""Event contracts: JSON round trip, schema versions, deterministic event ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from schemas_strategies import (
    EVENT_MODELS,
    FAST,
    ICT,
    aware_datetimes,
    client_ids,
    codes,
    event_dicts,
    events,
    is_utc,
    sample,
    timezones,
)

from schemas.base import EVENT_ID_NAMESPACE, Event, derive_event_id
from schemas.codec import decode
from schemas.errors import ContractError
from schemas.events import DossierStatusChange, EnergyReading, QrScan, TrafficObservation

pytestmark = pytest.mark.unit

models = pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.__name__)


def _utc_fields(event: Event) -> list[datetime]:
    return [v for v in event.__dict__.values() if isinstance(v, datetime)]


# --- 1. round trip ------------------------------------------------------------


@models
@FAST
@given(data=st.data())
def test_valid_event_round_trips_through_json(model: type[Event], data: st.DataObject) -> None:
    event = data.draw(events(model))
    wire = event.to_json()

    tolerant = decode(model, wire)
    strict = decode(model, wire, strict=True)

    assert tolerant == event
    assert strict == event
    assert type(tolerant) is model
    assert type(strict) is model, "strict decoding must return the model asked for"
    assert tolerant.event_id == event.event_id != uuid.UUID(int=0)
    for value in (*_utc_fields(event), *_utc_fields(tolerant), *_utc_fields(strict)):
        assert is_utc(value), value
    assert tolerant.event_time == event.event_time
    assert is_utc(tolerant.event_time)
    # The wire form is stable and every timestamp on it is UTC ("Z").
    assert tolerant.to_json() == wire
    time_text = event.model_dump(mode="json")[model.TIME_FIELD]
    assert time_text.endswith("Z"), time_text
    # Key and event time come from the declared fields.
    assert tolerant.key == str(getattr(tolerant, model.KEY_FIELD))
    assert tolerant.event_time is getattr(tolerant, model.TIME_FIELD)


@models
def test_key_and_time_fields_are_declared(model: type[Event]) -> None:
    assert model.KEY_FIELD in model.model_fields
    assert model.TIME_FIELD in model.model_fields


def test_ict_timestamp_is_stored_as_utc() -> None:
    event = decode(
        TrafficObservation,
        {
            "source": "cam",
            "sensor_id": "s1",
            "segment_id": "QL14-km5",
            "observed_at": "2025-07-01T07:00:00+07:00",
            "period_s": 60,
            "intensity": 12,
            "average_speed_kmh": 31.5,
            "occupancy": 0.25,
        },
    )
    assert event.observed_at == datetime(2025, 7, 1, 0, 0, tzinfo=UTC)
    assert event.observed_at.utcoffset() == timedelta(0)
    assert b'"observed_at":"2025-07-01T00:00:00Z"' in event.to_json()


# --- 3. schema versions -------------------------------------------------------

extra_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=20)
json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
json_values = (
    json_scalars
    | st.lists(json_scalars, max_size=3)
    | st.dictionaries(extra_keys, json_scalars, max_size=3)
)


def _extras(model: type[Event]) -> st.SearchStrategy[dict[str, Any]]:
    keys = extra_keys.filter(lambda k: k not in model.model_fields)
    return st.dictionaries(keys, json_values, min_size=1, max_size=3)


@models
@FAST
@given(data=st.data())
def test_newer_minor_version_with_extra_fields(model: type[Event], data: st.DataObject) -> None:
    event = data.draw(events(model))
    payload = event.model_dump(mode="json")
    client_id = data.draw(st.booleans(), label="client-given id")
    if not client_id:
        del payload["event_id"]
    extras = data.draw(_extras(model))
    minor = data.draw(st.integers(min_value=1, max_value=10_000))
    newer = {**payload, "schema_version": f"1.{minor}", **extras}

    tolerant = decode(model, newer)
    # The id is kept when given, and re-derived identically (extras are no part of it) when not.
    expected_id = event.event_id if client_id else decode(model, payload).event_id
    assert tolerant.event_id == expected_id
    assert tolerant.schema_version == f"1.{minor}"
    assert not set(extras) & set(tolerant.model_dump())

    with pytest.raises(ContractError) as info:
        decode(model, newer, strict=True)
    assert info.value.reason == "unknown_field"
    assert set(info.value.fields) == set(extras)


@models
@FAST
@given(data=st.data())
def test_unknown_major_version_is_rejected_in_both_modes(
    model: type[Event], data: st.DataObject
) -> None:
    payload = data.draw(event_dicts(model))
    major = data.draw(st.integers(min_value=0, max_value=10_000).filter(lambda n: n != 1))
    minor = data.draw(st.integers(min_value=0, max_value=99))
    payload["schema_version"] = f"{major}.{minor}"
    if data.draw(st.booleans(), label="with extra fields"):
        payload.update(data.draw(_extras(model)))

    for strict in (False, True):
        with pytest.raises(ContractError) as info:
            decode(model, payload, strict=strict)
        assert info.value.reason == "unknown_major_version"
        assert "schema_version" in info.value.fields


@models
def test_major_two_is_rejected(model: type[Event]) -> None:
    for strict in (False, True):
        with pytest.raises(ContractError) as info:
            decode(model, {"schema_version": "2.0"}, strict=strict)
        assert info.value.reason == "unknown_major_version"
        assert "schema_version" in info.value.fields


@pytest.mark.parametrize("version", ["1", "1.", ".1", "v1.0", "1.0.0", "1.x", "", "1.0\n"])
def test_malformed_schema_version_is_a_validation_error(version: str) -> None:
    payload = {
        "source": "cam",
        "meter_id": "m1",
        "feeder_id": "f1",
        "area_code": "70",
        "measured_at": "2025-01-01T00:00:00Z",
        "active_power_kw": 1.0,
        "energy_kwh_total": 2.0,
        "voltage_v": {"l1": 230.0},
        "schema_version": version,
    }
    with pytest.raises(ContractError) as info:
        decode(EnergyReading, payload)
    assert info.value.reason == "validation"
    assert info.value.fields == ("schema_version",)


# --- 4. deterministic event ids ----------------------------------------------

IDENTITY_FIELDS: dict[type[Event], tuple[str, ...]] = {
    QrScan: ("device_id", "subject_hash", "direction"),
    TrafficObservation: ("sensor_id", "lane_id"),
    EnergyReading: ("meter_id",),
    DossierStatusChange: ("dossier_id", "outbox_id"),
}

OTHER_VALUE: dict[str, Any] = {
    "subject_hash": "f" * 64,
    "direction": "out",
    "outbox_id": 424242,
}


def _without_id(model: type[Event], data: st.DataObject) -> dict[str, Any]:
    payload = data.draw(event_dicts(model))
    del payload["event_id"]
    return payload


@models
@FAST
@given(data=st.data())
def test_same_content_gives_same_derived_id(model: type[Event], data: st.DataObject) -> None:
    payload = _without_id(model, data)
    first = decode(model, payload)
    second = decode(model, dict(payload))
    third = decode(model, first.model_dump_json(exclude={"event_id"}))
    assert first.event_id == second.event_id == third.event_id
    assert first.event_id.version == 5
    entity, sequence = first.identity()
    assert first.event_id == derive_event_id(first.source, entity, first.event_time, sequence)


@models
@FAST
@given(data=st.data())
def test_changing_time_entity_or_source_changes_the_id(
    model: type[Event], data: st.DataObject
) -> None:
    payload = _without_id(model, data)
    original = decode(model, payload)
    field = data.draw(st.sampled_from((model.TIME_FIELD, "source", *IDENTITY_FIELDS[model])))
    if field == model.TIME_FIELD:
        shift = data.draw(
            st.timedeltas(min_value=timedelta(days=-365), max_value=timedelta(days=365)).filter(
                bool
            )
        )
        new_value: Any = (original.event_time + shift).isoformat()
    else:
        new_value = OTHER_VALUE.get(field) or data.draw(codes)
        assume(payload.get(field) != new_value)
    changed = decode(model, {**payload, field: new_value})
    assert changed.event_id != original.event_id, field


@models
@FAST
@given(data=st.data())
def test_other_fields_do_not_change_a_derived_id(model: type[Event], data: st.DataObject) -> None:
    # The id names the real-world event, not the measurement: a corrected re-send collides.
    first = _without_id(model, data)
    second = _without_id(model, data)
    for field in ("source", model.TIME_FIELD, *IDENTITY_FIELDS[model]):
        second[field] = first[field]
    assert decode(model, first).event_id == decode(model, second).event_id


@models
@FAST
@given(data=st.data())
def test_same_instant_with_another_offset_gives_the_same_id(
    model: type[Event], data: st.DataObject
) -> None:
    payload = _without_id(model, data)
    instant = data.draw(aware_datetimes)
    other_zone = data.draw(timezones)
    here = decode(model, {**payload, model.TIME_FIELD: instant.isoformat()})
    there = decode(model, {**payload, model.TIME_FIELD: instant.astimezone(other_zone).isoformat()})
    assert here.event_id == there.event_id
    assert here.event_time == there.event_time


@pytest.mark.parametrize(
    "written",
    [
        "2025-03-01T07:00:00+07:00",
        "2025-03-01T00:00:00Z",
        "2025-03-01T00:00:00+00:00",
        "2025-02-28T17:00:00-07:00",
        "2025-03-01T05:30:00+05:30",
    ],
)
def test_ict_and_utc_spellings_share_an_id(written: str) -> None:
    payload = {
        "source": "gate-app",
        "checkpoint_id": "cho-dong-xoai",
        "area_code": "25195",
        "scanned_at": written,
        "subject_kind": "person",
        "subject_hash": "a" * 64,
        "pii_key_id": "k1",
        "direction": "in",
        "device_id": "dev-7",
    }
    reference = derive_event_id(
        "gate-app", f"dev-7/{'a' * 64}/in", datetime(2025, 3, 1, 7, tzinfo=ICT)
    )
    assert decode(QrScan, payload).event_id == reference


@models
@FAST
@given(data=st.data())
def test_client_given_event_id_is_kept(model: type[Event], data: st.DataObject) -> None:
    payload = _without_id(model, data)
    given_id = data.draw(client_ids)
    derived = decode(model, payload).event_id
    assume(given_id != derived)
    kept = decode(model, {**payload, "event_id": str(given_id)})
    assert kept.event_id == given_id
    assert decode(model, kept.to_json(), strict=True).event_id == given_id


def test_derive_event_id_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="offset"):
        derive_event_id("s", "e", datetime(2025, 1, 1))  # noqa: DTZ001 - the point of the test
    aware = datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=7)))
    assert derive_event_id("s", "e", aware) == derive_event_id("s", "e", aware.astimezone(UTC))
    assert derive_event_id("s", "e", aware, 1) != derive_event_id("s", "e", aware, 0)


def test_derived_ids_never_change() -> None:
    # Redelivered events must keep their ids across releases: namespace and name format are frozen.
    namespace = uuid.UUID("5b0c3f5e-7a39-4f64-9c1e-1d0c6b1f0a01")
    assert namespace == EVENT_ID_NAMESPACE
    when = datetime(2025, 3, 1, 7, tzinfo=ICT)
    name = f"gate-app|dev-7/{'a' * 64}/in|2025-03-01T00:00:00+00:00|0"
    expected = uuid.UUID("2c9ec569-cb4c-57b0-9b01-04876315ff80")
    assert uuid.uuid5(namespace, name) == expected
    assert derive_event_id("gate-app", f"dev-7/{'a' * 64}/in", when) == expected
    dossier = decode(DossierStatusChange, sample(DossierStatusChange) | {"changed_at": when})
    assert dossier.event_id == uuid.UUID("e8a7c048-e207-5596-b823-1a1280692728")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("voltage_v", "l1"), 1e308),
        (("voltage_v", "l2"), 1_000_001.0),
        (("current_a", "l3"), 1e308),
        (("energy_kwh_total",), 1e308),
        (("active_power_kw",), 1e308),
        (("frequency_hz",), 1e308),
    ],
)
def test_physically_impossible_readings_are_refused(path: tuple[str, ...], value: float) -> None:
    # 1e308 is a finite float: allow_inf_nan does not stop it, only a ceiling does.
    payload = sample(EnergyReading)
    payload["current_a"] = {"l1": 5.0, "l2": 5.0, "l3": 5.0}
    target = payload
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = value
    with pytest.raises(ContractError) as info:
        decode(EnergyReading, payload)
    assert info.value.fields == (".".join(path),)
    target[path[-1]] = 230.0 if path[0] in {"voltage_v", "current_a"} else 50.0
    decode(EnergyReading, payload)  # the same reading with a real value is fine
