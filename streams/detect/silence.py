"""Silence: an expected entity that sent nothing for ``periods`` × its expected period.

Checked against the worker's event-time watermark, never the wall clock, so a replay
sees the silences the live run saw. While consumer lag is high no new silence opens:
during a backlog or a replay the watermark lags and every entity would look silent
at once — a storm that says nothing about the sources. Resolution still happens, since
data that arrived is proof enough.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import cast

from schemas.results import Severity
from streams.detect.lifecycle import incident, open_incident, resolve_incident
from streams.detect.model import AnomalyUpdate, Observation, States, state_key

SILENCE = "silence"
SILENCE_METRIC = "last_seen"

ENTITY_DOMAIN = {
    "sensor": "traffic",
    "segment": "traffic",
    "meter": "energy",
    "feeder": "energy",
    "checkpoint": "qr",
    "device": "qr",
    "agency": "dossier",
}


def check_silence(
    expected: Iterable[tuple[str, str, str, int]],
    last_seen_ms: Mapping[str, int],
    watermark_ms: int,
    lag_high: bool,
    states: States,
    *,
    periods: float = 3.0,
) -> tuple[States, list[AnomalyUpdate]]:
    """Open, keep or resolve a silence anomaly for every expected entity.

    ``expected`` holds (entity_kind, entity_id, group_id, expected_period_s);
    ``last_seen_ms`` is keyed ``f"{entity_kind}|{entity_id}"`` with event times. An
    entity never seen is timed from the first check that expected it, so a sensor
    that never reported alerts too.

    The evidence: observed is the silence (seconds since the entity was last seen),
    expected its reporting period, and the band a silence of up to ``periods`` × that
    period (what opens is longer); a gap has no lower bound.
    """
    updates: list[AnomalyUpdate] = []
    for kind, entity_id, group_id, period_s in expected:
        key = state_key(SILENCE, kind, entity_id, SILENCE_METRIC)
        state = states.setdefault(key, {})
        seen = last_seen_ms.get(f"{kind}|{entity_id}")
        reference = (
            seen
            if seen is not None
            else int(cast(int, state.setdefault("first_checked", watermark_ms)))
        )
        silent_ms = max(0, watermark_ms - reference)
        limit_ms = int(periods * period_s * 1000)
        obs = Observation(
            domain=ENTITY_DOMAIN.get(kind, "traffic"),
            entity_kind=kind,
            entity_id=entity_id,
            group_id=group_id,
            area_code=None,
            metric=SILENCE_METRIC,
            ts_ms=watermark_ms,
            value=silent_ms / 1000,
        )
        inc = incident(state)
        if inc is not None:
            if seen is not None and seen > int(cast(int, inc["started_ms"])):
                resolved = resolve_incident(
                    state,
                    obs,
                    SILENCE,
                    ended_ms=seen,
                    description=f"{kind} {entity_id} is reporting again",
                )
                if resolved:
                    updates.append(resolved)
            continue
        if silent_ms > limit_ms and not lag_high:
            updates.append(
                open_incident(
                    state,
                    obs,
                    SILENCE,
                    started_ms=reference,
                    severity=Severity.WARNING,
                    score=1.0,
                    observed=silent_ms / 1000,
                    expected=float(period_s),
                    expected_low=None,  # no silence is too short
                    expected_high=limit_ms / 1000,
                    description=(
                        f"{kind} {entity_id} silent for {silent_ms / 60_000:.1f} min "
                        f"(expected every {period_s} s)"
                    ),
                )
            )
    return states, updates
