"""The natural (anomaly-free) shape of the province: daily profiles and physical relations.

Pure functions of the local day and hour, shared by the generators (to draw events)
and by the injection planner and the tests (to know what "expected" is). Numbers are
plausible for a Vietnamese province, not measured; each says where it comes from.
"""

from __future__ import annotations

from ioc.tooling.simulator.clock import Day, DayKind
from schemas.province.entities import CheckpointKind, CustomerClass, RoadClass

Shape = tuple[float, ...]
"""24 values, one per local hour (h:00), linearly interpolated in between."""


def at_hour(shape: Shape, hour: float) -> float:
    """Linear interpolation of an hourly shape, wrapping at midnight."""
    h = int(hour) % 24
    frac = hour - int(hour)
    return shape[h] + (shape[(h + 1) % 24] - shape[h]) * frac


# --- traffic -------------------------------------------------------------------------------

# Share of a segment's rush-hour demand by hour: commuter peaks at 7:00 and 17:00 on
# weekdays (school and factory shifts), later and lower at weekends.
TRAFFIC_WEEKDAY: Shape = (
    0.07, 0.05, 0.04, 0.04, 0.08, 0.25, 0.65, 1.00, 0.80, 0.60, 0.55, 0.60,
    0.52, 0.50, 0.55, 0.65, 0.85, 1.00, 0.88, 0.65, 0.45, 0.35, 0.22, 0.12,
)  # fmt: skip
TRAFFIC_SATURDAY: Shape = (
    0.09, 0.06, 0.05, 0.05, 0.07, 0.18, 0.40, 0.62, 0.70, 0.68, 0.66, 0.64,
    0.58, 0.55, 0.58, 0.64, 0.72, 0.78, 0.74, 0.62, 0.48, 0.38, 0.25, 0.15,
)  # fmt: skip
TRAFFIC_SUNDAY: Shape = (
    0.10, 0.06, 0.05, 0.04, 0.05, 0.12, 0.28, 0.45, 0.58, 0.62, 0.60, 0.56,
    0.50, 0.46, 0.50, 0.56, 0.62, 0.66, 0.64, 0.55, 0.42, 0.32, 0.22, 0.14,
)  # fmt: skip

TRAFFIC_PEAK_X = 0.80
"""Weekday rush-hour demand as a share of capacity on a typical segment."""
CAPACITY_PER_LANE: dict[RoadClass, float] = {
    # vehicles/h/lane in motorcycle-dominated mixed traffic (a motorcycle is ~0.3 PCU)
    RoadClass.NATIONAL: 1_800.0,
    RoadClass.PROVINCIAL: 1_500.0,
    RoadClass.URBAN: 1_600.0,
}
VEHICLE_MIX: dict[RoadClass, tuple[float, float, float, float]] = {
    # motorcycle, car, truck, bus: ~80 % motorcycles overall, more trucks on national roads
    RoadClass.NATIONAL: (0.74, 0.14, 0.10, 0.02),
    RoadClass.PROVINCIAL: (0.83, 0.10, 0.05, 0.02),
    RoadClass.URBAN: (0.87, 0.10, 0.01, 0.02),
}
EFFECTIVE_LENGTH_M = (2.5, 6.0, 13.0, 13.0)
"""Vehicle plus detection-zone length by class, for occupancy."""
CONGESTION_SLOPE = 0.55
"""Congestion index at capacity: speed falls to 45 % of free flow when demand meets capacity."""


def traffic_demand(road: RoadClass, day: Day, hour: float) -> float:
    """Demand as a share of capacity (before noise and the segment's own scale)."""
    if day.kind == DayKind.WEEKDAY:
        shape, factor = TRAFFIC_WEEKDAY, 1.0
    elif day.kind == DayKind.SATURDAY:
        shape, factor = TRAFFIC_SATURDAY, 1.0
    elif day.kind == DayKind.TET:
        # Tết: towns empty, families visit; a quiet Sunday.
        shape, factor = TRAFFIC_SUNDAY, 0.65
    else:
        shape, factor = TRAFFIC_SUNDAY, 1.0
    if day.tet_eve and road != RoadClass.URBAN:
        factor *= 1.2  # homecoming on the national and provincial roads before Tết
    return TRAFFIC_PEAK_X * factor * at_hour(shape, hour)


def speed_ratio(x: float) -> float:
    """Speed / free-flow speed at demand ``x`` (share of capacity): 1 − 0.55·x², x ≤ 1.

    Demand beyond capacity queues rather than flows, so the natural congestion index
    never exceeds 0.55: above the 0.6 rule threshold only with an injected incident.
    """
    x = min(max(x, 0.0), 1.0)
    return 1.0 - CONGESTION_SLOPE * x * x


def occupancy(vehicles_per_h_per_lane: float, counts: list[int], speed_kmh: float) -> float:
    """Share of time the detector is occupied: flow · mean effective length / speed."""
    total = sum(counts)
    if total == 0 or speed_kmh <= 0:
        return 0.0
    length = sum(c * m for c, m in zip(counts, EFFECTIVE_LENGTH_M, strict=True)) / total
    return min(0.95, vehicles_per_h_per_lane * length / (speed_kmh * 1000.0))


# --- energy --------------------------------------------------------------------------------

# Share of a customer's peak demand by hour. Households peak in the evening (cooking,
# lights, air conditioning), shops in the afternoon and evening, factories run shifts.
LOAD_RESIDENTIAL: Shape = (
    0.36, 0.31, 0.28, 0.27, 0.28, 0.38, 0.52, 0.46, 0.36, 0.34, 0.38, 0.48,
    0.54, 0.50, 0.45, 0.44, 0.50, 0.66, 0.86, 1.00, 1.00, 0.90, 0.70, 0.50,
)  # fmt: skip
LOAD_COMMERCIAL: Shape = (
    0.18, 0.16, 0.15, 0.15, 0.16, 0.22, 0.35, 0.55, 0.75, 0.85, 0.90, 0.92,
    0.85, 0.85, 0.90, 0.90, 0.92, 0.95, 1.00, 1.00, 0.90, 0.70, 0.40, 0.25,
)  # fmt: skip
LOAD_INDUSTRIAL: Shape = (
    0.55, 0.55, 0.54, 0.54, 0.55, 0.60, 0.80, 0.95, 1.00, 1.00, 1.00, 0.95,
    0.80, 0.95, 1.00, 1.00, 0.98, 0.90, 0.75, 0.70, 0.68, 0.62, 0.58, 0.56,
)  # fmt: skip
LOAD_SHAPES: dict[CustomerClass, Shape] = {
    CustomerClass.RESIDENTIAL: LOAD_RESIDENTIAL,
    CustomerClass.COMMERCIAL: LOAD_COMMERCIAL,
    CustomerClass.INDUSTRIAL: LOAD_INDUSTRIAL,
}
PEAK_KW: dict[CustomerClass, tuple[float, float]] = {
    CustomerClass.RESIDENTIAL: (1.5, 3.5),
    CustomerClass.COMMERCIAL: (8.0, 30.0),
    CustomerClass.INDUSTRIAL: (50.0, 200.0),
}
SUPPLY_VOLTAGE_V = 222.0
"""Distribution transformers are tapped a little above nominal to absorb line drop."""
LOAD_DROP_V = 5.0
"""Extra line drop at the evening peak."""
METER_OFFSET_V = (-4.0, 0.0)
"""Fixed drop by a meter's distance along its feeder."""


def load_fraction(customer: CustomerClass, day: Day, hour: float) -> float:
    """A customer's demand as a share of its peak."""
    value = at_hour(LOAD_SHAPES[customer], hour)
    weekend = day.kind in (DayKind.SATURDAY, DayKind.SUNDAY, DayKind.HOLIDAY)
    if customer == CustomerClass.INDUSTRIAL:
        if day.kind == DayKind.TET:
            return value * 0.25  # factories close for Tết
        if day.kind in (DayKind.SUNDAY, DayKind.HOLIDAY):
            return value * 0.55
        return value * (0.85 if day.kind == DayKind.SATURDAY else 1.0)
    if customer == CustomerClass.COMMERCIAL:
        return value * (0.55 if day.kind == DayKind.TET else 1.05 if weekend else 1.0)
    # households are home at weekends and for Tết
    return value * (1.15 if day.kind == DayKind.TET else 1.05 if weekend else 1.0)


def feeder_voltage(day: Day, hour: float) -> float:
    """The expected supply voltage of a feeder before noise and the meter's offset."""
    return SUPPLY_VOLTAGE_V - LOAD_DROP_V * load_fraction(CustomerClass.RESIDENTIAL, day, hour)


# --- QR check-points ------------------------------------------------------------------------

QR_PEAK_PER_H: dict[CheckpointKind, float] = {
    CheckpointKind.GATE: 90.0,
    CheckpointKind.HOSPITAL: 120.0,
    CheckpointKind.MARKET: 150.0,
    CheckpointKind.BUS_STATION: 60.0,
    CheckpointKind.INDUSTRIAL_PARK: 300.0,
}
"""Arrivals per hour at the busiest hour of a weekday."""
QR_SHAPES: dict[CheckpointKind, Shape] = {
    CheckpointKind.GATE: (
        0.08, 0.06, 0.05, 0.05, 0.10, 0.40, 0.85, 1.00, 0.90, 0.70, 0.60, 0.58,
        0.50, 0.50, 0.55, 0.65, 0.85, 0.95, 0.80, 0.55, 0.40, 0.28, 0.18, 0.10,
    ),
    CheckpointKind.HOSPITAL: (
        0.04, 0.03, 0.03, 0.03, 0.04, 0.10, 0.55, 1.00, 0.95, 0.80, 0.65, 0.40,
        0.20, 0.45, 0.55, 0.50, 0.35, 0.15, 0.08, 0.06, 0.05, 0.05, 0.04, 0.04,
    ),
    CheckpointKind.MARKET: (
        0.00, 0.00, 0.00, 0.02, 0.20, 0.80, 1.00, 0.95, 0.70, 0.55, 0.40, 0.25,
        0.15, 0.12, 0.18, 0.35, 0.50, 0.45, 0.25, 0.10, 0.04, 0.01, 0.00, 0.00,
    ),
    CheckpointKind.BUS_STATION: (
        0.02, 0.02, 0.02, 0.05, 0.35, 0.90, 1.00, 0.80, 0.60, 0.50, 0.45, 0.45,
        0.50, 0.60, 0.70, 0.70, 0.55, 0.35, 0.20, 0.10, 0.06, 0.04, 0.03, 0.02,
    ),
    CheckpointKind.INDUSTRIAL_PARK: (
        0.02, 0.02, 0.02, 0.02, 0.05, 0.25, 0.90, 1.00, 0.25, 0.08, 0.05, 0.06,
        0.15, 0.20, 0.08, 0.05, 0.05, 0.06, 0.15, 0.20, 0.08, 0.04, 0.03, 0.02,
    ),
}  # fmt: skip
QR_VEHICLE_SHARE: dict[CheckpointKind, float] = {
    CheckpointKind.GATE: 0.6,
    CheckpointKind.HOSPITAL: 0.1,
    CheckpointKind.MARKET: 0.15,
    CheckpointKind.BUS_STATION: 0.05,
    CheckpointKind.INDUSTRIAL_PARK: 0.1,
}
QR_OUT_SHARE: dict[CheckpointKind, float] = {
    # share of arrivals scanned again on leaving; a gate scan is one crossing either way
    CheckpointKind.GATE: 0.0,
    CheckpointKind.HOSPITAL: 0.8,
    CheckpointKind.MARKET: 0.7,
    CheckpointKind.BUS_STATION: 0.3,
    CheckpointKind.INDUSTRIAL_PARK: 0.95,
}
QR_DWELL_MEDIAN_MIN: dict[CheckpointKind, float] = {
    CheckpointKind.GATE: 0.0,
    CheckpointKind.HOSPITAL: 120.0,
    CheckpointKind.MARKET: 40.0,
    CheckpointKind.BUS_STATION: 30.0,
    CheckpointKind.INDUSTRIAL_PARK: 570.0,
}
QR_GATE_IN_SHARE = 0.5
"""At a gate an arrival is a crossing into the province half of the time."""


def qr_day_factor(kind: CheckpointKind, day: Day) -> float:
    """How a day differs from a weekday at a kind of check-point (kept below 2×)."""
    if day.tet_eve and kind in (
        CheckpointKind.GATE,
        CheckpointKind.MARKET,
        CheckpointKind.BUS_STATION,
    ):
        return 1.8  # homecoming and Tết shopping; a holiday-aware baseline expects it
    weekend = day.kind in (DayKind.SATURDAY, DayKind.SUNDAY, DayKind.HOLIDAY)
    factors = {
        CheckpointKind.GATE: (1.1, 1.3),
        CheckpointKind.HOSPITAL: (0.5, 0.4),
        CheckpointKind.MARKET: (1.2, 0.3),
        CheckpointKind.BUS_STATION: (1.3, 0.9),
        CheckpointKind.INDUSTRIAL_PARK: (0.3, 0.05),
    }
    weekend_factor, tet_factor = factors[kind]
    if day.kind == DayKind.TET:
        return tet_factor
    return weekend_factor if weekend else 1.0


def qr_arrivals_per_h(kind: CheckpointKind, day: Day, hour: float) -> float:
    """Expected arrivals (first scans) per hour."""
    return QR_PEAK_PER_H[kind] * qr_day_factor(kind, day) * at_hour(QR_SHAPES[kind], hour)


def qr_in_scans_per_h(kind: CheckpointKind, day: Day, hour: float) -> float:
    """Expected ``in`` scans per hour: the seasonal baseline the surge rule compares with."""
    share = QR_GATE_IN_SHARE if kind == CheckpointKind.GATE else 1.0
    return qr_arrivals_per_h(kind, day, hour) * share


# --- dossiers ------------------------------------------------------------------------------

DOSSIERS_PER_WORKING_DAY = {"service_centre": 60.0, "province": 20.0, "middle": 45.0, "leaf": 12.0}
"""Mean new dossiers per working day by kind of agency (≈1,200 a day for the default profile)."""
ONLINE_SHARE = 0.965
POSTAL_SHARE = 0.005
ONLINE_OUTSIDE_OFFICE = 0.2
"""Online submissions made in the evening or at weekends (staff act in office hours only)."""
NON_WORKING_DAY_ONLINE = 0.08
"""Weekend/holiday online submissions as a share of a working day's."""
LATE_SHARE = 0.02
"""Dossiers finished after their due date (on-time ≈ 98 %)."""
LATE_CAP_PER_AGENCY_DAY = 2
"""Natural late dossiers per agency and due date; the overdue-spike rule starts at 5."""
