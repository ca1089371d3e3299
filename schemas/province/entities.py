"""The entities of a province profile: what exists where, and their kinds.

Road segments and their traffic sensors, feeders and their energy meters, QR
check-points and one-stop-shop agencies, each with an id, an official area code and
coordinates (illustrative in the shipped profiles). :class:`schemas.province.profile.Profile`
holds them and checks them against each other.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from schemas.base import Code, HandEdited

Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Label = Annotated[str, Field(min_length=1, max_length=200)]
PeriodS = Annotated[int, Field(gt=0, le=86_400, description="Expected reporting period")]


class EntityKind(StrEnum):
    SEGMENT = "segment"
    SENSOR = "sensor"
    FEEDER = "feeder"
    METER = "meter"
    CHECKPOINT = "checkpoint"
    AGENCY = "agency"


class RoadClass(StrEnum):
    NATIONAL = "national"
    PROVINCIAL = "provincial"
    URBAN = "urban"


class CustomerClass(StrEnum):
    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"
    INDUSTRIAL = "industrial"


class CheckpointKind(StrEnum):
    GATE = "gate"
    HOSPITAL = "hospital"
    MARKET = "market"
    BUS_STATION = "bus_station"
    INDUSTRIAL_PARK = "industrial_park"


class _Located(HandEdited):
    latitude: Latitude
    longitude: Longitude


class RoadSegment(_Located):
    """A stretch of road between two junctions: the group of its traffic sensors."""

    segment_id: Code
    road: Label = Field(description="Road number as signed, e.g. QL13, QL14, ĐT741")
    name: Label
    road_class: RoadClass
    area_code: Code
    free_flow_kmh: float = Field(gt=0, le=130)


class TrafficSensor(_Located):
    sensor_id: Code
    segment_id: Code
    lanes: int = Field(ge=1, le=8)
    period_s: PeriodS = 60


class Feeder(_Located):
    """A medium-voltage feeder: the group of the meters it supplies."""

    feeder_id: Code
    name: Label
    area_code: Code


class EnergyMeter(_Located):
    meter_id: Code
    feeder_id: Code
    area_code: Code
    customer_class: CustomerClass
    phases: Literal[1, 3]
    nominal_voltage_v: float = Field(default=220.0, gt=0, le=1_000)
    register_max_kwh: float = Field(
        gt=0, description="The register wraps to 0 on reaching this value (a rollover)"
    )
    period_s: PeriodS = 60


class Checkpoint(_Located):
    checkpoint_id: Code
    kind: CheckpointKind
    name: Label
    area_code: Code


class Agency(_Located):
    """A one-stop shop (bộ phận một cửa) or a provincial department receiving dossiers."""

    agency_code: Code
    name: Label
    area_code: Code
    level: Code = Field(description="The area level it serves, one of the hierarchy's levels")


Entity = RoadSegment | TrafficSensor | Feeder | EnergyMeter | Checkpoint | Agency

ID_FIELD: dict[EntityKind, str] = {
    EntityKind.SEGMENT: "segment_id",
    EntityKind.SENSOR: "sensor_id",
    EntityKind.FEEDER: "feeder_id",
    EntityKind.METER: "meter_id",
    EntityKind.CHECKPOINT: "checkpoint_id",
    EntityKind.AGENCY: "agency_code",
}
