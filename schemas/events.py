"""The four event streams of the IOC, as pydantic v2 contracts.

See docs/architecture.md, "Event contracts".
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import override

from schemas.base import Code, Event, UtcDatetime

UINT32 = 2**32  # counts are UInt32 columns downstream


class SubjectKind(StrEnum):
    PERSON = "person"
    VEHICLE = "vehicle"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class DeclarationStatus(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    UNKNOWN = "unknown"


class QrScan(Event):
    """A QR check-in at a gate, hospital or market (PC-COVID style health declaration)."""

    KEY_FIELD: ClassVar[str] = "checkpoint_id"
    TIME_FIELD: ClassVar[str] = "scanned_at"

    checkpoint_id: Code
    area_code: Code
    scanned_at: UtcDatetime
    subject_kind: SubjectKind
    subject_hash: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="HMAC-SHA256 of the citizen ID or licence plate; never the raw value",
    )
    pii_key_id: Code = Field(description="Which HMAC key produced subject_hash (keys rotate)")
    direction: Direction
    declaration_status: DeclarationStatus = DeclarationStatus.UNKNOWN
    device_id: Code

    @override
    def identity(self) -> tuple[str, int]:
        return f"{self.device_id}/{self.subject_hash}/{self.direction}", 0


class VehicleCounts(BaseModel):
    """Per-class vehicle counts in the observation period (motorcycle-heavy in Vietnam)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    motorcycle: int = Field(default=0, ge=0, lt=UINT32)
    car: int = Field(default=0, ge=0, lt=UINT32)
    truck: int = Field(default=0, ge=0, lt=UINT32)
    bus: int = Field(default=0, ge=0, lt=UINT32)


class TrafficObservation(Event):
    """Aligned with FIWARE TrafficFlowObserved: one sensor, one lane, one period."""

    KEY_FIELD: ClassVar[str] = "segment_id"
    TIME_FIELD: ClassVar[str] = "observed_at"

    sensor_id: Code
    segment_id: Code
    lane_id: Code = "all"
    observed_at: UtcDatetime = Field(description="End of the observation period")
    period_s: int = Field(gt=0, le=86_400)
    intensity: int = Field(ge=0, lt=UINT32, description="Vehicles counted in the period")
    # Optional as in FIWARE TrafficFlowObserved: a counting loop has no speed, a radar no
    # occupancy. KPIs average each measure over the observations that carried it.
    average_speed_kmh: float | None = Field(default=None, ge=0, le=1_000)
    occupancy: float | None = Field(default=None, ge=0, le=1)
    vehicle_counts: VehicleCounts = Field(default_factory=VehicleCounts)
    congested: bool | None = None

    @override
    def identity(self) -> tuple[str, int]:
        return f"{self.sensor_id}/{self.lane_id}", 0


PHASE_MAX = 1_000_000.0
"""Volts or amperes per phase: above any distribution or transmission line."""
REGISTER_MAX_KWH = 1e12
"""A terawatt-hour: no meter's register reaches it (profiles set each model's wrap)."""


class PhaseValues(BaseModel):
    """One value per phase; single-phase meters fill l1 only."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    # Physical ceiling, not a plausibility check: no meter reads a megavolt or a megaamp
    # (1e308 was accepted and stored); implausible-but-possible values are the detectors'.
    l1: float = Field(ge=0, le=PHASE_MAX)
    l2: float | None = Field(default=None, ge=0, le=PHASE_MAX)
    l3: float | None = Field(default=None, ge=0, le=PHASE_MAX)

    def values(self) -> list[float]:
        """The phases that are present."""
        return [v for v in (self.l1, self.l2, self.l3) if v is not None]


class EnergyReading(Event):
    """Aligned with FIWARE ThreePhaseAcMeasurement: one meter reading."""

    KEY_FIELD: ClassVar[str] = "feeder_id"
    TIME_FIELD: ClassVar[str] = "measured_at"

    meter_id: Code
    feeder_id: Code
    area_code: Code
    measured_at: UtcDatetime
    # Optional as in FIWARE ThreePhaseAcMeasurement: a meter may report only its register.
    active_power_kw: float | None = Field(
        default=None, ge=-100_000, le=100_000, description="Negative when exporting"
    )
    energy_kwh_total: float = Field(
        ge=0, le=REGISTER_MAX_KWH, description="Cumulative register; wraps at the profile's maximum"
    )
    voltage_v: PhaseValues | None = None
    current_a: PhaseValues | None = None
    power_factor: float | None = Field(default=None, ge=-1, le=1)
    frequency_hz: float | None = Field(default=None, ge=0, le=1_000)

    @override
    def identity(self) -> tuple[str, int]:
        return self.meter_id, 0


class Channel(StrEnum):
    ONLINE = "online"
    IN_PERSON = "in_person"
    POSTAL = "postal"


class DossierStatus(StrEnum):
    """The national public-service portal lifecycle, plus transferred_out."""

    REGISTERED = "registered"
    RECEIVED = "received"
    REJECTED = "rejected"
    PROCESSING = "processing"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    PAYMENT_REQUESTED = "payment_requested"
    WITHDRAWN = "withdrawn"
    STOPPED = "stopped"
    COMPLETED = "completed"
    RESULT_RETURNED = "result_returned"
    TRANSFERRED_OUT = "transferred_out"


FINISHED_STATUSES = frozenset({DossierStatus.COMPLETED, DossierStatus.RESULT_RETURNED})
EXCLUDED_STATUSES = frozenset({DossierStatus.WITHDRAWN, DossierStatus.REJECTED})


class DossierStatusChange(Event):
    """A status change of an administrative dossier in the one-stop-shop system."""

    KEY_FIELD: ClassVar[str] = "agency_code"
    TIME_FIELD: ClassVar[str] = "changed_at"

    dossier_id: Code
    procedure_code: Code
    agency_code: Code
    area_code: Code
    level: int = Field(ge=1, le=4, description="Online public-service level (1-4)")
    channel: Channel
    status: DossierStatus
    previous_status: DossierStatus | None = None
    changed_at: UtcDatetime
    received_at: UtcDatetime | None = None
    due_at: UtcDatetime | None = Field(
        default=None, description="Latest due date, extensions included"
    )
    paid_online: bool = False
    digitized: bool = False
    outbox_id: int = Field(
        ge=0, lt=2**63, description="Id of the status-history row; orders versions of a dossier"
    )
    applicant_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @override
    def identity(self) -> tuple[str, int]:
        return self.dossier_id, self.outbox_id


EVENT_MODELS: tuple[type[Event], ...] = (
    QrScan,
    TrafficObservation,
    EnergyReading,
    DossierStatusChange,
)
