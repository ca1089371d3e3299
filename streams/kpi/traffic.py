"""Traffic KPIs per sensor and per road segment (docs/architecture.md, "KPIs").

vehicles, flow (veh/h), intensity-weighted mean speed, mean occupancy, congestion
index = max(0, 1 − speed / free-flow speed), level of service A–F, sensors reporting
/ expected. Speeds are weighted by the vehicles that drove them, so the congestion
index of a segment is ``1 − Σ speed·n / Σ free_flow·n`` — computable from additive
parts at any area level.
"""

from __future__ import annotations

from typing import Any, ClassVar

from typing_extensions import override

from schemas.base import Event
from schemas.events import TrafficObservation
from schemas.results import Domain, TrafficParts
from schemas.timeutil import to_ms
from streams.detect import Observation
from streams.detect.impossible import SPEED_METRIC
from streams.kpi.base import DomainLogic
from streams.kpi.sums import higher, lower, plus, present, ratio, total
from streams.records import KpiWindow, TrafficPartsRecord
from streams.windows import TELEMETRY_SIZES

SENSOR = "sensor"
SEGMENT = "segment"

# Level of service from the travel speed as a share of free-flow speed (HCM 2010,
# urban street facilities): A > 85 %, B > 67 %, C > 50 %, D > 40 %, E > 30 %, F ≤ 30 %.
# ``rates`` holds floats, so the letter travels as its rank: 1 = A … 6 = F.
LOS_BANDS: tuple[tuple[float, str], ...] = (
    (0.85, "A"),
    (0.67, "B"),
    (0.50, "C"),
    (0.40, "D"),
    (0.30, "E"),
)
LOS_LETTERS = "ABCDEF"


def level_of_service(speed_ratio: float) -> str:
    """HCM level of service for travel speed / free-flow speed."""
    for floor, letter in LOS_BANDS:
        if speed_ratio > floor:
            return letter
    return "F"


def _empty() -> TrafficPartsRecord:
    return {}


def add_observation(
    parts: TrafficPartsRecord, ev: TrafficObservation, free_flow: float | None
) -> None:
    """Add one observation to a window's parts (sums kept exact, see :mod:`sums`)."""
    n = ev.intensity
    speed = ev.average_speed_kmh
    # Counts of what carried each optional measure (see streams.kpi.sums.present).
    present(parts, "speed_vehicles", "vehicles", n if speed is not None else None)
    present(parts, "occupancy_samples", "observations", 1 if ev.occupancy is not None else None)
    parts["observations"] = parts.get("observations", 0) + 1
    parts["vehicles"] = parts.get("vehicles", 0) + n
    counts = ev.vehicle_counts
    parts["motorcycles"] = parts.get("motorcycles", 0) + counts.motorcycle
    parts["cars"] = parts.get("cars", 0) + counts.car
    parts["trucks"] = parts.get("trucks", 0) + counts.truck
    parts["buses"] = parts.get("buses", 0) + counts.bus
    if speed is not None:
        parts["speed_x_vehicles"] = plus(parts.get("speed_x_vehicles"), speed * n)
        # Free flow only where a speed was measured: the congestion index compares the two.
        if free_flow is not None:
            parts["free_flow_x_vehicles"] = plus(parts.get("free_flow_x_vehicles"), free_flow * n)
        parts["speed_min_kmh"] = lower(parts.get("speed_min_kmh"), speed)
        parts["speed_max_kmh"] = higher(parts.get("speed_max_kmh"), speed)
    if ev.occupancy is not None:
        parts["occupancy_sum"] = plus(parts.get("occupancy_sum"), ev.occupancy)
    parts["period_s_sum"] = parts.get("period_s_sum", 0) + ev.period_s
    congested = 1 if ev.congested else 0
    parts["congested_observations"] = parts.get("congested_observations", 0) + congested


def traffic_rates(p: TrafficParts) -> dict[str, float | None]:
    """Derived KPIs of a parts record."""
    mean_speed = ratio(p.speed_x_vehicles, p.speed_vehicles)
    speed_ratio = ratio(p.speed_x_vehicles, p.free_flow_x_vehicles)
    los = (
        None if speed_ratio is None else float(LOS_LETTERS.index(level_of_service(speed_ratio)) + 1)
    )
    return {
        "flow_veh_h": ratio(p.vehicles * 3600.0 * p.sensors_reporting, p.period_s_sum),
        "mean_speed_kmh": mean_speed,
        "mean_occupancy": ratio(p.occupancy_sum, p.occupancy_samples),
        "congestion_index": None if speed_ratio is None else max(0.0, 1.0 - speed_ratio),
        "level_of_service": los,
        "sensors_reporting_ratio": ratio(p.sensors_reporting, p.sensors_expected),
    }


class TrafficLogic(DomainLogic[TrafficPartsRecord]):
    domain: ClassVar[Domain] = Domain.TRAFFIC

    @override
    def _apply(self, event: Event, offset: int, wm: int | None) -> None:
        assert isinstance(event, TrafficObservation)
        ts = to_ms(event.observed_at)
        free_flow = self.ctx.topology.free_flow(event.segment_id)
        for size in TELEMETRY_SIZES:
            for kind, entity_id in ((SENSOR, event.sensor_id), (SEGMENT, event.segment_id)):
                record = self.book.window(
                    kind, entity_id, event.segment_id, size, ts, offset, _empty, wm
                )
                if record is None:
                    continue
                add_observation(record["p"], event, free_flow)
                if kind == SEGMENT:
                    record.setdefault("m", {})[event.sensor_id] = 1

    @override
    def parts(self, record: KpiWindow[TrafficPartsRecord]) -> TrafficParts:
        p = record["p"]
        topology = self.ctx.topology
        if record["k"] == SEGMENT:
            reporting = len(record.get("m", {}))
            expected = topology.expected_members(SEGMENT, record["e"])
        else:
            reporting = 1
            expected = 1 if topology.is_member(SEGMENT, record["g"], record["e"]) else 0
        return TrafficParts.model_construct(
            observations=p.get("observations", 0),
            vehicles=p.get("vehicles", 0),
            motorcycles=p.get("motorcycles", 0),
            cars=p.get("cars", 0),
            trucks=p.get("trucks", 0),
            buses=p.get("buses", 0),
            speed_x_vehicles=total(p.get("speed_x_vehicles")),
            speed_vehicles=p.get("speed_vehicles", p.get("vehicles", 0)),
            free_flow_x_vehicles=total(p.get("free_flow_x_vehicles")),
            occupancy_sum=total(p.get("occupancy_sum")),
            occupancy_samples=p.get("occupancy_samples", p.get("observations", 0)),
            period_s_sum=p.get("period_s_sum", 0),
            congested_observations=p.get("congested_observations", 0),
            speed_min_kmh=p.get("speed_min_kmh"),
            speed_max_kmh=p.get("speed_max_kmh"),
            sensors_reporting=reporting,
            sensors_expected=expected,
        )

    @override
    def rates(self, parts: Any, record: KpiWindow[TrafficPartsRecord]) -> dict[str, float | None]:
        return traffic_rates(parts)

    @override
    def observations(self, event: Event) -> list[Observation]:
        assert isinstance(event, TrafficObservation)
        if event.average_speed_kmh is None:
            return []
        return [
            Observation(
                domain=self.domain.value,
                entity_kind=SENSOR,
                entity_id=event.sensor_id,
                group_id=event.segment_id,
                area_code=self.ctx.topology.area(SENSOR, event.sensor_id),
                metric=SPEED_METRIC,
                ts_ms=to_ms(event.observed_at),
                value=event.average_speed_kmh,
            )
        ]

    @override
    def reporters(self, event: Event) -> list[tuple[str, str]]:
        assert isinstance(event, TrafficObservation)
        return [(SENSOR, event.sensor_id)]
