"""The open → updated → resolved lifecycle every detector shares.

An open incident lives in the detector's state under ``"incident"`` as plain JSON, so
it survives a restart through the stream's changelog and a backtest can run it
offline. Updates are emitted only when something an operator would care about moved
(its severity, or a score at least ``UPDATE_SCORE_STEP`` above the peak already
reported — it got worse): a stream of "still open" records at every noisy point would
only churn the compacted anomalies topic.

Every update carries the evidence of the incident's latest open update: the observed
and expected values and the band the detector considered normal (``expected_low`` …
``expected_high``, None on a side without a bound); a resolution keeps them. An
incident stored before the band existed has none, and reads back without one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

from schemas.results import AnomalyState, Domain, Severity
from streams.detect.model import AnomalyUpdate, Observation, State, anomaly_id, ms_to_dt

UPDATE_SCORE_STEP = 0.1
_RANK = {Severity.INFO.value: 0, Severity.WARNING.value: 1, Severity.CRITICAL.value: 2}

Incident = dict[str, object]


def incident(state: State) -> Incident | None:
    """The open incident in ``state``, if any."""
    value = state.get("incident")
    return cast(Incident, value) if isinstance(value, dict) else None


def _number(value: object) -> float | None:
    """A stored evidence value as a float; None when absent.

    An infinite bound is no bound at all (nothing on that side is anomalous), and a
    contract carries only finite numbers: both read as None.
    """
    if value is None:
        return None
    number = float(cast(float, value))
    return number if math.isfinite(number) else None


def _update(
    obs: Observation,
    detector: str,
    inc: Incident,
    state: AnomalyState,
    ended_ms: int | None,
    description: str,
) -> AnomalyUpdate:
    return AnomalyUpdate(
        anomaly_id=str(inc["id"]),
        domain=Domain(obs.domain),
        entity_kind=obs.entity_kind,
        entity_id=obs.entity_id,
        group_id=obs.group_id,
        area_code=obs.area_code,
        metric=obs.metric,
        detector=detector,
        severity=Severity(str(inc["severity"])),
        observed=_number(inc.get("observed")),
        expected=_number(inc.get("expected")),
        expected_low=_number(inc.get("expected_low")),
        expected_high=_number(inc.get("expected_high")),
        score=round(min(1.0, max(0.0, float(cast(float, inc["score"])))), 6),
        state=state,
        started_at=ms_to_dt(int(cast(int, inc["started_ms"]))),
        updated_at=ms_to_dt(int(cast(int, inc["updated_ms"]))),
        ended_at=ms_to_dt(ended_ms) if ended_ms is not None else None,
        description=description,
    )


def open_incident(
    state: State,
    obs: Observation,
    detector: str,
    *,
    started_ms: int,
    severity: Severity,
    score: float,
    observed: float | None,
    expected: float | None,
    expected_low: float | None,
    expected_high: float | None,
    description: str,
) -> AnomalyUpdate:
    """Open an incident that started at ``started_ms`` and was detected at ``obs.ts_ms``.

    ``expected_low`` … ``expected_high`` is the band the detector considered normal at
    this point (None on a side where it has no bound).
    """
    inc: Incident = {
        "id": anomaly_id(detector, obs.entity_kind, obs.entity_id, obs.metric, started_ms),
        "started_ms": started_ms,
        "updated_ms": obs.ts_ms,
        "severity": severity.value,
        "score": score,
        "observed": observed,
        "expected": expected,
        "expected_low": expected_low,
        "expected_high": expected_high,
        "description": description,
    }
    state["incident"] = inc
    return _update(obs, detector, inc, AnomalyState.OPEN, None, description)


def touch_incident(
    state: State,
    obs: Observation,
    detector: str,
    *,
    severity: Severity,
    score: float,
    observed: float | None,
    expected: float | None,
    expected_low: float | None,
    expected_high: float | None,
    description: str,
) -> AnomalyUpdate | None:
    """Record a new point of an open incident; an update only if it matters.

    The evidence (observed, expected, band) is stored only with an update: what an
    incident reports is always the evidence of the update it last emitted.
    """
    inc = incident(state)
    if inc is None:
        return None
    if _RANK[severity.value] < _RANK[str(inc["severity"])]:
        # Severity only escalates while open: a value wobbling around the critical level
        # would otherwise resolve and re-open the alert's label set every few minutes.
        severity = Severity(str(inc["severity"]))
    changed = severity.value != inc["severity"] or (
        score - float(cast(float, inc["score"])) >= UPDATE_SCORE_STEP
    )
    if not changed:
        return None
    inc.update(
        updated_ms=obs.ts_ms,
        severity=severity.value,
        score=score,
        observed=observed,
        expected=expected,
        expected_low=expected_low,
        expected_high=expected_high,
        description=description,
    )
    return _update(obs, detector, inc, AnomalyState.OPEN, None, description)


def resolve_incident(
    state: State, obs: Observation, detector: str, *, ended_ms: int, description: str
) -> AnomalyUpdate | None:
    """Close the open incident (if any) as of ``ended_ms``."""
    inc = incident(state)
    if inc is None:
        return None
    state["incident"] = None
    inc["updated_ms"] = max(int(cast(int, inc["updated_ms"])), obs.ts_ms)
    ended = max(ended_ms, int(cast(int, inc["started_ms"])))
    return _update(obs, detector, inc, AnomalyState.RESOLVED, ended, description)


def cool_down(
    state: State,
    obs: Observation,
    detector: str,
    *,
    since_ms: int,
    points: int,
    what: Callable[[], str],
) -> list[AnomalyUpdate]:
    """One calm point of an open incident: resolved after ``points`` calm points in a row.

    The calm run is counted in ``state["cool"]`` from ``since_ms`` (its first point's
    time, which becomes the incident's end); ``what()`` describes the metric, for
    "…: back to normal". A point above the resolve score resets the run (the caller).
    """
    cool = int(cast(int, state.get("cool") or 0)) + 1
    state["cool"] = cool
    if state.get("cool_since") is None:
        state["cool_since"] = since_ms
    if cool < points:
        return []
    ended = int(cast(int, state["cool_since"]))
    state["cool"], state["cool_since"] = 0, None
    resolved = resolve_incident(
        state, obs, detector, ended_ms=ended, description=f"{what()}: back to normal"
    )
    return [resolved] if resolved else []


def heat_up(
    state: State, score: float, open_score: float, *, since_ms: int, points: int
) -> int | None:
    """One point with no open incident: the incident's start (ms), or None for now.

    It opens once ``points`` points in a row scored ≥ ``open_score``.
    The hot run is counted in ``state["hot"]`` from ``since_ms`` (where the last normal
    point ended); a lower score resets it. When it opens, both runs start afresh.
    """
    if score < open_score:
        state["hot"], state["hot_since"] = 0, None
        return None
    hot = int(cast(int, state.get("hot") or 0)) + 1
    state["hot"] = hot
    if state.get("hot_since") is None:
        state["hot_since"] = since_ms
    if hot < points:
        return None
    started = int(cast(int, state["hot_since"]))
    state["hot"], state["hot_since"], state["cool"], state["cool_since"] = 0, None, 0, None
    return started
