"""Which metrics of which closed KPI windows feed detection.

Only the finest window that shows an incident in time feeds a detector: 1-minute
traffic and energy windows (a 10-minute congestion needs minute points), 15-minute
check-point windows (QR scans per minute are too sparse for a useful baseline), and
an agency's local calendar day (overdue dossiers and the on-time rate are daily
KPIs). Metrics come from the additive parts, never from ``rates``: parts are the
contract, rates a convenience.

The maths reads parts through small protocols, so the offline aggregation of
``ioc quality`` can feed it without building a pydantic record per window.
"""

from __future__ import annotations

from typing import Any, Protocol

from schemas.results import KpiRecord, WindowSize
from schemas.timeutil import to_ms
from streams.detect.model import Observation

CONGESTION_INDEX = "congestion_index"
MEAN_SPEED = "mean_speed_kmh"
VOLTAGE_MIN = "voltage_min_v"
VOLTAGE_MAX = "voltage_max_v"
POWER_MEAN = "power_kw_mean"
METERS_REPORTING = "meters_reporting_ratio"
SCANS_IN = "scans_in"
OVERDUE = "overdue"
ON_TIME_RATE = "on_time_rate"

KPI_METRICS = (
    CONGESTION_INDEX,
    MEAN_SPEED,
    VOLTAGE_MIN,
    VOLTAGE_MAX,
    POWER_MEAN,
    METERS_REPORTING,
    SCANS_IN,
    OVERDUE,
    ON_TIME_RATE,
)

MIN_DOSSIERS_FOR_RATE = 20
"""Below this many finished-or-open dossiers a day's on-time rate is noise, not a KPI."""

Metrics = dict[str, float]


class TrafficLike(Protocol):
    vehicles: int
    speed_vehicles: int
    speed_x_vehicles: float
    free_flow_x_vehicles: float


class EnergyLike(Protocol):
    readings: int
    power_samples: int
    power_kw_sum: float
    voltage_min_v: float | None
    voltage_max_v: float | None
    meters_reporting: int
    meters_expected: int


class QrLike(Protocol):
    scans_in: int


class DossierLike(Protocol):
    finished: int
    finished_late: int
    open_at_end: int
    open_late_at_end: int


def traffic_metrics(parts: TrafficLike) -> Metrics:
    """Sensor or segment minute: mean speed and congestion index (when vehicles passed)."""
    if parts.speed_vehicles <= 0:
        # No vehicles, no speed: an empty road is not a congested one; nor is one whose
        # sensors count vehicles but measure no speed.
        return {}
    metrics = {MEAN_SPEED: parts.speed_x_vehicles / parts.speed_vehicles}
    if parts.free_flow_x_vehicles > 0:
        metrics[CONGESTION_INDEX] = max(
            0.0, 1.0 - parts.speed_x_vehicles / parts.free_flow_x_vehicles
        )
    return metrics


def meter_metrics(parts: EnergyLike) -> Metrics:
    """Meter minute: lowest phase voltage, mean power."""
    metrics: Metrics = {}
    if parts.voltage_min_v is not None:
        metrics[VOLTAGE_MIN] = parts.voltage_min_v
    if parts.power_samples > 0:
        metrics[POWER_MEAN] = parts.power_kw_sum / parts.power_samples
    return metrics


def feeder_metrics(parts: EnergyLike) -> Metrics:
    """Feeder minute: highest voltage of any meter (no supply anywhere = an outage), reporting."""
    metrics: Metrics = {}
    if parts.voltage_max_v is not None:
        metrics[VOLTAGE_MAX] = parts.voltage_max_v
    if parts.meters_expected > 0:
        metrics[METERS_REPORTING] = parts.meters_reporting / parts.meters_expected
    return metrics


def checkpoint_metrics(parts: QrLike) -> Metrics:
    """Check-point quarter hour: in-scans (a surge is people arriving)."""
    return {SCANS_IN: float(parts.scans_in)}


def agency_metrics(parts: DossierLike) -> Metrics:
    """Agency day: dossiers open and past due at the day's end, on-time rate."""
    metrics = {OVERDUE: float(parts.open_late_at_end)}
    base = parts.finished + parts.open_at_end
    if base >= MIN_DOSSIERS_FOR_RATE:
        late = parts.finished_late + parts.open_late_at_end
        metrics[ON_TIME_RATE] = 1.0 - late / base
    return metrics


def metrics_of(kind: str, window: WindowSize, parts: Any) -> Metrics:
    """The detection metrics of one closed window of one entity kind (none if it feeds nothing).

    ``parts`` is the record's parts model, or anything with the same attributes.
    """
    if window is WindowSize.M1:
        if kind in ("sensor", "segment"):
            return traffic_metrics(parts)
        if kind == "meter":
            return meter_metrics(parts)
        if kind == "feeder":
            return feeder_metrics(parts)
    elif window is WindowSize.M15 and kind == "checkpoint":
        return checkpoint_metrics(parts)
    elif window is WindowSize.DAY and kind == "agency":
        return agency_metrics(parts)
    return {}


def observations_of(
    window: tuple[str, str, str, str, WindowSize, int],
    parts: Any,
    area_code: str | None = None,
) -> list[Observation]:
    """Detection points of one closed window: (domain, kind, entity, group, size, end ms)."""
    domain, kind, entity, group, size, end_ms = window
    return [
        Observation(
            domain=domain,
            entity_kind=kind,
            entity_id=entity,
            group_id=group,
            area_code=area_code,
            metric=metric,
            ts_ms=end_ms,
            value=value,
        )
        for metric, value in metrics_of(kind, size, parts).items()
    ]


def observations_from_kpi(record: KpiRecord, area_code: str | None = None) -> list[Observation]:
    """The detection points of one closed window (none for windows that feed nothing).

    ``area_code`` is the entity's area from the profile, when the caller knows it;
    KPI records do not carry it.
    """
    window = (
        record.domain.value,
        record.entity_kind,
        record.entity_id,
        record.group_id,
        record.window,
        to_ms(record.window_end),
    )
    return observations_of(window, record.parts, area_code)
