"""The anomaly-likelihood stage: how unusual the raw score is against its own recent past.

Numenta's second stage (Ahmad et al., 2017, "Unsupervised real-time anomaly detection
for streaming data"), with bounded state. A detector's raw score says how far a point
is from its baseline; on a series whose baseline is poor (a noisy, drifting or
unseasonal one) the raw score is high a lot of the time, and a threshold on it pages
all day. The likelihood asks a different question: is the *recent average* of the raw
score improbably high compared with how the score has been behaving?

Per (entity, metric), on each point the detector scored:

1. the raw score joins a ring of the last ``window`` scores; ``recent`` is their mean;
2. ``recent`` is judged against a normal distribution of past ``recent`` values —
   EWMA mean and variance with a memory of about ``horizon`` points (a cumulative
   average until then), the standard deviation floored at ``min_sd``: the tail
   probability ``q = P(X ≥ recent)``; the likelihood is ``1 − q``;
3. only then does ``recent`` update the moments (what is judged never judges itself).

An alert is ``q ≤ epsilon`` (likelihood ≥ 1 − ε). The stage returns a score in 0..1
on the log scale Numenta uses, ``log q / log ε`` scaled so that ``q = ε`` lands exactly on
the detector's ``open_score``: the seasonal lifecycle (hysteresis, severity) runs on it
unchanged. Until ``learning`` points were seen it returns 0.

State: ``{"n": points, "m": mean, "v": variance, "r": ring, "i": next slot}`` — a few
numbers and ``window`` floats, plain JSON, updated only from the scores in order.
"""

from __future__ import annotations

import math
from typing import Any

from streams.detect.model import State
from streams.detect.params import SeasonalParams

KEY = "lk"
_TINY = 1e-300


def tail_probability(x: float, mean: float, sd: float) -> float:
    """P(X ≥ x) for X ~ N(mean, sd²), but at most 0.5 (a low average is no anomaly)."""
    if x <= mean:
        return 0.5
    return 0.5 * math.erfc((x - mean) / (sd * math.sqrt(2.0)))


def likelihood_score(state: State, raw: float, params: SeasonalParams) -> float:
    """Feed one raw score (0..1) of the detector; the likelihood stage's score (0..1)."""
    lk: Any = state.get(KEY)  # Any: plain JSON read on the hot path without cast() calls
    if lk is None:
        lk = state[KEY] = {"n": 0, "m": 0.0, "v": 0.0, "r": []}
    ring: list[float] = lk["r"]
    window = max(1, params.lik_window)
    if len(ring) < window:
        ring.append(raw)
    else:
        slot = int(lk.get("i") or 0) % window
        ring[slot] = raw
        lk["i"] = (slot + 1) % window
        if len(ring) > window:
            del ring[window:]  # a smaller window after a parameter change
    recent = sum(ring) / len(ring)

    n = int(lk["n"])
    mean = float(lk["m"])
    var = float(lk["v"])
    score = 0.0
    if n >= params.lik_learning:
        sd = max(math.sqrt(var), params.lik_min_sd)
        q = tail_probability(recent, mean, sd)
        score = min(1.0, params.open_score * math.log(max(q, _TINY)) / math.log(params.lik_epsilon))

    # The moments learn what they just judged, clipped so one long incident does not
    # teach them that anomalies are normal.
    n += 1
    a = max(1.0 / n, 1.0 / params.lik_horizon)
    if n > params.lik_learning and params.lik_clip > 0:
        recent = min(recent, mean + params.lik_clip * max(math.sqrt(var), params.lik_min_sd))
    diff = recent - mean
    mean += a * diff
    var = (1.0 - a) * (var + a * diff * diff)
    lk["n"], lk["m"], lk["v"] = n, mean, var
    return score
