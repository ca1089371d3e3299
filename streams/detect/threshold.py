"""Threshold rules with a duration: the profile's "X below/above T for D minutes".

The breach is timed from the end of the last good point (for KPI windows: the start
of the first bad window), so "3 minutes" means three bad 1-minute windows, and an
irregular series is timed by its own spacing.
"""

from __future__ import annotations

from typing import cast

from schemas.results import Severity
from streams.detect.lifecycle import incident, open_incident, resolve_incident, touch_incident
from streams.detect.model import AnomalyUpdate, Observation, State
from streams.detect.params import ThresholdRule


def _start_of_run(usual_ms: int, prev_ms: int | None, ts_ms: int, limit_ms: int) -> int:
    # A run starts where the last point before it ended, unless that point is much
    # older than the series' usual spacing (a gap in the data): timing from it would
    # invent evidence nobody saw.
    if prev_ms is None:
        return ts_ms
    if ts_ms - prev_ms <= max(limit_ms, usual_ms + usual_ms // 2, 60_000):
        return prev_ms
    return ts_ms


def band(rule: ThresholdRule, scale: float = 1.0) -> tuple[float | None, float | None]:
    """The band a rule considers normal: its threshold on the side it watches, scaled.

    "Above T" is normal up to T (no lower bound), "below T" from T up (no upper bound);
    ``scale`` as the rule's threshold is scaled (a share of the nominal voltage). A
    ``change`` rule's band bounds the change, as its observed value is the change.
    Values under ``ignore_below`` are out of the rule's scope (another rule's business),
    not inside its band: the band says where this rule opens, not what is healthy.
    """
    bound = rule.threshold * scale
    return (None, bound) if rule.op == "above" else (bound, None)


def _severity(rule: ThresholdRule, value: float) -> Severity:
    return Severity.CRITICAL if rule.is_critical(value) else Severity(rule.severity)


def _describe(
    rule: ThresholdRule, obs: Observation, held_ms: int, scale: float, value: float
) -> str:
    sign = ">" if rule.op == "above" else "<"
    held = f" for {held_ms / 60_000:g} min" if held_ms > 0 else ""
    what = (
        f"{obs.metric} {value:+.4g} on the previous point"
        if rule.change
        else (f"{obs.metric} {obs.value:.4g}")
    )
    return (
        f"{rule.name}: {what} {sign} {rule.threshold * scale:.4g}{held} "
        f"({obs.entity_kind} {obs.entity_id})"
    )


def observe_threshold(
    state: State,
    obs: Observation,
    rule: ThresholdRule,
    *,
    holiday: bool = False,
    scale: float = 1.0,
) -> tuple[list[AnomalyUpdate], float]:
    """Apply one point; returns the lifecycle updates and the point's score in 0..1.

    ``scale`` is the entity's reference for rules stated as shares (its nominal voltage).
    """
    prev = cast(int | None, state.get("last"))
    if prev is not None and obs.ts_ms <= prev:
        # A re-emitted or out-of-order window: the run is timed by the points already
        # applied, and re-applying one would only move the timers backwards.
        return [], 0.0
    usual = int(cast(int, state.get("gap") or 0))
    state["last"] = obs.ts_ms
    if prev is not None:
        state["gap"] = obs.ts_ms - prev
    duration_ms = rule.duration_s * 1000
    resolve_ms = rule.resolve_after_s * 1000
    inc = incident(state)
    low, high = band(rule, scale)
    value = obs.value / scale
    if rule.change:
        before = cast(float | None, state.get("value"))
        state["value"] = value
        if before is None:
            return [], 0.0  # a change needs a point before it
        value -= before

    if inc is None:
        if not rule.breached(value) or (holiday and not rule.on_holidays):
            state["since"] = None
            return [], 0.0
        since = cast(int | None, state.get("since"))
        if since is None:
            since = _start_of_run(usual, prev, obs.ts_ms, duration_ms)
            state["since"] = since
        held = obs.ts_ms - since
        if held < duration_ms:
            return [], 0.5 + 0.5 * held / duration_ms
        state["since"] = None
        state["clear_since"] = None
        update = open_incident(
            state,
            obs,
            rule.name,
            started_ms=since,
            severity=_severity(rule, value),
            score=1.0,
            observed=value if rule.change else obs.value,
            expected=rule.threshold * scale,
            expected_low=low,
            expected_high=high,
            description=_describe(rule, obs, held, scale, value),
        )
        return [update], 1.0

    if not rule.cleared(value):
        state["clear_since"] = None
        score = 1.0 if rule.breached(value) else 0.75
        started = int(cast(int, inc["started_ms"]))
        touched = touch_incident(
            state,
            obs,
            rule.name,
            severity=_severity(rule, value),
            score=score,
            observed=value if rule.change else obs.value,
            expected=rule.threshold * scale,
            expected_low=low,
            expected_high=high,
            description=_describe(rule, obs, obs.ts_ms - started, scale, value),
        )
        return ([touched] if touched else []), score

    clear_since = cast(int | None, state.get("clear_since"))
    if clear_since is None:
        clear_since = _start_of_run(usual, prev, obs.ts_ms, resolve_ms)
        state["clear_since"] = clear_since
    cleared_for = obs.ts_ms - clear_since
    if cleared_for < resolve_ms:
        return [], 0.5
    state["clear_since"] = None
    resolved = resolve_incident(
        state,
        obs,
        rule.name,
        ended_ms=clear_since,
        description=f"{rule.name}: {obs.metric} back to {obs.value:.4g} "
        f"({obs.entity_kind} {obs.entity_id})",
    )
    return ([resolved] if resolved else []), 0.0
