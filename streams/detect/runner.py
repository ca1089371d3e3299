"""Events in, anomaly updates out, offline: the stream's detection path without Kafka.

Per event the impossible-value checks; per closed window (:mod:`offline`) the
suite; per minute of watermark the silence check over the expected entities. Used
by ``ioc backtest --events`` and ``ioc quality``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from schemas.base import Event
from schemas.events import DossierStatusChange, EnergyReading, QrScan, TrafficObservation
from schemas.province.profile import Profile
from schemas.timeutil import to_ms
from streams.detect.impossible import REGISTER_METRIC, SPEED_METRIC
from streams.detect.model import AnomalyUpdate, Observation, States
from streams.detect.observations import observations_of
from streams.detect.offline import MINUTE_MS, OfflineKpis, OfflineTopology, Window
from streams.detect.params import DetectorParams
from streams.detect.suite import DetectorSuite

PointHook = Callable[[Observation, float, list[AnomalyUpdate]], None]
"""Called with every detection point, its score and its updates (for backtests)."""

_MODELS: tuple[tuple[str, type[Any]], ...] = (
    ("observed_at", TrafficObservation),
    ("measured_at", EnergyReading),
    ("scanned_at", QrScan),
    ("changed_at", DossierStatusChange),
)


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """The event contract a JSON object is (told apart by its event-time field).

    Validated like a stream consumer does (unknown fields ignored); a ``value``
    wrapper (``{"topic":…, "key":…, "value": {…}}``) is unwrapped.
    """
    inner = data.get("value")
    if isinstance(inner, Mapping):
        data = inner
    for field, model in _MODELS:
        if field in data:
            event: Event = model.model_validate(data)
            return event
    raise ValueError("not an event of a known stream (no observed_at/measured_at/…)")


def expected_entities(profile: Profile) -> list[tuple[str, str, str, int]]:
    """(kind, id, group, period) of every entity with a reporting period: sensors, meters."""
    sensors = [("sensor", s.sensor_id, s.segment_id, s.period_s) for s in profile.sensors]
    meters = [("meter", m.meter_id, m.feeder_id, m.period_s) for m in profile.meters]
    return sensors + meters


class OfflineDetection:
    """One offline run: feed events in event-time order, collect every update."""

    def __init__(
        self,
        params: DetectorParams,
        topology: OfflineTopology,
        *,
        expected: Iterable[tuple[str, str, str, int]] = (),
        lateness_ms: int = 120_000,
        on_point: PointHook | None = None,
        only: str | None = None,
    ) -> None:
        self.suite = DetectorSuite(params)
        self.kpis = OfflineKpis(topology, lateness_ms=lateness_ms)
        self.expected = list(expected)
        self.states: States = {}
        self.updates: list[AnomalyUpdate] = []
        self.invalid = 0
        self._area = topology.area
        self._on_point = on_point
        self._only = only
        self._silence_at = 0

    def feed_dict(self, data: Mapping[str, Any]) -> None:
        """Validate and feed one JSON event; invalid ones are counted, as dead letters."""
        try:
            event = event_from_dict(data)
        except (ValidationError, ValueError):
            self.invalid += 1
            return
        self.feed(event)

    def feed(self, event: Event) -> None:
        """Apply one event: per-event checks, closed windows, silence."""
        ts = to_ms(event.event_time)
        if isinstance(event, EnergyReading):
            self._impossible(
                ("meter", event.meter_id, event.feeder_id),
                REGISTER_METRIC,
                ts,
                event.energy_kwh_total,
            )
        elif isinstance(event, TrafficObservation) and event.average_speed_kmh is not None:
            self._impossible(
                ("sensor", event.sensor_id, event.segment_id),
                SPEED_METRIC,
                ts,
                event.average_speed_kmh,
            )
        self._windows(self.kpis.add(event))
        self._silence()

    def finish(self) -> list[AnomalyUpdate]:
        """Close every window still open; returns all updates of the run."""
        self._windows(self.kpis.close_all())
        return self.updates

    def _impossible(self, who: tuple[str, str, str], metric: str, ts_ms: int, value: float) -> None:
        kind, entity, group = who
        obs = Observation(
            domain="energy" if kind == "meter" else "traffic",
            entity_kind=kind,
            entity_id=entity,
            group_id=group,
            area_code=self._area.get(entity),
            metric=metric,
            ts_ms=ts_ms,
            value=value,
        )
        _, found = self.suite.impossible_value(self.states, obs)
        self.updates.extend(found)

    def _windows(self, closed: Iterable[Window]) -> None:
        for w in closed:
            window = (w.domain, w.kind, w.entity, w.group, w.size, w.end_ms)
            for obs in observations_of(window, w.parts, self._area.get(w.entity)):
                found, score = self.suite.observe_scored(self.states, obs, only=self._only)
                self.updates.extend(found)
                if self._on_point is not None:
                    self._on_point(obs, score, found)

    def _silence(self) -> None:
        watermark = self.kpis.watermark_ms
        if not self.expected or watermark < self._silence_at:
            return
        # Once per minute of event time, as the worker's periodic check would.
        self._silence_at = watermark - watermark % MINUTE_MS + MINUTE_MS
        _, found = self.suite.check_silence(
            self.expected, self.kpis.last_seen_ms, watermark, False, self.states
        )
        self.updates.extend(found)
