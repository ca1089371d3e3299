"""The topic registry: names, keys, partitions, retention, cleanup (docs/architecture.md, "Topics").

Names are stable constants: consumer groups, changelogs and replays depend on them.
Source-topic partition counts are fixed for a deployment — keys move if they change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from schemas.base import Contract
from schemas.events import DossierStatusChange, EnergyReading, QrScan, TrafficObservation
from schemas.results import Anomaly, DataQualityRecord, DeadLetter, KpiRecord

DAY_MS = 86_400_000

QR_SCANS = "ioc.qr.scans.v1"
TRAFFIC_OBS = "ioc.traffic.obs.v1"
ENERGY_READINGS = "ioc.energy.readings.v1"
DOSSIER_STATUS = "ioc.dossier.status.v1"
KPI = "ioc.kpi.v1"
ANOMALIES = "ioc.anomalies.v1"
DEADLETTER = "ioc.deadletter.v1"
DQ = "ioc.dq.v1"

CONTROL_HEADER = "ioc-control"
# Header of control records (``tick``) that advance idle partitions' watermarks;
# every other consumer skips records that carry it.


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic: its name, key, contract, partitions per profile, cleanup and retention."""

    name: str
    key: str
    value: type[Contract]
    partitions_dev: int
    partitions_prod: int
    cleanup_policy: Literal["delete", "compact"]
    retention_ms: int | None
    """None = unlimited (-1 on the broker)."""

    def partitions(self, profile: Literal["dev", "prod"]) -> int:
        """Partition count for a deployment profile."""
        return self.partitions_prod if profile == "prod" else self.partitions_dev

    def config(self) -> dict[str, str]:
        """Broker-side topic configuration."""
        return {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms if self.retention_ms is not None else -1),
        }


def source_topic(name: str, value: type[Contract], key: str, replay_horizon_days: int) -> TopicSpec:
    """A source event stream: keyed by its group, kept at least as long as the replay horizon."""
    return TopicSpec(name, key, value, 3, 12, "delete", replay_horizon_days * DAY_MS)


def registry(replay_horizon_days: int = 30) -> tuple[TopicSpec, ...]:
    """Every topic the pipeline owns (faust changelogs are created by faust itself)."""
    return (
        source_topic(QR_SCANS, QrScan, "checkpoint_id", replay_horizon_days),
        source_topic(TRAFFIC_OBS, TrafficObservation, "segment_id", replay_horizon_days),
        source_topic(ENERGY_READINGS, EnergyReading, "feeder_id", replay_horizon_days),
        source_topic(DOSSIER_STATUS, DossierStatusChange, "agency_code", replay_horizon_days),
        TopicSpec(KPI, "entity + window", KpiRecord, 3, 12, "delete", 7 * DAY_MS),
        TopicSpec(ANOMALIES, "anomaly_id", Anomaly, 3, 12, "compact", None),
        TopicSpec(DEADLETTER, "source topic", DeadLetter, 1, 3, "delete", 30 * DAY_MS),
        TopicSpec(
            DQ,
            "stream + partition + source + window",
            DataQualityRecord,
            3,
            12,
            "delete",
            7 * DAY_MS,
        ),
    )


def replay_topic(source: TopicSpec, suffix: str) -> TopicSpec:
    """A replay copy: same key and partitions, unlimited retention (it keeps old timestamps)."""
    return TopicSpec(
        f"{source.name}.replay.{suffix}",
        source.key,
        source.value,
        source.partitions_dev,
        source.partitions_prod,
        "delete",
        None,
    )


EVENT_TOPICS: dict[str, type[Contract]] = {
    QR_SCANS: QrScan,
    TRAFFIC_OBS: TrafficObservation,
    ENERGY_READINGS: EnergyReading,
    DOSSIER_STATUS: DossierStatusChange,
}
