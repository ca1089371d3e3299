"""The seasonal detector: an hour-of-week baseline with a robust spread, per (entity, metric).

Three baselines share one state, each a list of buckets (mean, mean absolute
deviation, points, days seen) updated by a robust EWMA:

- ``w``: hour of week (168 buckets), used once the series has ``warmup_days`` of history;
- ``p``: hour of day by day type, weekday or weekend (48), the profile used during warm-up;
- ``h``: hour of day by day type on holidays (48). Holidays only ever learn and score
  against this one, so Tết neither alerts against an ordinary Tuesday nor teaches it.

A bucket is trusted only with enough history — that hour seen on ``trust_days``
earlier days for ``p`` and ``h``, in ``week_visits`` earlier weeks for ``w`` — and an
untrusted point scores 0, so a new sensor, a first weekend or a first holiday cannot
page anyone. Updates are Huber-clipped and their weight is spread over an hour's
points, so one bad hour moves next week's baseline by a fraction of a spread, never
by the size of the anomaly.

Behind ratio gates (the QR surge) a first ordinary weekend may borrow the weekday
baseline instead, rescaled by today's own level (``fallback_day_type``).

Opening needs ``open_points`` consecutive points at ``open_score`` or more, resolving
``resolve_points`` at ``resolve_score`` or less (hysteresis). With ``likelihood`` (the
default path) the lifecycle runs on the anomaly-likelihood score of the raw score
(:mod:`streams.detect.likelihood`), opening after ``lik_open_points``.

How a point scores against its baseline, the band it is judged by and how much of it
the buckets learn: :mod:`streams.detect.seasonal_score`. Every anomaly carries the band
of the raw stage: the values whose raw score stays under ``open_score`` around the
baseline it was judged against. Behind the likelihood stage the band is still the raw
stage's: the likelihood judges the recent run of raw scores, not one point, so an
opening point may lie inside the band (the run before it did not).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, cast
from zoneinfo import ZoneInfo

from schemas.results import Severity
from streams.detect.lifecycle import (
    cool_down,
    heat_up,
    incident,
    open_incident,
    touch_incident,
)
from streams.detect.likelihood import likelihood_score
from streams.detect.model import AnomalyUpdate, Observation, State
from streams.detect.params import SEASONAL, SeasonalParams
from streams.detect.seasonal_score import band, bounded, raw_score

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
MAD_TO_SIGMA = 1.25  # mean absolute deviation × 1.25 ≈ σ for normal noise
_SIZES = {"w": 168, "p": 48, "h": 48}
_LEARNS = {True: ("h",), False: ("w", "p")}
"""Families a point teaches: a holiday teaches only the holiday baseline."""


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


Buckets = tuple[list[float], list[float], list[float], list[int], list[int]]
"""Per bucket: mean, mean absolute deviation, points, days seen, last day seen (ordinal)."""


_KEYS = {f: (f, f + "d", f + "n", f + "k", f + "l") for f in _SIZES}
"""State keys of a family's five bucket lists (built once: this runs three times a point)."""


def _buckets(state: State, family: str) -> Buckets:
    k_mean, k_dev, k_count, k_days, k_last = _KEYS[family]
    found: Any = state.get(k_mean)  # Any: the hot path skips five cast() calls
    if found is None:
        size = _SIZES[family]
        state[k_mean] = found = [0.0] * size
        state[k_dev] = [0.0] * size
        state[k_count] = [0.0] * size
        state[k_days] = [0] * size
        state[k_last] = [0] * size
    lists: Any = state
    return found, lists[k_dev], lists[k_count], lists[k_days], lists[k_last]


def _trusted(buckets: Buckets, i: int, today: int, need_days: float) -> bool:
    # Days before today only: a bucket filled this morning knows nothing about this
    # morning's level, however many points it has.
    _, _, _, days, last = buckets
    return days[i] - (1 if last[i] == today else 0) >= need_days


def _slot(family: str, local: datetime, other_day_type: bool = False) -> tuple[int, int]:
    """(bucket, neighbour bucket for interpolation) of ``local`` in ``family``."""
    hour = local.hour
    step = 1 if local.minute >= 30 else -1
    if family == "w":
        base = local.weekday() * 24
        near = (base + hour + step) % 168
        if (near // 24 >= 5) != (local.weekday() >= 5):
            near = base + hour  # no ramp across a weekday/weekend step at midnight
        return base + hour, near
    offset = 24 if (local.weekday() >= 5) != other_day_type else 0
    return offset + hour, offset + (hour + step) % 24


@lru_cache(maxsize=8)
def _chain(holiday: bool, warm: bool, fallback: bool) -> tuple[tuple[str, bool], ...]:
    """Baselines to try in order: (family, of the other day type)."""
    if holiday:
        # Only a holiday of the same day type judges a holiday: the first Tết morning
        # against an ordinary Monday would be an alert about the calendar.
        return (("h", False),)
    chain = (("w", False),) if warm else ()
    return (*chain, ("p", False), *((("p", True),) if fallback else ()))


def _predict(
    state: State,
    family: str,
    local: datetime,
    today: int,
    need_days: float,
    params: SeasonalParams,
    other_day_type: bool = False,
) -> tuple[float, float] | None:
    buckets = _buckets(state, family)
    mean, dev = buckets[0], buckets[1]
    i, j = _slot(family, local, other_day_type)
    if not _trusted(buckets, i, today, need_days):
        return None
    m, d = mean[i], dev[i]
    if _trusted(buckets, j, today, need_days):
        # Bucket means describe the middle of their hour; interpolating towards the
        # neighbour follows a rush-hour ramp instead of stepping at the full hour.
        w = abs(local.minute + local.second / 60 - 30) / 60
        m = (1 - w) * m + w * mean[j]
        d = (1 - w) * d + w * dev[j]
    spread = max(MAD_TO_SIGMA * d, params.rel_spread_floor * abs(m), params.abs_spread_floor)
    return m, spread


def _learn(
    state: State,
    family: str,
    local: datetime,
    today: int,
    x: float,
    pph: float,
    params: SeasonalParams,
) -> None:
    mean, dev, count, days, last = _buckets(state, family)
    i, _ = _slot(family, local)
    if last[i] != today:
        days[i] += 1
        last[i] = today
    n = count[i] + 1
    count[i] = n
    if n == 1:
        mean[i], dev[i] = x, 0.0
        return
    # A cumulative average while the bucket fills (its first hour), then an EWMA whose
    # weight per point is alpha spread over the hour's points: the baseline forgets
    # in days or weeks, whatever the sampling period.
    a = max(1.0 / n, params.alpha / pph)
    r = x - mean[i]
    if n > pph:
        limit = params.huber_c * max(
            MAD_TO_SIGMA * dev[i], params.rel_spread_floor * abs(mean[i]), params.abs_spread_floor
        )
        r = max(-limit, min(limit, r))
    mean[i] += a * r
    dev[i] += a * (abs(r) - dev[i])


LEVEL_MIN_EVIDENCE = 50.0
"""Sum of today's values (counts, mostly) before today's level rescales a borrowed baseline:
fewer, and a steep morning ramp a little early or late reads as a different level."""
LEVEL_LIMITS = (0.25, 2.0)
"""How far today's level may move a borrowed baseline (a hospital's Saturday is 0.5, an
industrial park's 0.3)."""
LEVEL_OUTLIER = 2.0
"""A point above this many times what it was judged against is no evidence of today's
level: it is most of the way to a surge, and counting it would lift the baseline the rest
of the surge is judged against."""


def _level(state: State, today: int, prediction: tuple[float, float]) -> tuple[float, float]:
    """A baseline borrowed from the other day type, scaled by how today compares so far.

    A first Saturday judged by weekdays: a hospital is half as busy, a gate a little
    busier. The ratio of today's normal points to what the borrowed baseline said of
    them rescales it, once today has shown enough of itself.
    """
    day, seen, said = cast(list[float], state.get("lvl") or [0, 0.0, 0.0])
    if int(day) != today or seen < LEVEL_MIN_EVIDENCE or said <= 0:
        return prediction
    factor = min(LEVEL_LIMITS[1], max(LEVEL_LIMITS[0], seen / said))
    return prediction[0] * factor, prediction[1] * factor


def _track_level(state: State, today: int, x: float, borrowed: float, judged: float) -> None:
    """Count a point into today's level, unless it is an outlier against ``judged``.

    ``judged`` is what the point was scored against (the borrowed baseline, rescaled
    once the level is known). The caller passes only points below the opening score;
    a surge short of the 3× gate scores at most the resolve score, so the ratio, not
    the score, keeps it out.
    """
    if x > LEVEL_OUTLIER * judged:
        return
    day, seen, said = cast(list[float], state.get("lvl") or [0, 0.0, 0.0])
    if int(day) != today:
        day, seen, said = today, 0.0, 0.0
    state["lvl"] = [day, seen + x, said + borrowed]


def observe_seasonal(
    state: State,
    obs: Observation,
    params: SeasonalParams,
    *,
    timezone: str,
    holiday: bool,
) -> tuple[list[AnomalyUpdate], float]:
    """Score one point against its baseline, learn from it, run the lifecycle.

    An update's ``expected`` is the baseline the point was judged against and its band
    the raw stage's (:func:`~streams.detect.seasonal_score.band`), also when the
    likelihood stage decides.
    """
    values: Any = state  # Any: the hot path reads plain JSON values without cast() calls
    last: int | None = values.get("last")
    if last is not None and obs.ts_ms <= last:
        return [], 0.0  # re-emitted or out of order: learned once already
    first = int(values.setdefault("first", obs.ts_ms))
    gap = float(values.get("gap") or 0.0)
    if last is not None:
        step = float(obs.ts_ms - last)
        # The sampling period: quick to follow a shorter step, slow to believe a longer
        # one, because windows with no events are not emitted at all (a quiet night is
        # a gap, not a change of period).
        gap = step if gap == 0 else gap + (0.5 if step < gap else 0.01) * (step - gap)
        state["gap"] = gap
    state["last"] = obs.ts_ms
    pph = max(1.0, HOUR_MS / gap) if gap > 0 else 1.0
    # Points are stamped with their window's end; the middle of the window is what a
    # bucket should describe (a 15-minute window ending at 11:00 is about 10:52).
    middle = obs.ts_ms - gap / 2 if params.midpoint else obs.ts_ms
    local = datetime.fromtimestamp(middle / 1000, _zone(timezone))
    history = obs.ts_ms - first

    prediction: tuple[float, float] | None = None
    borrowed: tuple[float, float] | None = None
    today = local.toordinal()
    if history >= params.min_history_days * DAY_MS:
        warm = history >= params.warmup_days * DAY_MS
        for family, other in _chain(holiday, warm, params.fallback_day_type):
            need = params.week_visits if family == "w" else params.trust_days
            prediction = _predict(state, family, local, today, need, params, other)
            if prediction is not None:
                if other:
                    borrowed = prediction
                    prediction = _level(state, today, prediction)
                break
    score = 0.0
    learned = obs.value
    if prediction is not None:
        score = raw_score(obs.value, *prediction, params)
        learned = bounded(obs.value, *prediction, params)
    if borrowed is not None and prediction is not None and score < params.open_score:
        _track_level(state, today, obs.value, borrowed[0], prediction[0])

    for family in _LEARNS[holiday]:
        _learn(state, family, local, today, learned, pph, params)

    open_points = params.open_points
    if params.likelihood:
        # The lifecycle runs on how improbable the recent scores are, not on the score.
        score = 0.0 if prediction is None else likelihood_score(state, score, params)
        open_points = params.lik_open_points
    return _lifecycle(state, obs, params, score, prediction, last, open_points), score


@dataclass(frozen=True, slots=True)
class _Evidence:
    """What an update says about its point: built only for a point that makes one."""

    expected: float | None
    low: float | None
    high: float | None
    what: str

    @classmethod
    def of(
        cls,
        obs: Observation,
        params: SeasonalParams,
        score: float,
        prediction: tuple[float, float] | None,
    ) -> _Evidence:
        expected = None if prediction is None else prediction[0]
        low, high = (None, None) if prediction is None else band(*prediction, params)
        what = (
            f"seasonal: {obs.metric} {obs.value:.4g}"
            + (f", expected about {expected:.4g}" if expected is not None else "")
            + f" ({obs.entity_kind} {obs.entity_id}), score {score:.2f}"
        )
        return cls(expected, low, high, what)


def _lifecycle(
    state: State,
    obs: Observation,
    params: SeasonalParams,
    score: float,
    prediction: tuple[float, float] | None,
    last: int | None,
    open_points: int,
) -> list[AnomalyUpdate]:
    severity = Severity.CRITICAL if score >= params.critical_score else Severity.WARNING
    last_ms = obs.ts_ms if last is None else last
    if incident(state) is None:
        started = heat_up(state, score, params.open_score, since_ms=last_ms, points=open_points)
        if started is None:
            return []
        evidence = _Evidence.of(obs, params, score, prediction)
        return [
            open_incident(
                state,
                obs,
                SEASONAL,
                started_ms=started,
                severity=severity,
                score=score,
                observed=obs.value,
                expected=evidence.expected,
                expected_low=evidence.low,
                expected_high=evidence.high,
                description=evidence.what,
            )
        ]
    if score > params.resolve_score:
        state["cool"], state["cool_since"] = 0, None
        evidence = _Evidence.of(obs, params, score, prediction)
        touched = touch_incident(
            state,
            obs,
            SEASONAL,
            severity=severity,
            score=score,
            observed=obs.value,
            expected=evidence.expected,
            expected_low=evidence.low,
            expected_high=evidence.high,
            description=evidence.what,
        )
        return [touched] if touched else []
    return cool_down(
        state,
        obs,
        SEASONAL,
        since_ms=last_ms,
        points=params.resolve_points,
        what=lambda: _Evidence.of(obs, params, score, prediction).what,
    )
