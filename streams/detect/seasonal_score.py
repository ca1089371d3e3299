"""The seasonal detector's point maths: a point against its baseline (mean, robust spread).

- :func:`raw_score`: how far the point is, as a score in 0..1 (gates included);
- :func:`band`: the values around the baseline whose raw score stays under the opening
  score — the band every seasonal anomaly carries as its evidence;
- :func:`bounded`: the point as the buckets learn it, clipped against that baseline.

Pure functions of (value, baseline, spread, parameters); the state lives in
:mod:`streams.detect.seasonal`.
"""

from __future__ import annotations

import math

from streams.detect.params import SeasonalParams


def raw_score(x: float, m: float, spread: float, params: SeasonalParams) -> float:
    """The raw score in 0..1 of ``x`` against baseline ``m`` with robust ``spread``.

    ``1 − exp(−z / z_scale)`` of ``z = |x − m| / spread`` on the watched side(s), 0 on
    the other; a point failing a gate (``min_ratio``, ``min_value``) scores at most
    ``resolve_score``.
    """
    diff = x - m
    if (params.direction == "up" and diff < 0) or (params.direction == "down" and diff > 0):
        return 0.0
    score = 1.0 - math.exp(-abs(diff) / spread / params.z_scale)
    if params.min_ratio is not None:
        big_enough = x >= params.min_ratio * m if diff >= 0 else x * params.min_ratio <= m
        if not big_enough:
            score = min(score, params.resolve_score)
    if params.min_value is not None and (x if diff >= 0 else m) < params.min_value:
        # Quiet hours: 2 scans instead of 0.3 is improbable, and no surge.
        score = min(score, params.resolve_score)
    return score


def band(m: float, spread: float, params: SeasonalParams) -> tuple[float | None, float | None]:
    """The band around baseline ``m`` where the raw score stays under the opening score.

    ``(low, high)``, None on a side with no bound; :func:`raw_score` is the raw score.
    The score reaches ``open_score`` at ``|x − m| = z_scale · −ln(1 − open_score)``
    spreads (z ≈ 5 with the defaults), on the side(s) ``direction`` watches. The gates
    widen it: ``min_ratio`` (up: ``x ≥ ratio · m``, down: ``x ≤ m / ratio``) and
    ``min_value`` (up: ``x ≥ min_value``; down: nothing opens when ``m`` is under it).
    An ``open_score`` of 1 is never reached by the raw score: no bound on either side.
    """
    if params.open_score >= 1.0:
        return None, None
    reach = params.z_scale * -math.log(1.0 - params.open_score) * spread
    low = None if params.direction == "up" else m - reach
    high = None if params.direction == "down" else m + reach
    if params.min_ratio is not None:
        if high is not None:
            high = max(high, params.min_ratio * m)
        if low is not None and params.min_ratio > 0:  # a ratio gate is positive (3 for QR)
            low = min(low, m / params.min_ratio)
    if params.min_value is not None:
        if high is not None:
            high = max(high, params.min_value)
        if low is not None and m < params.min_value:
            low = None  # a drop from a baseline under the minimum never opens
    return low, high


def bounded(x: float, m: float, spread: float, params: SeasonalParams) -> float:
    """``x`` as the buckets learn it: at most ``huber_c`` spreads past its baseline.

    Clipped against the baseline it was scored against, on the side(s) the detector
    watches. A bucket's own Huber clip starts once it has an hour of points; until
    then it is a plain average, and a surge on a day type's first day (three 15-minute
    windows at 4 × the rate) would double that hour's baseline for the days after. The
    unwatched side is left to the bucket: a quiet Saturday judged by a busier weekday's
    baseline must still learn how quiet it is.
    """
    limit = params.huber_c * spread
    if params.direction != "down":
        x = min(x, m + limit)
    if params.direction != "up":
        x = max(x, m - limit)
    return x
