"""What detectors consume and produce: observations in, anomaly updates out.

Pure data, no I/O. An :class:`AnomalyUpdate` is an :class:`~schemas.results.Anomaly`
without ``generation`` and ``sequence``: the stream owns those (a rebuild runs under a
new generation; the sequence orders the updates of one anomaly).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from schemas.results import Anomaly, AnomalyState, Domain, Severity
from schemas.timeutil import from_ms

# Namespace of every anomaly id. Never change it: a replay or a rebuild must give an
# anomaly the id it had, or the compacted anomalies topic and Alertmanager see two incidents.
ANOMALY_ID_NAMESPACE = uuid.UUID("0c9f6a52-3d1e-4b8e-9a57-6f4d2e8b7c10")

State = dict[str, object]
"""One detector's state for one (entity, metric): JSON-serializable, keys are strings."""

States = dict[str, State]
"""Detector states keyed by :func:`state_key`."""


@dataclass(frozen=True, slots=True)
class Observation:
    """One point of one metric of one entity, at event time ``ts_ms``.

    For KPI-derived points ``ts_ms`` is the window end: the value describes the
    window that just closed, so an anomaly can never start before its evidence.
    """

    domain: str
    entity_kind: str
    entity_id: str
    group_id: str
    area_code: str | None
    metric: str
    ts_ms: int
    value: float


def state_key(detector: str, entity_kind: str, entity_id: str, metric: str) -> str:
    """Key of one detector's state for one (entity, metric)."""
    return f"{detector}|{entity_kind}|{entity_id}|{metric}"


def table_key(obs: Observation) -> str:
    """Key under which a stream can keep all detector states of one (entity, metric).

    Everything :meth:`DetectorSuite.observe` reads for ``obs`` lives under keys that
    share this (entity, metric), so one table value per ``table_key`` is enough.
    """
    return f"{obs.entity_kind}|{obs.entity_id}|{obs.metric}"


def anomaly_id(
    detector: str, entity_kind: str, entity_id: str, metric: str, started_ms: int
) -> str:
    """UUIDv5 of (detector, entity, metric, opening time): a replay yields the same id."""
    name = f"{detector}|{entity_kind}|{entity_id}|{metric}|{started_ms}"
    return str(uuid.uuid5(ANOMALY_ID_NAMESPACE, name))


@dataclass(frozen=True, slots=True)
class AnomalyUpdate:
    """One lifecycle step of an anomaly: opened, updated (severity or score moved), resolved.

    Its evidence is as of the latest update: the ``observed`` value, the ``expected``
    one, and the band the detector considered normal there, ``expected_low`` …
    ``expected_high`` — outside it the detector calls a point anomalous. Either bound is
    None when the detector has no bound on that side (a rule "above T" has only an upper
    one). What each detector puts there: docs/detectors.md, "Evidence on every anomaly".
    """

    anomaly_id: str
    domain: Domain
    entity_kind: str
    entity_id: str
    group_id: str
    area_code: str | None
    metric: str
    detector: str
    severity: Severity
    observed: float | None
    expected: float | None
    expected_low: float | None
    expected_high: float | None
    score: float
    state: AnomalyState
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    description: str

    @property
    def is_open(self) -> bool:
        """True for an opening or an update of an open anomaly."""
        return self.state is AnomalyState.OPEN

    def to_anomaly(self, generation: int, sequence: int) -> Anomaly:
        """The result contract, with the stream's generation and sequence."""
        return Anomaly(
            anomaly_id=self.anomaly_id,
            domain=self.domain,
            entity_kind=self.entity_kind,
            entity_id=self.entity_id,
            group_id=self.group_id,
            area_code=self.area_code,
            metric=self.metric,
            detector=self.detector,
            severity=self.severity,
            observed=self.observed,
            expected=self.expected,
            expected_low=self.expected_low,
            expected_high=self.expected_high,
            score=self.score,
            state=self.state,
            started_at=self.started_at,
            updated_at=self.updated_at,
            ended_at=self.ended_at,
            generation=generation,
            sequence=sequence,
            description=self.description,
        )


def ms_to_dt(ms: int) -> datetime:
    """Aware UTC datetime of epoch milliseconds (anomaly timestamps are UTC)."""
    return from_ms(ms)
