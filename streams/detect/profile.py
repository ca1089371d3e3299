"""Detector parameters from the province profile (thresholds, calendar, entities).

The profile states rules the way an operator thinks of them ("0.9 × nominal for
3 minutes", "seasonal opens at 4, resolves below 2"); this module turns them into
:class:`DetectorParams`, the one place that knows both vocabularies.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from datetime import date, timedelta

from schemas.province.calendar import HolidayKind
from schemas.province.profile import Profile
from streams.detect.observations import SCANS_IN
from streams.detect.params import QR_SURGE, DetectorParams, ThresholdRule

OPEN_SCORE = 0.8
"""Where the seasonal score (1 − exp(−z / z_scale)) meets the profile's opening z."""
PRE_TET_DAYS = 5
"""Days before Tết with homecoming travel and Tết shopping: not holidays in the calendar,
but no ordinary weekday either, so they share the holidays' seasonal baseline."""


SEASON_YEARS = range(2000, 2100)
"""Years whose holidays the detectors know: any event time the pipeline accepts. Fixed (not
relative to today) so that a replay years later scores a day as the live run did."""


def holiday_season(profile: Profile, years: range = SEASON_YEARS) -> list[date]:
    """The profile's holidays plus the days just before each Tết break."""
    holidays = profile.holidays_in(years)
    days = {h.date for h in holidays}
    for h in holidays:
        if h.kind == HolidayKind.TET and h.date - timedelta(days=1) not in days:
            days.update(h.date - timedelta(days=k) for k in range(1, PRE_TET_DAYS + 1))
    return sorted(days)


def _rule(params: DetectorParams, name: str, **changes: object) -> ThresholdRule:
    rule = next(r for r in params.rules if r.name == name)
    return dataclasses.replace(rule, **changes)  # type: ignore[arg-type]


def params_from_profile(profile: Profile, base: DetectorParams | None = None) -> DetectorParams:
    """``base`` with the profile's thresholds, calendar and entities.

    ``base`` defaults to :class:`DetectorParams` (docs/architecture.md, "Anomalies and detectors").
    """
    base = base or DetectorParams()
    rules = profile.rules
    nominal = {m.meter_id: m.nominal_voltage_v for m in profile.meters}
    # A feeder's nominal is its meters' (they share the low-voltage side).
    by_feeder: dict[str, Counter[float]] = {}
    for meter in profile.meters:
        by_feeder.setdefault(meter.feeder_id, Counter())[meter.nominal_voltage_v] += 1
    nominal.update({f: c.most_common(1)[0][0] for f, c in by_feeder.items()})

    # The profile states seasonal thresholds as robust z; the detector scores
    # 1 − exp(−z / z_scale) so that the opening z lands on OPEN_SCORE.
    z_scale = rules.open_score / -math.log(1 - OPEN_SCORE)
    seasonal = dataclasses.replace(
        base.seasonal,
        warmup_days=float(rules.seasonal_warmup_days),
        z_scale=z_scale,
        open_score=OPEN_SCORE,
        resolve_score=1 - math.exp(-rules.resolve_score / z_scale),
    )
    # The QR surge keeps its own shape (gated, one window opens) with the profile's numbers.
    surge = dataclasses.replace(
        base.seasonal_by_metric.get(SCANS_IN, QR_SURGE),
        warmup_days=seasonal.warmup_days,
        z_scale=seasonal.z_scale,
        open_score=seasonal.open_score,
        resolve_score=seasonal.resolve_score,
        min_ratio=rules.qr_surge_factor,
        min_value=float(rules.qr_surge_min_scans),
    )
    undervoltage = _rule(
        base,
        "undervoltage",
        threshold=rules.undervoltage_ratio,
        duration_s=rules.undervoltage_for_s,
        resolve_threshold=min(1.0, rules.undervoltage_ratio + 0.02),
        ignore_below=rules.outage_voltage_ratio,
    )
    congestion = _rule(
        base,
        "congestion",
        threshold=rules.congestion_index,
        duration_s=rules.congestion_for_s,
        resolve_threshold=rules.congestion_index - 0.1,
    )
    outage = _rule(base, "outage", threshold=rules.outage_voltage_ratio)
    overdue = _rule(base, "overdue_spike", threshold=rules.overdue_spike_count - 1.0)
    replaced = {r.name: r for r in (undervoltage, congestion, outage, overdue)}
    return dataclasses.replace(
        base,
        rules=tuple(replaced.get(r.name, r) for r in base.rules),
        seasonal=seasonal,
        seasonal_by_metric={**base.seasonal_by_metric, SCANS_IN: surge},
        holidays=tuple(d.isoformat() for d in holiday_season(profile)),
        timezone=profile.timezone,
        silence_periods=rules.silence_periods,
        max_speed_kmh=rules.max_speed_kmh,
        reset_floor_kwh=rules.register_reset_max_kwh,
        nominal_voltage_by_entity=nominal,
        register_max_by_entity={m.meter_id: m.register_max_kwh for m in profile.meters},
    )
