"""The contextual detector: CAD OSE (Smirnov & Burnaev) on one (entity, metric), streaming.

Each point is quantised to ``value_bits`` bits over the detector's range (NAB hands the
reference detector the whole file's minimum and maximum up front, which a stream cannot
know: here the extremes of a warm-up with headroom, then grown only to a value beyond
it — :func:`next_range`, decision 0040), its bits become
sensor facts, and the context memory (:mod:`streams.detect.context_memory`) learns
which facts follow which. A point scores when one of its facts was not predicted:
the mean of the share of judged contexts it failed to confirm and the share of new
contexts it made; else 0. After a raw score of ``base_threshold`` or more the score is
held at 0 for ``rest_period`` points (the reference's rest period), and so are the
first ``rest_period`` points of a series.

The lifecycle opens on a score of ``open_score`` or more (``open_points`` in a row) and
resolves after ``resolve_points`` points at ``resolve_score`` or less. The band is
what the memory predicted: the run of quantisation bins, nearest the observed value,
whose every fact was predicted; the expected value is the middle of the predicted bin
nearest the observed one. Nothing predicted (a memory still learning) leaves both
empty.

State (plain JSON): ``t`` last applied time, ``n`` points applied, ``lo``/``hi`` the
range, ``mn``/``mx`` the extremes seen, ``h`` the step of the last high raw score, ``m``
the context memory, and the lifecycle's ``incident``, ``hot``, ``hot_since``, ``cool``,
``cool_since``.
"""

from __future__ import annotations

import math
from typing import Any, cast

from schemas.results import Severity
from streams.detect import context_memory
from streams.detect.contextual_params import ContextualParams
from streams.detect.lifecycle import (
    cool_down,
    heat_up,
    incident,
    open_incident,
    touch_incident,
)
from streams.detect.model import AnomalyUpdate, Observation, State
from streams.detect.params import CONTEXTUAL

MAX_BIN = 1 << 16
"""Bins beyond the learned range are kept up to this far out."""
BELOW = 1000
ABOVE = 2000
"""Fact spaces of bins below and above the learned range: ``BELOW`` or ``ABOVE`` +
``2 · position + bit`` of the distance from the range. Disjoint from the facts of the
range's own bins, so no context of a normal value is confirmed by a value outside."""


def sensor_facts(bin_: int, bits: int) -> list[int]:
    """The sensor facts of a quantisation bin: ``2 · position + bit`` of each bit, sorted.

    A bin outside ``0 … 2**bits − 1`` has facts of its own (``BELOW``, ``ABOVE``).
    """
    top = (1 << bits) - 1
    if bin_ < 0 or bin_ > top:
        base, away = (BELOW, -bin_) if bin_ < 0 else (ABOVE, bin_ - top)
        return [base + 2 * pos + ((away >> pos) & 1) for pos in range(max(bits, away.bit_length()))]
    return [2 * pos + ((bin_ >> pos) & 1) for pos in range(bits)]


def quantise(value: float, lo: float, hi: float, bits: int) -> tuple[int, float]:
    """(bin of ``value``, bin width) over ``lo`` … ``hi`` in ``2**bits`` bins."""
    top = (1 << bits) - 1
    width = (hi - lo) / top if hi > lo else 1.0
    at = (value - lo) / width
    return max(-MAX_BIN, min(MAX_BIN, math.floor(at))), width


def next_range(
    lo: float,
    hi: float,
    seen_lo: float,
    seen_hi: float,
    value: float,
    *,
    warming: bool,
    params: ContextualParams,
) -> tuple[float, float]:
    """The quantisation range after ``value`` (``seen_*``: the extremes including it).

    While ``warming``: the extremes seen, widened on each side by ``headroom`` × their
    spread (floored at 0 when ``floor_zero`` and nothing negative was seen). After: the
    range stays, unless ``value`` lies beyond it; then that side moves just past the
    value, by ``growth`` × the new spread. A spike does not re-scale the bins the memory
    learned its normal values in by more than it must.
    """
    floor = params.floor_zero and seen_lo >= 0.0
    if warming:
        spread = seen_hi - seen_lo
        low = seen_lo - params.headroom * spread
        return (max(low, 0.0) if floor else low), seen_hi + params.headroom * spread
    if lo <= value <= hi:
        return lo, hi
    spread = max(hi, value) - min(lo, value)
    if value > hi:
        return lo, value + params.growth * spread
    low = value - params.growth * spread
    return (max(low, 0.0) if floor else low), hi


def band(
    predicted: list[int], observed_bin: int, lo: float, width: float, bits: int
) -> tuple[float | None, float | None, float | None]:
    """(expected, low, high): the predicted bins' run nearest ``observed_bin``.

    A bin is predicted when every one of its facts is; when no bin is (the memory
    predicted only some bits), the bins that agree with every predicted bit.
    """
    held = set(predicted)
    bins = [(b, sensor_facts(b, bits)) for b in range(1 << bits)]
    allowed = [b for b, facts in bins if all(f in held for f in facts)]
    if not allowed and held:
        allowed = [b for b, facts in bins if all(f in held or f ^ 1 not in held for f in facts)]
    if not allowed:
        return None, None, None
    nearest = min(allowed, key=lambda b: (abs(b - observed_bin), b))
    first = last = nearest
    while first - 1 in allowed:
        first -= 1
    while last + 1 in allowed:
        last += 1
    return lo + (nearest + 0.5) * width, lo + first * width, lo + (last + 1) * width


def observe_contextual(
    state: State, obs: Observation, params: ContextualParams
) -> tuple[list[AnomalyUpdate], float]:
    """Apply one point; (updates, score). A point at or before the last applied is ignored."""
    last = cast(int | None, state.get("t"))
    if last is not None and obs.ts_ms <= last:
        return [], 0.0
    state["t"] = obs.ts_ms
    value = obs.value
    n = int(cast(int, state.get("n") or 0))
    mem: Any = state.get("m")
    if mem is None:
        state["m"] = mem = context_memory.new_memory()
        state["lo"] = state["hi"] = value
    lo, hi = cast(float, state["lo"]), cast(float, state["hi"])
    bits = params.value_bits
    # Judged against the range before it: a value beyond lands outside 0 … 2**bits − 1.
    bin_, width = quantise(value, lo, hi, bits)
    seen_lo = cast(float, state.get("mn", lo))
    seen_hi = cast(float, state.get("mx", hi))
    if value < seen_lo or value > seen_hi or value < lo or value > hi:
        seen_lo, seen_hi = min(seen_lo, value), max(seen_hi, value)
        state["mn"], state["mx"] = seen_lo, seen_hi
        state["lo"], state["hi"] = next_range(
            lo, hi, seen_lo, seen_hi, value, warming=n < params.warmup, params=params
        )
    facts = sensor_facts(bin_, bits)
    predicted: list[int] = mem["p"]
    unexpected = any(f not in predicted for f in facts)
    unconfirmed, added = context_memory.step(
        mem, facts, n, max_left=params.max_left, max_neurons=params.max_neurons
    )
    context_memory.evict(mem, params.max_contexts)
    raw = (unconfirmed + added) / 2.0 if unexpected else 0.0
    high = int(cast(int, state.get("h", -1)))
    score = 0.0 if n - high <= params.rest_period else raw
    if raw >= params.base_threshold:
        state["h"] = n
    state["n"] = n + 1
    return _lifecycle(state, obs, params, score, predicted, bin_, lo, width, last), score


def _lifecycle(
    state: State,
    obs: Observation,
    params: ContextualParams,
    score: float,
    predicted: list[int],
    bin_: int,
    lo: float,
    width: float,
    last: int | None,
) -> list[AnomalyUpdate]:
    last_ms = obs.ts_ms if last is None else last
    if incident(state) is None:
        started = heat_up(
            state, score, params.open_score, since_ms=last_ms, points=params.open_points
        )
        if started is None:
            return []
        expected, low, high = band(predicted, bin_, lo, width, params.value_bits)
        return [
            open_incident(
                state,
                obs,
                CONTEXTUAL,
                started_ms=started,
                severity=_severity(score, params),
                score=score,
                observed=obs.value,
                expected=expected,
                expected_low=low,
                expected_high=high,
                description=_what(obs, score, expected),
            )
        ]
    if score > params.resolve_score:
        state["cool"], state["cool_since"] = 0, None
        expected, low, high = band(predicted, bin_, lo, width, params.value_bits)
        touched = touch_incident(
            state,
            obs,
            CONTEXTUAL,
            severity=_severity(score, params),
            score=score,
            observed=obs.value,
            expected=expected,
            expected_low=low,
            expected_high=high,
            description=_what(obs, score, expected),
        )
        return [touched] if touched else []
    return cool_down(
        state,
        obs,
        CONTEXTUAL,
        since_ms=last_ms,
        points=params.resolve_points,
        what=lambda: _what(obs, score, None),
    )


def _severity(score: float, params: ContextualParams) -> Severity:
    return Severity.CRITICAL if score >= params.critical_score else Severity.WARNING


def _what(obs: Observation, score: float, expected: float | None) -> str:
    return (
        f"contextual: {obs.metric} {obs.value:.4g}"
        + (f", expected about {expected:.4g}" if expected is not None else "")
        + f" ({obs.entity_kind} {obs.entity_id}), score {score:.2f}"
    )
