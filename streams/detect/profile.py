"""Detector parameters from the province profile (thresholds, calendar, entities).

The profile states rules the way an operator thinks of them ("0.9 × nominal for
3 minutes", "seasonal opens at 4, resolves below 2"); this module turns them into
:class:`DetectorParams`, the one place that knows both vocabularies.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

from schemas.profile import Profile
from streams.detect.observations import SCANS
from streams.detect.params import DetectorParams, ThresholdRule

OPEN_SCORE = 0.8
"""Where the seasonal score (1 − exp(−z / z_scale)) meets the profile's opening z."""


def _rule(params: DetectorParams, name: str, **changes: object) -> ThresholdRule:
    rule = next(r for r in params.rules if r.name == name)
    return dataclasses.replace(rule, **changes)  # type: ignore[arg-type]


def params_from_profile(profile: Profile, base: DetectorParams | None = None) -> DetectorParams:
    """``base`` (DESIGN.md defaults) with the profile's thresholds, calendar and entities."""
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
    surge = dataclasses.replace(
        seasonal,
        direction="up",
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
    on_time = _rule(base, "on_time_rate", threshold=rules.on_time_rate_target)
    replaced = {r.name: r for r in (undervoltage, congestion, on_time)}
    return dataclasses.replace(
        base,
        rules=tuple(replaced.get(r.name, r) for r in base.rules),
        seasonal=seasonal,
        seasonal_by_metric={**base.seasonal_by_metric, SCANS: surge},
        holidays=tuple(sorted(h.date.isoformat() for h in profile.holidays)),
        timezone=profile.timezone,
        silence_periods=rules.silence_periods,
        max_speed_kmh=rules.max_speed_kmh,
        reset_floor_kwh=rules.register_reset_max_kwh,
        nominal_voltage_by_entity=nominal,
        register_max_by_entity={m.meter_id: m.register_max_kwh for m in profile.meters},
    )
