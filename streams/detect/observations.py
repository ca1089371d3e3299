"""Which metrics of which closed KPI windows feed detection.

Only the finest window that shows an incident in time feeds a detector: 1-minute
traffic and energy windows (a 10-minute congestion needs minute points), 15-minute
check-point windows (QR scans per minute are too sparse to have a useful baseline),
and the calendar day of an agency (on-time rate is a daily KPI). Rates come from the
additive parts, never from ``rates``: parts are the contract, rates a convenience.
"""

from __future__ import annotations

from schemas.results import (
    DossierParts,
    EnergyParts,
    KpiRecord,
    QrParts,
    TrafficParts,
    WindowSize,
)
from schemas.timeutil import to_ms
from streams.detect.model import Observation

CONGESTION_INDEX = "congestion_index"
MEAN_SPEED = "mean_speed_kmh"
VOLTAGE_MIN = "voltage_min_v"
POWER_MEAN = "power_kw_mean"
METERS_REPORTING = "meters_reporting_ratio"
SCANS = "scans"
ON_TIME_RATE = "on_time_rate"
LATE = "late"
OVERDUE_OPEN = "overdue_open"

KPI_METRICS = (
    CONGESTION_INDEX,
    MEAN_SPEED,
    VOLTAGE_MIN,
    POWER_MEAN,
    METERS_REPORTING,
    SCANS,
    ON_TIME_RATE,
    LATE,
    OVERDUE_OPEN,
)

MIN_DOSSIERS_FOR_RATE = 5
"""Below this many finished-or-open dossiers a day's on-time rate is noise, not a KPI."""

Metrics = dict[str, float]


def _traffic(parts: TrafficParts) -> Metrics:
    if parts.vehicles <= 0:
        return {}  # no vehicles, no speed: an empty road is not a congested one
    metrics = {MEAN_SPEED: parts.speed_x_vehicles / parts.vehicles}
    if parts.free_flow_x_vehicles > 0:
        metrics[CONGESTION_INDEX] = max(
            0.0, 1.0 - parts.speed_x_vehicles / parts.free_flow_x_vehicles
        )
    return metrics


def _meter(parts: EnergyParts) -> Metrics:
    metrics: Metrics = {}
    if parts.voltage_min_v is not None:
        metrics[VOLTAGE_MIN] = parts.voltage_min_v
    if parts.readings > 0:
        metrics[POWER_MEAN] = parts.power_kw_sum / parts.readings
    return metrics


def _feeder(parts: EnergyParts) -> Metrics:
    if parts.meters_expected <= 0:
        return {}
    return {METERS_REPORTING: parts.meters_reporting / parts.meters_expected}


def _checkpoint(parts: QrParts) -> Metrics:
    return {SCANS: float(parts.scans)}


def _agency(parts: DossierParts) -> Metrics:
    late = parts.finished_late + parts.open_late_at_end
    metrics = {LATE: float(late), OVERDUE_OPEN: float(parts.open_late_at_end)}
    base = parts.finished + parts.open_at_end
    if base >= MIN_DOSSIERS_FOR_RATE:
        metrics[ON_TIME_RATE] = 1.0 - late / base
    return metrics


def _metrics(record: KpiRecord) -> Metrics:
    parts, kind, window = record.parts, record.entity_kind, record.window
    if isinstance(parts, TrafficParts) and kind in ("sensor", "segment"):
        return _traffic(parts) if window is WindowSize.M1 else {}
    if isinstance(parts, EnergyParts) and window is WindowSize.M1:
        return _meter(parts) if kind == "meter" else _feeder(parts) if kind == "feeder" else {}
    if isinstance(parts, QrParts) and kind == "checkpoint":
        return _checkpoint(parts) if window is WindowSize.M15 else {}
    if isinstance(parts, DossierParts) and kind == "agency":
        return _agency(parts) if window is WindowSize.DAY else {}
    return {}


def observations_from_kpi(record: KpiRecord, area_code: str | None = None) -> list[Observation]:
    """The detection points of one closed window (none for windows that feed nothing).

    ``area_code`` is the entity's area from the profile, when the caller knows it;
    KPI records do not carry it.
    """
    metrics = _metrics(record)
    if not metrics:
        return []
    ts_ms = to_ms(record.window_end)
    return [
        Observation(
            domain=record.domain.value,
            entity_kind=record.entity_kind,
            entity_id=record.entity_id,
            group_id=record.group_id,
            area_code=area_code,
            metric=metric,
            ts_ms=ts_ms,
            value=value,
        )
        for metric, value in metrics.items()
    ]
