"""Result contracts: KPI records, data-quality records, anomalies and dead letters.

KPI records carry *additive parts* (sums, counts, min/max) so an area's KPI is a
sum of its groups' parts at read time and always agrees with the group rows;
derived rates are there for convenience and are recomputed from parts by readers.
Results are versioned: ``version = generation·2³² + sequence`` (UInt64), so a
re-emitted window or a rebuilt generation replaces what was there.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, computed_field, model_validator

from schemas.base import Code, Contract, UtcDatetime

UINT32 = 2**32


def make_version(generation: int, sequence: int) -> int:
    """UInt64 version of a result: the generation dominates, the sequence orders re-emissions."""
    if not (0 <= generation < UINT32 and 0 <= sequence < UINT32):
        raise ValueError("generation and sequence must each fit in 32 bits")
    return generation * UINT32 + sequence


class Domain(StrEnum):
    TRAFFIC = "traffic"
    ENERGY = "energy"
    QR = "qr"
    DOSSIER = "dossier"


class WindowSize(StrEnum):
    """Tumbling event-time windows; ``day``/``month`` are calendar periods in Asia/Ho_Chi_Minh."""

    M1 = "1m"
    M15 = "15m"
    H1 = "1h"
    D1 = "1d"
    DAY = "day"
    MONTH = "month"


def _present_counts(data: Any, **of: str) -> Any:
    """Fill a missing "observations that carried the measure" count from the total.

    Records written before these measures became optional lack the counts, and then
    every observation carried every measure.
    """
    if isinstance(data, dict):
        missing = {name: data.get(total, 0) for name, total in of.items() if name not in data}
        if missing:
            return {**data, **missing}
    return data


MIN, MAX, MEMBERS, LATEST = "min", "max", "members", "latest"
"""How a part merges with the same part of a correction (schemas.corrections); sums add."""


class TrafficParts(Contract):
    MERGE: ClassVar[dict[str, str]] = {
        "speed_min_kmh": MIN,
        "speed_max_kmh": MAX,
        "sensors_reporting": MEMBERS,
        "sensors_expected": LATEST,
    }
    domain: Literal["traffic"] = "traffic"
    observations: int = Field(ge=0)
    vehicles: int = Field(ge=0)
    motorcycles: int = Field(default=0, ge=0)
    cars: int = Field(default=0, ge=0)
    trucks: int = Field(default=0, ge=0)
    buses: int = Field(default=0, ge=0)
    speed_x_vehicles: float = Field(
        ge=0, description="Σ speed·intensity, for the intensity-weighted mean speed"
    )
    free_flow_x_vehicles: float = Field(
        ge=0, description="Σ free-flow speed·intensity, for the congestion index"
    )
    speed_vehicles: int = Field(
        default=0, ge=0, description="Vehicles of the observations that carried a speed"
    )
    occupancy_sum: float = Field(ge=0)
    occupancy_samples: int = Field(default=0, ge=0, description="Observations with occupancy")
    period_s_sum: int = Field(ge=0)
    congested_observations: int = Field(default=0, ge=0)
    speed_min_kmh: float | None = None
    speed_max_kmh: float | None = None
    sensors_reporting: int = Field(ge=0)
    sensors_expected: int = Field(ge=0)

    @model_validator(mode="before")
    @classmethod
    def _counts_of_older_records(cls, data: Any) -> Any:
        return _present_counts(data, speed_vehicles="vehicles", occupancy_samples="observations")


class EnergyParts(Contract):
    MERGE: ClassVar[dict[str, str]] = {
        "power_kw_max": MAX,
        "voltage_min_v": MIN,
        "voltage_max_v": MAX,
        "meters_reporting": MEMBERS,
        "meters_expected": LATEST,
    }
    domain: Literal["energy"] = "energy"
    readings: int = Field(ge=0)
    energy_kwh: float = Field(
        description=(
            "From register deltas, rollovers and resets handled; a correction can be"
            " negative (a late reading takes part of its successor's delta)"
        )
    )
    power_kw_sum: float
    power_samples: int = Field(default=0, ge=0, description="Readings with active power")
    power_kw_max: float | None = None
    voltage_sum: float = Field(ge=0)
    voltage_samples: int = Field(ge=0)
    voltage_min_v: float | None = None
    voltage_max_v: float | None = None
    seconds_outside_voltage: float = Field(ge=0, description="Time outside ±10% of nominal")
    frequency_dev_abs_sum: float = Field(ge=0)
    frequency_samples: int = Field(ge=0)
    register_resets: int = Field(default=0, description="Negative in a correction that retracts")
    register_rollovers: int = Field(default=0, description="As register_resets")
    meters_reporting: int = Field(ge=0)
    meters_expected: int = Field(ge=0)

    @model_validator(mode="before")
    @classmethod
    def _counts_of_older_records(cls, data: Any) -> Any:
        return _present_counts(data, power_samples="readings")


class QrParts(Contract):
    MERGE: ClassVar[dict[str, str]] = {}
    domain: Literal["qr"] = "qr"
    scans: int = Field(ge=0)
    scans_in: int = Field(ge=0)
    scans_out: int = Field(ge=0)
    persons: int = Field(ge=0)
    vehicles: int = Field(ge=0)
    not_green: int = Field(ge=0)
    distinct_subjects: int = Field(
        ge=0,
        description="Exact per check-point; NOT additive — areas count distinct from raw events",
    )


class DossierParts(Contract):
    MERGE: ClassVar[dict[str, str]] = {}
    domain: Literal["dossier"] = "dossier"
    received: int = Field(ge=0)
    received_online: int = Field(ge=0)
    finished: int = Field(ge=0, description="completed or result_returned in the period")
    finished_late: int = Field(ge=0, description="finished after due_at")
    open_at_end: int = Field(ge=0)
    open_late_at_end: int = Field(
        ge=0, description="open at the period's end with due_at before it"
    )
    paid_online: int = Field(ge=0)
    digitized: int = Field(ge=0)
    processing_hours_sum: float = Field(ge=0)
    excluded: int = Field(default=0, ge=0, description="withdrawn or rejected in the period")


KpiParts = Annotated[
    TrafficParts | EnergyParts | QrParts | DossierParts, Field(discriminator="domain")
]


class KpiRecord(Contract):
    """One window of one entity or group."""

    domain: Domain
    entity_kind: Code = Field(description="sensor, segment, meter, feeder, checkpoint, agency")
    entity_id: Code
    group_id: Code = Field(description="The Kafka key the entity lives under")
    window: WindowSize
    window_start: UtcDatetime
    window_end: UtcDatetime
    parts: KpiParts
    rates: dict[str, float | None] = Field(default_factory=dict)
    computed_at: UtcDatetime
    generation: int = Field(ge=0, lt=UINT32)
    sequence: int = Field(ge=0, lt=UINT32)
    members: list[Code] = Field(
        default_factory=list,
        description="A group row's reporting members (a segment's sensors, a feeder's meters)",
    )
    correction: bool = Field(
        default=False,
        description=(
            "A delta: the parts of one late event alone, for a window the worker no longer"
            " holds; the sink merges it into the stored row (schemas.corrections)"
        ),
    )
    event_id: uuid.UUID | None = Field(default=None, description="The late event of a correction")
    late_events: int = Field(default=0, ge=0, description="Late events merged into this row")
    late_ids: list[uuid.UUID] = Field(
        default_factory=list, description="Their ids: a late event is merged once"
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def version(self) -> int:
        """UInt64 = generation·2³² + sequence."""
        return make_version(self.generation, self.sequence)

    @model_validator(mode="after")
    def _consistent(self) -> KpiRecord:
        if self.correction and self.event_id is None:
            raise ValueError("a correction names its late event (event_id)")
        if self.parts.domain != self.domain:
            raise ValueError(f"parts are {self.parts.domain!r} but domain is {self.domain!r}")
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        return self

    @property
    def key(self) -> str:
        """Kafka key: entity + window, so versions of one window stay in order."""
        return f"{self.entity_kind}:{self.entity_id}:{self.window}:{self.window_start.isoformat()}"


class DataQualityRecord(Contract):
    """Data-quality counts of one source on one partition of one stream, in one 1-minute window.

    Counts are additive: a source's minute is the sum of its partitions' records, an
    hour the sum of its minutes. Valid events are windowed by event time while their
    minute is held; late, duplicate and invalid records (which have no trustworthy
    event time) by the record's timestamp — see docs/decisions/0012.
    """

    domain: Domain = Field(description="The stream that counted them")
    partition: int = Field(ge=0, description="The source-topic partition that counted them")
    source: Code = Field(description="The events' `source`; `unknown` when a payload names none")
    window_start: UtcDatetime
    window_end: UtcDatetime
    events: int = Field(ge=0, description="Valid events received: applied + late + duplicates")
    late: int = Field(
        ge=0, description="Events behind the watermark (dropped, or for dossiers applied)"
    )
    duplicates: int = Field(ge=0, description="Events whose id was seen before (dropped)")
    invalid: dict[Code, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict, description="Dead-lettered records by reason"
    )
    last_seen: UtcDatetime | None = Field(
        default=None, description="Newest event time among the window's valid events"
    )
    generation: int = Field(ge=0, lt=UINT32)
    sequence: int = Field(ge=0, lt=UINT32)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def version(self) -> int:
        """UInt64 = generation·2³² + sequence."""
        return make_version(self.generation, self.sequence)

    @model_validator(mode="after")
    def _consistent(self) -> DataQualityRecord:
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        if self.late + self.duplicates > self.events:
            raise ValueError("late and duplicates are part of events")
        return self

    @property
    def invalid_total(self) -> int:
        """Dead-lettered records of every reason."""
        return sum(self.invalid.values())

    @property
    def key(self) -> str:
        """Kafka key: stream, partition, source and window — one key per re-emitted window."""
        return f"{self.domain}:{self.partition}:{self.source}:{self.window_start.isoformat()}"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AnomalyState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Anomaly(Contract):
    """An incident with a lifecycle (open → updated → resolved) and a deterministic id.

    It carries its evidence, so that an operator can judge it: the ``observed`` value,
    what the detector ``expected``, the band it considered normal (``expected_low`` …
    ``expected_high``), the ``detector`` and its ``score``. All are as of the latest
    update (``updated_at``); a resolution keeps those of the last open update.
    """

    anomaly_id: Code
    domain: Domain
    entity_kind: Code
    entity_id: Code
    group_id: Code
    area_code: Code | None = None
    metric: Code
    detector: Code
    severity: Severity
    observed: float | None = Field(
        default=None, description="The value the detector judged, at the latest update"
    )
    expected: float | None = Field(
        default=None,
        description="What the detector expected instead (a baseline, a rule's threshold)",
    )
    expected_low: float | None = Field(
        default=None,
        description=(
            "Lower bound of the band the detector considered normal at the latest update"
            " (outside the band it calls a point anomalous); null when it has no bound on"
            " that side, e.g. a rule on an upper threshold, and in records written before"
            " the band existed"
        ),
    )
    expected_high: float | None = Field(
        default=None,
        description=(
            "Upper bound of the band the detector considered normal at the latest update;"
            " null when it has no bound on that side, e.g. a rule on a lower threshold, and"
            " in records written before the band existed"
        ),
    )
    score: float = Field(ge=0)
    state: AnomalyState
    started_at: UtcDatetime
    updated_at: UtcDatetime
    ended_at: UtcDatetime | None = None
    generation: int = Field(ge=0, lt=UINT32)
    sequence: int = Field(ge=0, lt=UINT32)
    description: str = Field(default="", max_length=2_000)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def version(self) -> int:
        """UInt64 = generation·2³² + sequence."""
        return make_version(self.generation, self.sequence)


class DeadLetter(Contract):
    """What failed, why, and where it came from. Personal data in ``payload`` is redacted."""

    source_topic: str = Field(max_length=249)
    partition: int | None = Field(default=None, ge=0)
    offset: int | None = Field(default=None, ge=0)
    key: str | None = Field(default=None, max_length=1_024)
    reason: Code = Field(
        description="Stable reason code, e.g. invalid_json, validation, clock_skew"
    )
    error: str = Field(max_length=4_096)
    payload: str = Field(
        max_length=65_536, description="The rejected payload, redacted and truncated"
    )
    producer: Code = Field(description="The process that dead-lettered it")
    failed_at: UtcDatetime = Field(description="Wall clock when it was dead-lettered")
    record_timestamp_ms: int | None = None
