"""The topic registry matches the design: names, partitions, cleanup, retention."""

from __future__ import annotations

import pytest

from schemas.base import Contract, Event
from schemas.events import (
    EVENT_MODELS,
    DossierStatusChange,
    EnergyReading,
    QrScan,
    TrafficObservation,
)
from schemas.results import Anomaly, DataQualityRecord, DeadLetter, KpiRecord
from schemas.topics import (
    DAY_MS,
    EVENT_TOPICS,
    TopicSpec,
    registry,
    replay_topic,
)

pytestmark = pytest.mark.unit

SOURCES = {
    "ioc.qr.scans.v1": (QrScan, "checkpoint_id"),
    "ioc.traffic.obs.v1": (TrafficObservation, "segment_id"),
    "ioc.energy.readings.v1": (EnergyReading, "feeder_id"),
    "ioc.dossier.status.v1": (DossierStatusChange, "agency_code"),
}

# name: (value, dev partitions, prod partitions, cleanup, retention days or None)
RESULTS: dict[str, tuple[type[Contract], int, int, str, int | None]] = {
    "ioc.kpi.v1": (KpiRecord, 3, 12, "delete", 7),
    "ioc.anomalies.v1": (Anomaly, 3, 12, "compact", None),
    "ioc.deadletter.v1": (DeadLetter, 1, 3, "delete", 30),
    "ioc.dq.v1": (DataQualityRecord, 3, 12, "delete", 7),
}


def _by_name(horizon: int = 30) -> dict[str, TopicSpec]:
    specs = registry(horizon)
    by_name = {spec.name: spec for spec in specs}
    assert len(by_name) == len(specs), "topic names must be unique"
    return by_name


def test_registry_has_exactly_the_designed_topics() -> None:
    assert set(_by_name()) == set(SOURCES) | set(RESULTS)
    assert DAY_MS == 24 * 60 * 60 * 1000


@pytest.mark.parametrize("horizon", [1, 7, 30, 400])
@pytest.mark.parametrize("name", sorted(SOURCES))
def test_source_topics(name: str, horizon: int) -> None:
    spec = _by_name(horizon)[name]
    model, key = SOURCES[name]
    assert spec.value is model
    assert spec.key == key == model.KEY_FIELD
    assert (spec.partitions("dev"), spec.partitions("prod")) == (3, 12)
    assert spec.cleanup_policy == "delete"
    assert spec.retention_ms == horizon * 86_400_000
    assert spec.config() == {"cleanup.policy": "delete", "retention.ms": str(horizon * 86_400_000)}


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_result_topics(name: str) -> None:
    model, dev, prod, cleanup, days = RESULTS[name]
    for horizon in (1, 30, 400):  # the replay horizon only moves source topics
        spec = _by_name(horizon)[name]
        assert spec.value is model
        assert (spec.partitions("dev"), spec.partitions("prod")) == (dev, prod)
        assert spec.cleanup_policy == cleanup
        expected_ms = -1 if days is None else days * 86_400_000
        assert spec.retention_ms == (None if days is None else expected_ms)
        assert spec.config() == {"cleanup.policy": cleanup, "retention.ms": str(expected_ms)}


def test_default_replay_horizon_is_thirty_days() -> None:
    assert _by_name()["ioc.qr.scans.v1"].retention_ms == 30 * DAY_MS


def test_every_value_is_a_contract() -> None:
    for spec in registry():
        assert isinstance(spec.value, type)
        assert issubclass(spec.value, Contract), spec.name
        assert spec.name.startswith("ioc.")
        assert spec.name.endswith(".v1")
        assert spec.partitions_prod >= spec.partitions_dev >= 1


def test_event_topics_match_the_registry() -> None:
    sources = {s.name: s.value for s in registry() if issubclass(s.value, Event)}
    assert sources == EVENT_TOPICS
    assert set(EVENT_TOPICS.values()) == set(EVENT_MODELS)


@pytest.mark.parametrize("spec", registry(), ids=lambda s: s.name)
def test_replay_topic_keeps_key_and_partitions_and_never_expires(spec: TopicSpec) -> None:
    replay = replay_topic(spec, "2025-03-01")
    assert replay.name == f"{spec.name}.replay.2025-03-01"
    assert (replay.key, replay.value) == (spec.key, spec.value)
    assert (replay.partitions_dev, replay.partitions_prod) == (
        spec.partitions_dev,
        spec.partitions_prod,
    )
    assert replay.retention_ms is None
    assert replay.config()["retention.ms"] == "-1"
    assert replay.cleanup_policy == "delete"


def test_topic_spec_is_immutable() -> None:
    spec = registry()[0]
    with pytest.raises(AttributeError):
        spec.partitions_prod = 1  # type: ignore[misc]
