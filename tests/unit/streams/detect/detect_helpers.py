"""Builders for detector tests: observations on a minute grid, in local time."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from schemas.timeutil import LOCAL_TZ, to_ms
from streams.detect import AnomalyUpdate, DetectorParams, DetectorSuite, Observation, States

# Monday 2026-11-02 00:00 in Asia/Ho_Chi_Minh.
MONDAY = to_ms(datetime(2026, 11, 2, tzinfo=LOCAL_TZ))
MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

SEASONAL_DEFAULT = DetectorParams(default_detector="seasonal")
"""The seasonal detector for metrics without a rule (the default is the contextual one)."""

KIND_DOMAIN = {
    "meter": "energy",
    "feeder": "energy",
    "segment": "traffic",
    "sensor": "traffic",
    "checkpoint": "qr",
    "agency": "dossier",
}


def obs(
    metric: str,
    ts_ms: int,
    value: float,
    *,
    kind: str = "meter",
    entity: str = "EM-1",
    group: str = "FD-1",
) -> Observation:
    return Observation(
        domain=KIND_DOMAIN.get(kind, "qr"),
        entity_kind=kind,
        entity_id=entity,
        group_id=group,
        area_code="689",
        metric=metric,
        ts_ms=ts_ms,
        value=value,
    )


def run(
    suite: DetectorSuite, points: Iterable[Observation], states: States | None = None
) -> tuple[States, list[tuple[Observation, AnomalyUpdate]]]:
    """Feed points in order; (final states, every update with the point that caused it)."""
    states = {} if states is None else states
    seen: list[tuple[Observation, AnomalyUpdate]] = []
    for point in points:
        states, updates = suite.observe(states, point)
        seen.extend((point, u) for u in updates)
    return states, seen


def json_round_trip(states: States) -> States:
    """What a changelogged table gives back after a restart."""
    copied: States = json.loads(json.dumps(states))
    return copied
