"""The detector suite: routes each observation to the detectors of its metric.

State in, state out: the stream keeps ``states`` in a changelogged table (one value
per :func:`~streams.detect.model.table_key` is enough), ``ioc backtest`` keeps it in
a dict. Given the same observations in the same order, the suite returns the same
updates with the same ids — whether it runs live, in a replay or offline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from streams.detect import impossible, silence
from streams.detect.contextual import observe_contextual
from streams.detect.contextual_params import ContextualParams
from streams.detect.model import AnomalyUpdate, Observation, State, States, state_key
from streams.detect.params import (
    CONTEXTUAL,
    SEASONAL,
    DetectorParams,
    SeasonalParams,
    ThresholdRule,
)
from streams.detect.seasonal import observe_seasonal
from streams.detect.threshold import observe_threshold


@dataclass(frozen=True, slots=True)
class Route:
    """The detectors of one (metric, entity kind): decided once, not once a point."""

    rules: tuple[ThresholdRule, ...]
    seasonal: SeasonalParams | None
    """None when no seasonal detector watches the metric."""
    contextual: ContextualParams | None = None
    """None when no contextual detector watches the metric."""


class DetectorSuite:
    """Every detector, configured once from :class:`DetectorParams`.

    The detectors: docs/architecture.md, "Anomalies and detectors".

    The suite mutates and returns the state dicts it is given; callers hand over
    ownership (a faust table value is written back, a backtest keeps one dict).
    """

    def __init__(self, params: DetectorParams | None = None) -> None:
        self.params = params or DetectorParams()
        self._holidays = frozenset(self.params.holidays)
        self._zone = ZoneInfo(self.params.timezone)
        self._routes: dict[tuple[str, str], Route] = {}

    def is_holiday(self, ts_ms: int) -> bool:
        """True when the point at ``ts_ms`` describes a holiday (local calendar date).

        Points are stamped with their window's end, so the point at 00:00 belongs to
        the day before: one millisecond earlier decides.
        """
        if not self._holidays:
            return False
        local = datetime.fromtimestamp((ts_ms - 1) / 1000, self._zone)
        return local.date().isoformat() in self._holidays

    def route(self, metric: str, entity_kind: str) -> Route:
        """The detectors that watch ``metric`` of this kind of entity (memoised)."""
        found = self._routes.get((metric, entity_kind))
        if found is None:
            seasonal = (
                self.params.seasonal_for(metric) if self.params.runs_seasonal(metric) else None
            )
            contextual = self.params.contextual if self.params.runs_contextual(metric) else None
            found = Route(self.params.rules_for(metric, entity_kind), seasonal, contextual)
            self._routes[(metric, entity_kind)] = found
        return found

    def detectors_for(self, metric: str, entity_kind: str) -> list[str]:
        """Names of the detectors that watch ``metric`` of this kind of entity."""
        route = self.route(metric, entity_kind)
        names = [rule.name for rule in route.rules]
        if route.seasonal is not None:
            names.append(SEASONAL)
        if route.contextual is not None:
            names.append(CONTEXTUAL)
        return names

    def observe(self, states: States, obs: Observation) -> tuple[States, list[AnomalyUpdate]]:
        """Apply one observation to every detector of its metric."""
        updates, _ = self.observe_scored(states, obs)
        return states, updates

    def observe_scored(
        self, states: States, obs: Observation, only: str | None = None
    ) -> tuple[list[AnomalyUpdate], float]:
        """Like :meth:`observe`, also returning the point's highest score (for backtests).

        ``only`` restricts the run to one detector (a rule name, ``seasonal`` or
        ``contextual``).
        """
        holiday = self.is_holiday(obs.ts_ms)
        updates: list[AnomalyUpdate] = []
        score = 0.0
        route = self.route(obs.metric, obs.entity_kind)
        for rule in route.rules:
            if only is not None and only != rule.name:
                continue
            state = self._state(states, rule.name, obs)
            scale = (
                self.params.nominal_voltage(obs.entity_id)
                if rule.scale == "nominal_voltage"
                else 1.0
            )
            found, s = observe_threshold(state, obs, rule, holiday=holiday, scale=scale)
            updates.extend(found)
            score = max(score, s)
        if (only is None and route.seasonal is not None) or only == SEASONAL:
            state = self._state(states, SEASONAL, obs)
            found, s = observe_seasonal(
                state,
                obs,
                route.seasonal or self.params.seasonal_for(obs.metric),
                timezone=self.params.timezone,
                holiday=holiday,
            )
            updates.extend(found)
            score = max(score, s)
        if (only is None and route.contextual is not None) or only == CONTEXTUAL:
            state = self._state(states, CONTEXTUAL, obs)
            found, s = observe_contextual(state, obs, route.contextual or self.params.contextual)
            updates.extend(found)
            score = max(score, s)
        return updates, score

    def check_silence(
        self,
        expected: Iterable[tuple[str, str, str, int]],
        last_seen_ms: Mapping[str, int],
        watermark_ms: int,
        lag_high: bool,
        states: States,
    ) -> tuple[States, list[AnomalyUpdate]]:
        """:func:`~streams.detect.silence.check_silence` with the suite's ``silence_periods``."""
        return silence.check_silence(
            expected,
            last_seen_ms,
            watermark_ms,
            lag_high,
            states,
            periods=self.params.silence_periods,
        )

    def impossible_value(
        self, states: States, obs: Observation
    ) -> tuple[States, list[AnomalyUpdate]]:
        """:func:`~streams.detect.impossible.impossible_value` with the suite's limits."""
        return impossible.impossible_value(states, obs, self.params)

    @staticmethod
    def _state(states: States, detector: str, obs: Observation) -> State:
        key = state_key(detector, obs.entity_kind, obs.entity_id, obs.metric)
        state = states.get(key)
        if state is None:
            state = states[key] = {}
        return state
