"""A province profile: areas, entities, calendar and rule thresholds, as one contract.

The profile is the one place that says what exists in a province (road segments and
their sensors, feeders and their meters, QR check-points, one-stop-shop agencies),
where it is (official area codes, coordinates), what "normal" means (nominal voltage,
free-flow speed, targets) and which days are holidays. Connectors, workers and the
simulator read it; nothing hard-codes an entity, a level name or a depth.

Entities, names and coordinates of the shipped profiles are illustrative (and marked
so); area codes are official, from :mod:`schemas.province.admin_units`. The entity
models are in :mod:`schemas.province.entities`; reading profile files is
:mod:`schemas.province.loading`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, PrivateAttr, field_validator, model_validator

from schemas.base import Code, HandEdited
from schemas.province.areas import AreaHierarchy
from schemas.province.calendar import Holiday, HolidayCalendar, YearCalendar, year_calendar
from schemas.province.entities import (
    ID_FIELD,
    Agency,
    Checkpoint,
    EnergyMeter,
    Entity,
    EntityKind,
    Feeder,
    RoadSegment,
    TrafficSensor,
)


class Rules(HandEdited):
    """Rule thresholds and targets (defaults: docs/architecture.md, "Anomalies and detectors")."""

    undervoltage_ratio: float = Field(default=0.9, gt=0, lt=1)
    undervoltage_for_s: int = Field(default=180, gt=0, description="… sustained this long")
    overvoltage_ratio: float = Field(default=1.1, gt=1, description="Upper edge of ±10 %")
    outage_voltage_ratio: float = Field(
        default=0.1, gt=0, lt=1, description="Below this share of nominal there is no supply"
    )
    nominal_frequency_hz: float = Field(default=50.0, gt=0)
    congestion_index: float = Field(
        default=0.6, gt=0, lt=1, description="max(0, 1 − speed / free-flow speed) above this …"
    )
    congestion_for_s: int = Field(default=600, gt=0, description="… sustained this long")
    max_speed_kmh: float = Field(default=200.0, gt=0, description="Faster is physically impossible")
    on_time_rate_target: float = Field(
        default=0.95, gt=0, le=1, description="Daily dossier on-time rate (Decision 766)"
    )
    online_receipt_target: float = Field(
        default=0.95, gt=0, le=1, description="Daily share of dossiers received online"
    )
    silence_periods: float = Field(
        default=3.0, gt=1, description="Silent after this many expected periods without data"
    )
    seasonal_warmup_days: int = Field(
        default=7, ge=1, description="Daily profile only before this much history"
    )
    open_score: float = Field(default=4.0, gt=0, description="Seasonal detector opens at …")
    resolve_score: float = Field(default=2.0, ge=0, description="… and resolves below this")
    qr_surge_factor: float = Field(
        default=3.0, gt=1, description="Scans in a window above this × the seasonal baseline …"
    )
    qr_surge_window_s: int = Field(default=900, gt=0)
    qr_surge_min_scans: int = Field(
        default=30, ge=1, description="… and at least this many (quiet hours are not surges)"
    )
    overdue_spike_count: int = Field(
        default=5, ge=1, description="Dossiers of one agency going past due on one local day"
    )
    register_reset_max_kwh: float = Field(
        default=10.0, gt=0, description="A register drop to below this is a meter reset"
    )

    @model_validator(mode="after")
    def _hysteresis(self) -> Self:
        if self.resolve_score >= self.open_score:
            raise ValueError("resolve_score must be below open_score (hysteresis)")
        return self


class Profile(HandEdited):
    """A province: its areas, entities, calendar and rules. Validated as a whole."""

    # Not frozen: the entity index is cached on the instance.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=False)

    name: Code = Field(description="e.g. binh-phuoc-2021; the file is <name>.json")
    description: str = Field(max_length=2_000)
    illustrative: bool = Field(
        description="True when entities, names and coordinates are made up (area codes are not)"
    )
    illustrative_note: str = Field(default="", max_length=2_000)
    timezone: str = "Asia/Ho_Chi_Minh"
    areas: AreaHierarchy
    rollup_levels: list[Code] = Field(
        min_length=1, description="Area levels KPIs are rolled up to, top-down"
    )
    segments: list[RoadSegment]
    sensors: list[TrafficSensor]
    feeders: list[Feeder]
    meters: list[EnergyMeter]
    checkpoints: list[Checkpoint]
    agencies: list[Agency]
    calendar: HolidayCalendar = Field(
        default_factory=HolidayCalendar,
        description="National holidays come from the holidays package; notices add the rest",
    )
    rules: Rules = Field(default_factory=Rules)
    _cache: tuple[tuple[int, ...], dict[tuple[EntityKind, str], Entity]] | None = PrivateAttr(
        default=None
    )
    _years: dict[int, YearCalendar] = PrivateAttr(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        errors: list[str] = []
        levels = set(self.areas.levels)
        errors += [
            f"rollup level {lv!r} is not an area level"
            for lv in self.rollup_levels
            if lv not in levels
        ]
        area_codes = {a.code: a for a in self.areas.areas}
        for kind in EntityKind:
            ids = [self.id_of(kind, e) for e in self.entities(kind)]
            dupes = sorted(i for i, n in Counter(ids).items() if n > 1)
            if dupes:
                errors.append(f"duplicate {kind} ids: {', '.join(dupes[:5])}")
        segment_ids = {s.segment_id for s in self.segments}
        feeder_ids = {f.feeder_id for f in self.feeders}
        for sensor in self.sensors:
            if sensor.segment_id not in segment_ids:
                errors.append(f"sensor {sensor.sensor_id}: unknown segment {sensor.segment_id}")
        for meter in self.meters:
            if meter.feeder_id not in feeder_ids:
                errors.append(f"meter {meter.meter_id}: unknown feeder {meter.feeder_id}")
        for kind in EntityKind:
            for entity in self.entities(kind):
                code = getattr(entity, "area_code", None)
                if code is not None and code not in area_codes:
                    errors.append(f"{kind} {self.id_of(kind, entity)}: unknown area {code}")
        for agency in self.agencies:
            area = area_codes.get(agency.area_code)
            if area is not None and area.level != agency.level:
                errors.append(
                    f"agency {agency.agency_code}: level {agency.level!r} but its area "
                    f"{agency.area_code} is a {area.level}"
                )
        years = Counter(n.year for n in self.calendar.notices)
        errors += [f"two holiday notices for {y}" for y, n in years.items() if n > 1]
        if errors:
            raise ValueError("; ".join(errors))
        return self

    # --- entities ---------------------------------------------------------------

    def entities(self, kind: EntityKind | str) -> Sequence[Entity]:
        """Every entity of one kind, in file order."""
        match EntityKind(kind):
            case EntityKind.SEGMENT:
                return self.segments
            case EntityKind.SENSOR:
                return self.sensors
            case EntityKind.FEEDER:
                return self.feeders
            case EntityKind.METER:
                return self.meters
            case EntityKind.CHECKPOINT:
                return self.checkpoints
            case EntityKind.AGENCY:
                return self.agencies

    @staticmethod
    def id_of(kind: EntityKind | str, entity: Entity) -> str:
        """The id of an entity of a kind (segment_id, meter_id, agency_code, …)."""
        value: str = getattr(entity, ID_FIELD[EntityKind(kind)])
        return value

    def __eq__(self, other: object) -> bool:
        # Fields only: the entity index cache is not part of a profile's value.
        if not isinstance(other, Profile):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def _index(self) -> dict[tuple[EntityKind, str], Entity]:
        # Cached by the identity of the entity lists, so a model_copy(update=...) that
        # swaps a list (a test's cut-down profile) never reads a stale index.
        key = (
            id(self.segments),
            id(self.sensors),
            id(self.feeders),
            id(self.meters),
            id(self.checkpoints),
            id(self.agencies),
        )
        if self._cache is None or self._cache[0] != key:
            index = {
                (kind, self.id_of(kind, e)): e for kind in EntityKind for e in self.entities(kind)
            }
            self._cache = (key, index)
        return self._cache[1]

    def entity(self, kind: EntityKind | str, entity_id: str) -> Entity:
        """One entity by kind and id; KeyError if the profile has none."""
        return self._index()[(EntityKind(kind), entity_id)]

    def group_of(self, kind: EntityKind | str, entity_id: str) -> str:
        """The Kafka key of an entity's events: its segment, feeder, check-point or agency."""
        entity = self.entity(kind, entity_id)
        if isinstance(entity, TrafficSensor):
            return entity.segment_id
        if isinstance(entity, EnergyMeter):
            return entity.feeder_id
        return self.id_of(kind, entity)

    def area_of(self, kind: EntityKind | str, entity_id: str) -> str:
        """The area code of an entity (a sensor is where its segment is)."""
        entity = self.entity(kind, entity_id)
        if isinstance(entity, TrafficSensor):
            return self.segment(entity.segment_id).area_code
        return str(entity.area_code)

    def members(self, kind: EntityKind | str, group_id: str) -> list[str]:
        """Ids of the entities whose group is ``group_id`` (sensors of a segment, …)."""
        return [
            self.id_of(kind, e)
            for e in self.entities(kind)
            if self.group_of(kind, self.id_of(kind, e)) == group_id
        ]

    def segment(self, segment_id: str) -> RoadSegment:
        """A road segment by id."""
        found = self.entity(EntityKind.SEGMENT, segment_id)
        assert isinstance(found, RoadSegment)
        return found

    def feeder(self, feeder_id: str) -> Feeder:
        """A feeder by id."""
        found = self.entity(EntityKind.FEEDER, feeder_id)
        assert isinstance(found, Feeder)
        return found

    # --- calendar -----------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        """The profile's local time zone."""
        return ZoneInfo(self.timezone)

    def calendar_year(self, year: int) -> YearCalendar:
        """Holidays and make-up working days of one year (computed once per year)."""
        found = self._years.get(year)
        if found is None:
            found = self._years[year] = year_calendar(self.calendar, year)
        return found

    def holiday_on(self, day: date) -> Holiday | None:
        """The holiday on a local date, if any (any year: schemas.province.calendar)."""
        return self.calendar_year(day.year).holidays.get(day)

    def holidays_in(self, years: Iterable[int]) -> list[Holiday]:
        """Every holiday of the given years, by date."""
        return [h for y in sorted(set(years)) for h in self.calendar_year(y).holidays.values()]

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday except holidays, plus the notices' make-up working days."""
        if day in self.calendar_year(day.year).working_days:
            return True
        return day.weekday() < 5 and self.holiday_on(day) is None

    # --- files ----------------------------------------------------------------------

    def to_json_text(self) -> str:
        """The canonical file form: stable key order, indented, UTF-8, trailing newline."""
        data = self.model_dump(mode="json", exclude_none=False)
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def ids(entities: Iterable[Entity], kind: EntityKind | str) -> list[str]:
    """Ids of entities of one kind, in order."""
    return [Profile.id_of(kind, e) for e in entities]
