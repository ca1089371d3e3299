"""Hypothesis strategies that build *valid* contracts, shared by the schemas/ unit tests.

Not a test module (pytest collects only ``test_*.py``); the test modules import it
from their own directory, which pytest's default import mode puts on ``sys.path``.
"""

from __future__ import annotations

import copy
import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from schemas.base import Event
from schemas.events import (
    Channel,
    DeclarationStatus,
    Direction,
    DossierStatus,
    DossierStatusChange,
    EnergyReading,
    QrScan,
    SubjectKind,
    TrafficObservation,
)
from schemas.results import (
    Anomaly,
    AnomalyState,
    DeadLetter,
    Domain,
    DossierParts,
    EnergyParts,
    KpiRecord,
    QrParts,
    Severity,
    TrafficParts,
    WindowSize,
)

FAST = settings(max_examples=50, deadline=None)
"""Modest example counts: the whole schemas/ suite must run in a few seconds."""

ICT = timezone(timedelta(hours=7), "ICT")
"""Asia/Ho_Chi_Minh has no DST: +07:00 all year."""

# Largest integer whose JSON form every reader parses exactly (orjson: 64-bit ints).
MAX_JSON_INT = 2**63 - 1

VIETNAMESE = [
    "Đồng Xoài",
    "Bình Phước",
    "Phường Tân Phú",
    "Xã Đồng Tiến",
    "Huyện Bù Đăng",
    "Thị xã Phước Long",
    "Ùn tắc giao thông trên Quốc lộ 14",
    "Điện áp thấp bất thường ở trạm biến áp",
    "Hồ sơ trễ hạn",
]

# --- building blocks ----------------------------------------------------------

fixed_offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
timezones = st.one_of(
    st.just(ICT), st.just(UTC), st.just(timezone(timedelta(hours=-7))), fixed_offsets
)

aware_datetimes = st.datetimes(
    min_value=datetime(1971, 1, 1),  # noqa: DTZ001 - bounds of st.datetimes are naive by API
    max_value=datetime(2099, 12, 31),  # noqa: DTZ001
    timezones=timezones,
)
"""Aware datetimes with random fixed offsets (+07:00 and UTC favoured)."""

CODE_ALPHABET = string.ascii_letters + string.digits + "_.:-/"
codes = st.text(alphabet=CODE_ALPHABET, min_size=1, max_size=64)
"""Strings matching ``^[A-Za-z0-9_.:\\-/]+$`` (the Code pattern), 1..64 long."""
hex64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
minor_versions = st.integers(min_value=0, max_value=999).map(lambda n: f"1.{n}")
client_ids = st.uuids().filter(lambda u: u.int != 0)


def finite(lo: float | None = None, hi: float | None = None) -> st.SearchStrategy[float]:
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)


def counts(hi: int = MAX_JSON_INT) -> st.SearchStrategy[int]:
    return st.integers(min_value=0, max_value=hi)


vietnamese_text = st.one_of(
    st.sampled_from(VIETNAMESE),
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
        max_size=60,
    ),
)

# --- events -------------------------------------------------------------------

_common_optional: dict[str, st.SearchStrategy[Any]] = {
    "event_id": client_ids,
    "schema_version": minor_versions,
}

_phases = st.fixed_dictionaries(
    {"l1": finite(0, 500)},
    optional={"l2": st.none() | finite(0, 500), "l3": st.none() | finite(0, 500)},
)

EVENT_KWARGS: dict[type[Event], st.SearchStrategy[dict[str, Any]]] = {
    QrScan: st.fixed_dictionaries(
        {
            "source": codes,
            "checkpoint_id": codes,
            "area_code": codes,
            "scanned_at": aware_datetimes,
            "subject_kind": st.sampled_from(SubjectKind),
            "subject_hash": hex64,
            "pii_key_id": codes,
            "direction": st.sampled_from(Direction),
            "device_id": codes,
        },
        optional={**_common_optional, "declaration_status": st.sampled_from(DeclarationStatus)},
    ),
    TrafficObservation: st.fixed_dictionaries(
        {
            "source": codes,
            "sensor_id": codes,
            "segment_id": codes,
            "observed_at": aware_datetimes,
            "period_s": st.integers(min_value=1, max_value=86_400),
            "intensity": counts(2**32 - 1),
            "average_speed_kmh": finite(0, 1_000),
            "occupancy": finite(0, 1),
        },
        optional={
            **_common_optional,
            "lane_id": codes,
            "vehicle_counts": st.fixed_dictionaries(
                {},
                optional={k: counts(2**32 - 1) for k in ("motorcycle", "car", "truck", "bus")},
            ),
            "congested": st.none() | st.booleans(),
        },
    ),
    EnergyReading: st.fixed_dictionaries(
        {
            "source": codes,
            "meter_id": codes,
            "feeder_id": codes,
            "area_code": codes,
            "measured_at": aware_datetimes,
            "active_power_kw": finite(-100_000, 100_000),
            "energy_kwh_total": finite(0, 1e12),
            "voltage_v": _phases,
        },
        optional={
            **_common_optional,
            "current_a": st.none() | _phases,
            "power_factor": st.none() | finite(-1, 1),
            "frequency_hz": st.none() | finite(0, 1_000),
        },
    ),
    DossierStatusChange: st.fixed_dictionaries(
        {
            "source": codes,
            "dossier_id": codes,
            "procedure_code": codes,
            "agency_code": codes,
            "area_code": codes,
            "level": st.integers(min_value=1, max_value=4),
            "channel": st.sampled_from(Channel),
            "status": st.sampled_from(DossierStatus),
            "changed_at": aware_datetimes,
            "outbox_id": counts(),
        },
        optional={
            **_common_optional,
            "previous_status": st.none() | st.sampled_from(DossierStatus),
            "received_at": st.none() | aware_datetimes,
            "due_at": st.none() | aware_datetimes,
            "paid_online": st.booleans(),
            "digitized": st.booleans(),
            "applicant_hash": st.none() | hex64,
        },
    ),
}
"""Keyword arguments of a valid event, per model (Python values: enums, aware datetimes)."""

EVENT_MODELS = tuple(EVENT_KWARGS)


def events(model: type[Event]) -> st.SearchStrategy[Event]:
    """Valid instances of one event model."""
    return EVENT_KWARGS[model].map(lambda kwargs: model(**kwargs))


def event_dicts(model: type[Event]) -> st.SearchStrategy[dict[str, Any]]:
    """The JSON form (as a dict) of valid events of one model."""
    return events(model).map(lambda event: event.model_dump(mode="json"))


# --- results ------------------------------------------------------------------

PARTS: dict[Domain, st.SearchStrategy[Any]] = {
    Domain.TRAFFIC: st.builds(
        TrafficParts,
        observations=counts(),
        vehicles=counts(),
        motorcycles=counts(),
        speed_x_vehicles=finite(0),
        free_flow_x_vehicles=finite(0),
        occupancy_sum=finite(0),
        period_s_sum=counts(),
        speed_min_kmh=st.none() | finite(0, 1_000),
        speed_max_kmh=st.none() | finite(0, 1_000),
        sensors_reporting=counts(),
        sensors_expected=counts(),
    ),
    Domain.ENERGY: st.builds(
        EnergyParts,
        readings=counts(),
        energy_kwh=finite(0),
        power_kw_sum=finite(),
        power_kw_max=st.none() | finite(),
        voltage_sum=finite(0),
        voltage_samples=counts(),
        seconds_outside_voltage=finite(0),
        frequency_dev_abs_sum=finite(0),
        frequency_samples=counts(),
        meters_reporting=counts(),
        meters_expected=counts(),
    ),
    Domain.QR: st.builds(
        QrParts,
        scans=counts(),
        scans_in=counts(),
        scans_out=counts(),
        persons=counts(),
        vehicles=counts(),
        not_green=counts(),
        distinct_subjects=counts(),
    ),
    Domain.DOSSIER: st.builds(
        DossierParts,
        received=counts(),
        received_online=counts(),
        finished=counts(),
        finished_late=counts(),
        open_at_end=counts(),
        open_late_at_end=counts(),
        paid_online=counts(),
        digitized=counts(),
        processing_hours_sum=finite(0),
        excluded=counts(),
    ),
}

uint32 = st.integers(min_value=0, max_value=2**32 - 1)


@st.composite
def kpi_records(draw: st.DrawFn, domain: Domain | None = None) -> KpiRecord:
    domain = domain if domain is not None else draw(st.sampled_from(Domain))
    start = draw(aware_datetimes)
    return KpiRecord(
        domain=domain,
        entity_kind=draw(codes),
        entity_id=draw(codes),
        group_id=draw(codes),
        window=draw(st.sampled_from(WindowSize)),
        window_start=start,
        window_end=start + timedelta(minutes=draw(st.integers(1, 60 * 24 * 31))),
        parts=draw(PARTS[domain]),
        rates=draw(st.dictionaries(codes, st.none() | finite(), max_size=4)),
        computed_at=draw(aware_datetimes),
        generation=draw(uint32),
        sequence=draw(uint32),
    )


anomalies = st.builds(
    Anomaly,
    anomaly_id=codes,
    domain=st.sampled_from(Domain),
    entity_kind=codes,
    entity_id=codes,
    group_id=codes,
    area_code=st.none() | codes,
    metric=codes,
    detector=codes,
    severity=st.sampled_from(Severity),
    observed=st.none() | finite(),
    expected=st.none() | finite(),
    expected_low=st.none() | finite(),
    expected_high=st.none() | finite(),
    score=finite(0),
    state=st.sampled_from(AnomalyState),
    started_at=aware_datetimes,
    updated_at=aware_datetimes,
    ended_at=st.none() | aware_datetimes,
    generation=uint32,
    sequence=uint32,
    description=vietnamese_text,
)

dead_letters = st.builds(
    DeadLetter,
    source_topic=st.sampled_from(["ioc.qr.scans.v1", "ioc.traffic.obs.v1", "ioc.kpi.v1"]),
    partition=st.none() | st.integers(0, 1_000),
    offset=st.none() | counts(),
    key=st.none() | codes,
    reason=st.sampled_from(["invalid_json", "validation", "clock_skew", "unknown_field"]),
    error=vietnamese_text,
    payload=vietnamese_text,
    producer=codes,
    failed_at=aware_datetimes,
    record_timestamp_ms=st.none() | st.integers(0, 2**53),
)


def is_utc(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() == timedelta(0)


SAMPLES: dict[type[Event], dict[str, Any]] = {
    QrScan: {
        "source": "gate-app",
        "checkpoint_id": "cho-dong-xoai",
        "area_code": "25195",
        "scanned_at": "2025-03-01T07:15:00+07:00",
        "subject_kind": "person",
        "subject_hash": "0123456789abcdef" * 4,
        "pii_key_id": "k1",
        "direction": "in",
        "declaration_status": "green",
        "device_id": "dev-7",
    },
    TrafficObservation: {
        "source": "cam-ql14",
        "sensor_id": "cam-ql14-km5",
        "segment_id": "QL14:km5",
        "lane_id": "L1",
        "observed_at": "2025-03-01T07:15:00+07:00",
        "period_s": 60,
        "intensity": 42,
        "average_speed_kmh": 31.5,
        "occupancy": 0.35,
        "vehicle_counts": {"motorcycle": 35, "car": 5, "truck": 1, "bus": 1},
        "congested": False,
    },
    EnergyReading: {
        "source": "ami",
        "meter_id": "PC-BP-000123",
        "feeder_id": "471-E27",
        "area_code": "25195",
        "measured_at": "2025-03-01T07:15:00+07:00",
        "active_power_kw": 12.5,
        "energy_kwh_total": 123456.7,
        "voltage_v": {"l1": 229.5, "l2": 231.0, "l3": 230.2},
        "current_a": None,
        "power_factor": 0.93,
        "frequency_hz": 50.01,
    },
    DossierStatusChange: {
        "source": "one-stop",
        "dossier_id": "H70.01-250301-0001",
        "procedure_code": "1.000894",
        "agency_code": "UBND-DX",
        "area_code": "25195",
        "level": 4,
        "channel": "online",
        "status": "processing",
        "previous_status": "received",
        "changed_at": "2025-03-01T07:15:00+07:00",
        "received_at": "2025-02-27T09:00:00+07:00",
        "due_at": "2025-03-05T17:00:00+07:00",
        "paid_online": True,
        "digitized": True,
        "outbox_id": 991,
        "applicant_hash": "f" * 64,
    },
}
"""One hand-written valid payload per model (no event_id: it is derived)."""


def sample(model: type[Event]) -> dict[str, Any]:
    """A fresh deep copy of the model's sample payload."""
    return copy.deepcopy(SAMPLES[model])
