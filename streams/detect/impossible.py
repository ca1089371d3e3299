"""Impossible values, checked per event: registers running backwards, speeds above physics.

Energy registers are cumulative. A wrap at the register's maximum is a rollover, a
drop to near zero is a meter reset (replaced or cleared meter: an *info* anomaly, so it
is on record but pages nobody); any other decrease is impossible and opens a warning
that resolves once a reading moves forward past the last good one.

The band of both register anomalies is the last good reading upwards (a register only
moves forward, by any amount: no upper bound); a rollover, the one normal step below it,
is a wrap no band of one interval can show. The band of an impossible speed is the
physically possible range, 0 (the event contract refuses a negative speed) to
``max_speed_kmh``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import cast

from schemas.results import Severity
from streams.detect.lifecycle import incident, open_incident, resolve_incident
from streams.detect.model import AnomalyUpdate, Observation, States, state_key
from streams.detect.params import DetectorParams

REGISTER_METRIC = "energy_kwh_total"
SPEED_METRIC = "average_speed_kmh"
REGISTER_RESET = "register_reset"
REGISTER_BACKWARDS = "register_backwards"
IMPOSSIBLE_SPEED = "impossible_speed"

# A rollover is a wrap whose implied consumption is plausible; a wrap implying more
# than this share of the register is a reset or a glitch, not a rollover.
MAX_ROLLOVER_SHARE = 0.01


class RegisterStep(StrEnum):
    FIRST = "first"
    FORWARD = "forward"
    ROLLOVER = "rollover"
    RESET = "reset"
    BACKWARDS = "backwards"


def classify_register(
    previous_kwh: float | None, kwh: float, *, register_max_kwh: float, reset_floor_kwh: float
) -> tuple[RegisterStep, float]:
    """What a register step is, and the kWh it implies (0 when it cannot be trusted)."""
    if previous_kwh is None:
        return RegisterStep.FIRST, 0.0
    if kwh >= previous_kwh:
        return RegisterStep.FORWARD, kwh - previous_kwh
    wrapped = register_max_kwh - previous_kwh + kwh
    if wrapped <= MAX_ROLLOVER_SHARE * register_max_kwh:
        return RegisterStep.ROLLOVER, wrapped
    if kwh <= reset_floor_kwh:
        return RegisterStep.RESET, kwh
    return RegisterStep.BACKWARDS, 0.0


def _register(states: States, obs: Observation, params: DetectorParams) -> list[AnomalyUpdate]:
    key = state_key(REGISTER_BACKWARDS, obs.entity_kind, obs.entity_id, obs.metric)
    state = states.setdefault(key, {})
    last_ts = cast(int | None, state.get("ts"))
    if last_ts is not None and obs.ts_ms <= last_ts:
        return []  # a redelivered or out-of-order reading says nothing about direction
    previous = cast(float | None, state.get("kwh"))
    step, _ = classify_register(
        previous,
        obs.value,
        register_max_kwh=params.register_max(obs.entity_id),
        reset_floor_kwh=params.reset_floor_kwh,
    )
    state["ts"] = obs.ts_ms
    if step is not RegisterStep.BACKWARDS:
        # A backwards glitch is not a base for the next step (the KPI's kWh agree:
        # 100 → 50 → 101 is 1 kWh); the incident resolves once readings pass 100 again.
        state["kwh"] = obs.value
    updates: list[AnomalyUpdate] = []
    if step is RegisterStep.RESET:
        # An event, not a condition: opened and resolved at once, on record as info.
        reset_state = states.setdefault(
            state_key(REGISTER_RESET, obs.entity_kind, obs.entity_id, obs.metric), {}
        )
        text = f"register reset on {obs.entity_kind} {obs.entity_id}: {previous} → {obs.value} kWh"
        updates.append(
            open_incident(
                reset_state,
                obs,
                REGISTER_RESET,
                started_ms=obs.ts_ms,
                severity=Severity.INFO,
                score=1.0,
                observed=obs.value,
                expected=previous,
                expected_low=previous,
                expected_high=None,
                description=text,
            )
        )
        closed = resolve_incident(
            reset_state, obs, REGISTER_RESET, ended_ms=obs.ts_ms, description=text
        )
        updates.extend([closed] if closed else [])
    elif step is RegisterStep.BACKWARDS and incident(state) is None:
        updates.append(
            open_incident(
                state,
                obs,
                REGISTER_BACKWARDS,
                started_ms=obs.ts_ms,
                severity=Severity.WARNING,
                score=1.0,
                observed=obs.value,
                expected=previous,
                expected_low=previous,
                expected_high=None,
                description=(
                    f"register of {obs.entity_kind} {obs.entity_id} ran backwards: "
                    f"{previous} → {obs.value} kWh"
                ),
            )
        )
    elif step in (RegisterStep.FORWARD, RegisterStep.ROLLOVER):
        closed = resolve_incident(
            state,
            obs,
            REGISTER_BACKWARDS,
            ended_ms=obs.ts_ms,
            description=f"register of {obs.entity_kind} {obs.entity_id} moves forward again",
        )
        updates.extend([closed] if closed else [])
    return updates


def _speed(states: States, obs: Observation, params: DetectorParams) -> list[AnomalyUpdate]:
    state = states.setdefault(
        state_key(IMPOSSIBLE_SPEED, obs.entity_kind, obs.entity_id, obs.metric), {}
    )
    if obs.value > params.max_speed_kmh:
        if incident(state) is not None:
            return []
        return [
            open_incident(
                state,
                obs,
                IMPOSSIBLE_SPEED,
                started_ms=obs.ts_ms,
                severity=Severity.WARNING,
                score=1.0,
                observed=obs.value,
                expected=params.max_speed_kmh,
                expected_low=0.0,
                expected_high=params.max_speed_kmh,
                description=(
                    f"{obs.entity_kind} {obs.entity_id} reports {obs.value:.0f} km/h, "
                    f"above the physical limit of {params.max_speed_kmh:.0f} km/h"
                ),
            )
        ]
    closed = resolve_incident(
        state,
        obs,
        IMPOSSIBLE_SPEED,
        ended_ms=obs.ts_ms,
        description=f"{obs.entity_kind} {obs.entity_id} reports plausible speeds again",
    )
    return [closed] if closed else []


def impossible_value(
    states: States, obs: Observation, params: DetectorParams
) -> tuple[States, list[AnomalyUpdate]]:
    """Per-event checks; ``obs`` carries one raw field of one event (see the metric names).

    ``energy_kwh_total`` (meter) goes through the register check, ``average_speed_kmh``
    (sensor) through the physics bound; other metrics pass unchecked.
    """
    if obs.metric == REGISTER_METRIC:
        return states, _register(states, obs, params)
    if obs.metric == SPEED_METRIC:
        return states, _speed(states, obs, params)
    return states, []
