"""Result contracts: versions, discriminated KPI parts, anomalies and dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from schemas_strategies import FAST, PARTS, anomalies, dead_letters, is_utc, kpi_records, uint32

from schemas.base import Contract
from schemas.codec import decode
from schemas.errors import ContractError
from schemas.results import (
    UINT32,
    Anomaly,
    DeadLetter,
    Domain,
    DossierParts,
    EnergyParts,
    KpiRecord,
    QrParts,
    TrafficParts,
    make_version,
)

pytestmark = pytest.mark.unit

PARTS_CLASS = {
    Domain.TRAFFIC: TrafficParts,
    Domain.ENERGY: EnergyParts,
    Domain.QR: QrParts,
    Domain.DOSSIER: DossierParts,
}


# --- make_version -------------------------------------------------------------


@FAST
@given(generation=uint32, sequence=uint32)
def test_make_version_is_generation_then_sequence(generation: int, sequence: int) -> None:
    version = make_version(generation, sequence)
    assert version == generation * 2**32 + sequence
    assert 0 <= version < 2**64, "must fit ClickHouse UInt64"
    assert divmod(version, UINT32) == (generation, sequence)


@FAST
@given(a=st.tuples(uint32, uint32), b=st.tuples(uint32, uint32))
def test_generation_dominates_sequence(a: tuple[int, int], b: tuple[int, int]) -> None:
    assert (make_version(*a) < make_version(*b)) == (a < b)


@pytest.mark.parametrize(
    ("generation", "sequence"),
    [(-1, 0), (0, -1), (2**32, 0), (0, 2**32), (2**40, 2**40), (-(2**32), 2**32 - 1)],
)
def test_make_version_bounds(generation: int, sequence: int) -> None:
    with pytest.raises(ValueError, match="32 bits"):
        make_version(generation, sequence)


def test_make_version_edges() -> None:
    assert make_version(0, 0) == 0
    assert make_version(0, 2**32 - 1) == 2**32 - 1
    assert make_version(1, 0) == 2**32
    assert make_version(2**32 - 1, 2**32 - 1) == 2**64 - 1


# --- KpiRecord ----------------------------------------------------------------


@FAST
@given(record=kpi_records())
def test_kpi_record_round_trips_with_its_parts_type(record: KpiRecord) -> None:
    wire = record.model_dump_json()
    back = decode(KpiRecord, wire)
    assert back == record
    assert type(back.parts) is PARTS_CLASS[record.domain]
    assert back.parts.domain == record.domain.value
    assert back.version == make_version(record.generation, record.sequence)
    assert orjson.loads(wire)["version"] == back.version
    for value in (back.window_start, back.window_end, back.computed_at):
        assert is_utc(value)


@FAST
@given(parts=st.sampled_from(Domain).flatmap(lambda domain: PARTS[domain]))
def test_parts_are_chosen_by_their_domain_tag(parts: Contract) -> None:
    payload = _kpi_payload(parts.model_dump(mode="json"))
    back = decode(KpiRecord, orjson.dumps(payload))
    assert type(back.parts) is type(parts)
    assert back.parts == parts


def _kpi_payload(parts: dict[str, Any]) -> dict[str, Any]:
    return {
        "domain": parts.get("domain", "traffic"),
        "entity_kind": "sensor",
        "entity_id": "cam-ql14-km5",
        "group_id": "QL14:km5",
        "window": "15m",
        "window_start": "2025-03-01T07:00:00+07:00",
        "window_end": "2025-03-01T07:15:00+07:00",
        "parts": parts,
        "computed_at": "2025-03-01T00:16:00Z",
        "generation": 3,
        "sequence": 7,
    }


@pytest.mark.parametrize(
    ("parts", "field"),
    [
        ({"domain": "weather"}, "parts"),
        ({"readings": 1}, "parts"),
        (
            {
                "domain": "qr",
                "scans": -1,
                "scans_in": 0,
                "scans_out": 0,
                "persons": 0,
                "vehicles": 0,
                "not_green": 0,
                "distinct_subjects": 0,
            },
            "parts.qr.scans",
        ),
    ],
)
def test_bad_parts_are_named(parts: dict[str, Any], field: str) -> None:
    with pytest.raises(ContractError) as info:
        decode(KpiRecord, _kpi_payload(parts))
    assert info.value.reason == "validation"
    assert field in info.value.fields


def test_kpi_version_and_key() -> None:
    payload = _kpi_payload(
        {
            "domain": "qr",
            "scans": 3,
            "scans_in": 2,
            "scans_out": 1,
            "persons": 3,
            "vehicles": 0,
            "not_green": 0,
            "distinct_subjects": 2,
        }
    )
    record = decode(KpiRecord, payload)
    assert record.version == 3 * 2**32 + 7
    assert record.window_start == datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
    assert record.key == "sensor:cam-ql14-km5:15m:2025-03-01T00:00:00+00:00"
    for bad in ({"generation": 2**32}, {"sequence": -1}):
        with pytest.raises(ContractError) as info:
            decode(KpiRecord, {**payload, **bad})
        assert info.value.fields == tuple(bad)


# --- Anomaly and DeadLetter ---------------------------------------------------


@FAST
@given(anomaly=anomalies)
def test_anomaly_round_trips(anomaly: Anomaly) -> None:
    back = decode(Anomaly, anomaly.model_dump_json())
    assert back == anomaly
    assert back.version == make_version(anomaly.generation, anomaly.sequence)
    assert is_utc(back.started_at)


@FAST
@given(letter=dead_letters)
def test_dead_letter_round_trips(letter: DeadLetter) -> None:
    back = decode(DeadLetter, letter.model_dump_json(), strict=True)
    assert back == letter
    assert is_utc(back.failed_at)


def test_dead_letter_limits() -> None:
    base = {
        "source_topic": "ioc.qr.scans.v1",
        "reason": "validation",
        "error": "scanned_at: timestamp must carry a timezone offset",
        "payload": "{}",
        "producer": "connector-qr",
        "failed_at": "2025-03-01T07:00:00+07:00",
    }
    assert decode(DeadLetter, base).partition is None
    for field, bad in [
        ("payload", "x" * 65_537),
        ("error", "x" * 4_097),
        ("reason", "not a code"),
        ("partition", -1),
        ("failed_at", "2025-03-01T07:00:00"),
    ]:
        with pytest.raises(ContractError) as info:
            decode(DeadLetter, {**base, field: bad})
        assert info.value.fields == (field,)
