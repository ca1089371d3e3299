"""One series through one detector, offline: the heart of ``ioc backtest``.

The very code the stream runs (:class:`DetectorSuite`), fed point by point in time
order; only the bookkeeping of which row opened an anomaly is added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from streams.detect.model import Observation, States
from streams.detect.params import CONTEXTUAL, SEASONAL, DetectorParams, ParamsError
from streams.detect.suite import DetectorSuite

SERIES_METRIC = "value"
"""The metric name of a bare CSV series: no rule watches it, so it gets the default."""


@dataclass(frozen=True, slots=True)
class ScoredPoint:
    score: float
    is_anomaly: bool


def detector_names(params: DetectorParams) -> list[str]:
    """Names ``--detector`` accepts: ``seasonal``, ``contextual`` and every rule of ``params``."""
    return [SEASONAL, CONTEXTUAL, *(rule.name for rule in params.rules)]


def run_series(
    points: Sequence[tuple[int, float | None]],
    params: DetectorParams,
    *,
    detector: str | None = None,
    metric: str = SERIES_METRIC,
) -> list[ScoredPoint]:
    """Score every (ts_ms, value) point; the result is in input order.

    Points are applied in time order (stable for equal times, whose repeats score 0
    as the stream would ignore a re-emitted window). ``None`` values are gaps. With no
    ``detector`` the suite routes by ``metric`` — for an unknown metric, the default
    detector (``default_detector``: contextual), which is what an operator gets.
    """
    entity_kind = "series"
    if detector is not None and detector not in (SEASONAL, CONTEXTUAL):
        rule = next((r for r in params.rules if r.name == detector), None)
        if rule is None:
            known = ", ".join(detector_names(params))
            raise ParamsError(f"unknown detector {detector!r}; known: {known}")
        metric = rule.metric
        entity_kind = rule.entity_kinds[0] if rule.entity_kinds else entity_kind
    suite = DetectorSuite(params)
    states: States = {}
    seen: set[str] = set()
    results = [ScoredPoint(0.0, False)] * len(points)
    order = sorted(range(len(points)), key=lambda i: points[i][0])
    for i in order:
        ts_ms, value = points[i]
        if value is None:
            continue
        obs = Observation(
            domain="traffic",  # a bare series has no domain; the contract needs one
            entity_kind=entity_kind,
            entity_id="series",
            group_id="series",
            area_code=None,
            metric=metric,
            ts_ms=ts_ms,
            value=value,
        )
        updates, score = suite.observe_scored(states, obs, only=detector)
        # An update with an id not seen before is an opening; later ones are updates.
        opened = [u.anomaly_id for u in updates if u.is_open and u.anomaly_id not in seen]
        seen.update(opened)
        results[i] = ScoredPoint(round(score, 6), bool(opened))
    return results
