"""decode(): bad payloads raise ContractError naming reason and fields, never anything else."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from schemas_strategies import EVENT_MODELS, FAST, event_dicts, sample, timezones

from schemas.base import Event
from schemas.codec import decode
from schemas.errors import ContractError, IocError
from schemas.events import DossierStatusChange, EnergyReading, QrScan, TrafficObservation

pytestmark = pytest.mark.unit

models = pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.__name__)

MISSING = object()
"""Corruption that deletes the field."""

NAIVE = "2025-01-01T07:00:00"

COMMON_CORRUPTIONS: list[tuple[str, Any]] = [
    ("source", MISSING),
    ("source", ""),
    ("source", "có dấu"),
    ("source", "x" * 65),
    ("source", 42),
    ("event_id", "not-a-uuid"),
    ("schema_version", "one"),
]

CORRUPTIONS: dict[type[Event], list[tuple[str, Any]]] = {
    QrScan: [
        ("scanned_at", NAIVE),
        ("scanned_at", MISSING),
        ("scanned_at", "yesterday"),
        ("checkpoint_id", MISSING),
        ("checkpoint_id", "Chợ Đồng Xoài"),
        ("subject_hash", "ABC"),
        ("subject_hash", "A" * 64),
        ("subject_hash", "g" * 64),
        ("subject_kind", "animal"),
        ("direction", "sideways"),
        ("declaration_status", "purple"),
        ("device_id", None),
        ("pii_key_id", MISSING),
    ],
    TrafficObservation: [
        ("observed_at", NAIVE),
        ("observed_at", MISSING),
        ("occupancy", 1.5),
        ("occupancy", -0.01),
        ("occupancy", "high"),
        ("average_speed_kmh", -1),
        ("average_speed_kmh", 1_000.5),
        ("average_speed_kmh", "fast"),
        ("intensity", "many"),
        ("intensity", -1),
        ("intensity", 2.5),
        ("period_s", 0),
        ("period_s", 86_401),
        ("segment_id", MISSING),
        ("lane_id", ""),
        ("congested", "maybe"),
        ("vehicle_counts.car", -3),
        ("vehicle_counts.motorcycle", "lots"),
    ],
    EnergyReading: [
        ("measured_at", NAIVE),
        ("measured_at", "2025-13-01T00:00:00+07:00"),
        ("power_factor", 2),
        ("power_factor", -1.01),
        ("active_power_kw", 100_001),
        ("energy_kwh_total", -0.5),
        ("frequency_hz", -50),
        ("voltage_v", 230),  # optional (FIWARE), but phases when given
        ("active_power_kw", "lots"),
        ("voltage_v.l1", -230),
        ("voltage_v.l1", MISSING),
        ("current_a.l2", -1),
        ("meter_id", MISSING),
    ],
    DossierStatusChange: [
        ("changed_at", NAIVE),
        ("changed_at", MISSING),
        ("received_at", NAIVE),
        ("due_at", "2025-01-01 17:00"),
        ("level", 0),
        ("level", 5),
        ("channel", "fax"),
        ("status", "lost"),
        ("status", MISSING),
        ("previous_status", "lost"),
        ("outbox_id", -1),
        ("outbox_id", "7a"),
        ("applicant_hash", "abc"),
        ("paid_online", "perhaps"),
        ("agency_code", MISSING),
    ],
}


def _corrupt(payload: dict[str, Any], path: str, bad: Any) -> dict[str, Any]:
    payload = orjson.loads(orjson.dumps(payload))  # deep copy
    *parents, leaf = path.split(".")
    target = payload
    for name in parents:
        if not isinstance(target.get(name), dict):
            target[name] = {"l1": 1.0}  # optional nested model absent: make one to corrupt
        target = target[name]
    if bad is MISSING:
        target.pop(leaf, None)
    else:
        target[leaf] = bad
    return payload


def _corruptions(model: type[Event]) -> st.SearchStrategy[tuple[str, Any]]:
    return st.sampled_from(COMMON_CORRUPTIONS + CORRUPTIONS[model])


# --- 2. one bad field ---------------------------------------------------------


@models
@FAST
@given(data=st.data())
def test_one_corrupt_field_is_named(model: type[Event], data: st.DataObject) -> None:
    payload = data.draw(event_dicts(model))
    field, bad = data.draw(_corruptions(model))
    broken = _corrupt(payload, field, bad)

    for raw in (broken, orjson.dumps(broken)):
        for strict in (False, True):
            with pytest.raises(ContractError) as info:
                decode(model, raw, strict=strict)
            err = info.value
            assert err.reason == "validation", (field, bad, err)
            assert field in err.fields, (field, bad, err.fields)
            assert err.fields == (field,), "only the corrupted field may be blamed"
            assert field in str(err)


@models
def test_every_corruption_is_exercised(model: type[Event]) -> None:
    # The property above samples; this makes sure every listed corruption really fails.
    valid = sample(model)
    for field, bad in COMMON_CORRUPTIONS + CORRUPTIONS[model]:
        with pytest.raises(ContractError) as info:
            decode(model, _corrupt(valid, field, bad))
        assert info.value.fields == (field,), (field, bad, info.value.fields)


def test_several_bad_fields_are_all_named() -> None:
    with pytest.raises(ContractError) as info:
        decode(
            TrafficObservation,
            {
                "source": "cam",
                "sensor_id": "s1",
                "segment_id": "seg",
                "observed_at": NAIVE,
                "period_s": 60,
                "intensity": -1,
                "average_speed_kmh": 20,
                "occupancy": 1.5,
            },
        )
    assert info.value.reason == "validation"
    assert set(info.value.fields) == {"observed_at", "intensity", "occupancy"}


def test_contract_error_is_an_ioc_error() -> None:
    err = ContractError("validation", "x: bad", ("x",))
    assert isinstance(err, IocError)
    assert (err.reason, err.fields, str(err)) == ("validation", ("x",), "x: bad")
    assert ContractError("invalid_json", "nope").fields == ()


# --- strict mode --------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "nested"),
    [(TrafficObservation, "vehicle_counts"), (EnergyReading, "voltage_v")],
)
def test_strict_decode_rejects_unknown_nested_fields(model: type[Event], nested: str) -> None:
    valid = sample(model)
    valid[nested] = {**valid[nested], "surprise": 1}
    assert decode(model, valid) is not None
    with pytest.raises(ContractError) as info:
        decode(model, valid, strict=True)
    assert info.value.reason == "unknown_field"
    assert info.value.fields == (f"{nested}.surprise",)


def test_major_version_wins_over_unknown_field() -> None:
    payload = sample(QrScan)
    payload.update({"aaa": 1, "schema_version": "2.0", "zzz": 2})
    with pytest.raises(ContractError) as info:
        decode(QrScan, payload, strict=True)
    assert info.value.reason == "unknown_major_version"
    assert "schema_version" in info.value.fields


# --- 6. NaN / Infinity ---------------------------------------------------------

FLOAT_FIELDS: list[tuple[type[Event], str]] = [
    (TrafficObservation, "occupancy"),
    (TrafficObservation, "average_speed_kmh"),
    (EnergyReading, "active_power_kw"),
    (EnergyReading, "energy_kwh_total"),
    (EnergyReading, "power_factor"),
    (EnergyReading, "frequency_hz"),
    (EnergyReading, "voltage_v.l1"),
    (EnergyReading, "current_a.l3"),
]


@pytest.mark.parametrize(("model", "field"), FLOAT_FIELDS)
@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"nan", b"1e999"])
def test_non_finite_json_literal_is_invalid_json(
    model: type[Event], field: str, literal: bytes
) -> None:
    payload = sample(model)
    placeholder = _corrupt(payload, field, "__HERE__")
    raw = orjson.dumps(placeholder).replace(b'"__HERE__"', literal)
    for strict in (False, True):
        with pytest.raises(ContractError) as info:
            decode(model, raw, strict=strict)
        assert info.value.reason == "invalid_json"


@pytest.mark.parametrize(("model", "field"), FLOAT_FIELDS)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_float_in_a_dict_is_a_validation_error(
    model: type[Event], field: str, value: float
) -> None:
    payload = sample(model)
    for strict in (False, True):
        with pytest.raises(ContractError) as info:
            decode(model, _corrupt(payload, field, value), strict=strict)
        assert info.value.reason == "validation"
        assert info.value.fields == (field,)


# --- 7. garbage in, ContractError out ------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"{",
        b"{'single': 'quotes'}",
        b"\xff\xfe",
        b'{"source": "\xff"}',
        b"\x00",
        "\ud800",
        b"[]",
        b'[{"source": "cam"}]',
        b"null",
        b"42",
        b'"a string"',
        b"true",
        b'"' + b"x" * 2_000_000 + b'"',
    ],
)
@models
def test_not_a_json_object_is_invalid_json(model: type[Event], raw: bytes | str) -> None:
    for strict in (False, True):
        with pytest.raises(ContractError) as info:
            decode(model, raw, strict=strict)
        assert info.value.reason == "invalid_json"
        assert info.value.fields == ()


def test_huge_string_in_a_code_field_is_a_validation_error() -> None:
    payload = sample(QrScan)
    payload["checkpoint_id"] = "A" * 1_000_000
    with pytest.raises(ContractError) as info:
        decode(QrScan, orjson.dumps(payload))
    assert info.value.reason == "validation"
    assert info.value.fields == ("checkpoint_id",)
    assert len(str(info.value)) < 1_000, "the message must not echo the payload"


@models
@FAST
@given(raw=st.binary(max_size=200) | st.text(max_size=200))
@example(raw=b"{}")
@example(raw="{}")
def test_arbitrary_bytes_only_ever_raise_contract_error(
    model: type[Event], raw: bytes | str
) -> None:
    with pytest.raises(ContractError) as info:
        decode(model, raw)
    assert info.value.reason in {"invalid_json", "validation"}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.datetimes(timezones=st.none() | timezones).map(datetime.isoformat),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@models
@FAST
@given(data=st.data())
def test_any_value_in_any_field_gives_a_model_or_contract_error(
    model: type[Event], data: st.DataObject
) -> None:
    payload = data.draw(event_dicts(model))
    field = data.draw(st.sampled_from(sorted(payload)))
    payload[field] = data.draw(json_values)
    for strict in (False, True):
        outcome: object
        try:
            outcome = decode(model, payload, strict=strict)
        except ContractError as err:  # the only exception decode() may raise
            outcome = err
        if isinstance(outcome, ContractError):
            assert outcome.reason in {"validation", "unknown_major_version", "unknown_field"}
        else:
            assert type(outcome) is model


@models
@pytest.mark.parametrize(
    "when",
    [
        "0001-01-01T00:00:00+07:00",
        "0001-01-01T06:59:59+07:00",
        "9999-12-31T23:59:59-07:00",
        "9999-12-31T20:00:00-05:00",
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=7))),
        datetime.max.replace(tzinfo=timezone(timedelta(hours=-1))),
    ],
)
def test_time_that_overflows_utc_is_a_validation_error(
    model: type[Event], when: str | datetime
) -> None:
    payload = sample(model)
    payload[model.TIME_FIELD] = when
    with pytest.raises(ContractError) as info:
        decode(model, payload)
    assert info.value.reason == "validation"
    assert info.value.fields == (model.TIME_FIELD,)


@models
def test_extreme_but_representable_times_round_trip(model: type[Event]) -> None:
    payload = sample(model)
    for when in ("0001-01-01T07:00:00+07:00", "9999-12-31T16:59:59-07:00"):
        event = decode(model, {**payload, model.TIME_FIELD: when})
        assert decode(model, event.to_json(), strict=True) == event


@models
@FAST
@given(
    data=st.data(),
    depth=st.integers(min_value=17, max_value=1_020),
    text=st.sampled_from(["x", "Bình Phước", "079201001234"]),
)
def test_any_nesting_is_a_contract_error_never_a_crash(
    model: type[Event], data: st.DataObject, depth: int, text: str
) -> None:
    # orjson parses up to 1,024 levels; NFC normalisation and validation recurse over the
    # value, so a deep one exhausted Python's stack (a 500 at the gateway, a dead agent).
    payload = data.draw(event_dicts(model))
    field = data.draw(st.sampled_from(sorted(payload)))
    value: Any = text
    encoded = orjson.dumps(text)
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
        encoded = b"[" + encoded + b"]" if level % 2 else b'{"k":' + encoded + b"}"
    # Bytes built by hand: orjson.dumps itself stops at 254 levels.
    raw_bytes = orjson.dumps({**payload, field: "<nest>"}).replace(b'"<nest>"', encoded)
    payload[field] = value
    for raw in (payload, raw_bytes):
        with pytest.raises(ContractError) as info:
            decode(model, raw)
        assert info.value.reason == "too_deep"
