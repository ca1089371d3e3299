"""The worker's pure partition engines, driven offline over records read from Kafka.

This is the same code the faust worker runs per partition (``streams.engine``), built
from the same :class:`streams.runtime.app.WorkerConfig`, without faust: a rebuild reads fixed
offset ranges, so no group, no changelog and no commits are needed, and the result
is a function of the records alone — deterministic, like a replayed worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.results import Domain
from schemas.timeutil import utcnow
from streams.detect import DetectorSuite
from streams.engine import EngineConfig, Outputs, PartitionEngine, SourceRecord
from streams.kpi.base import DomainLogic, KpiContext
from streams.kpi.dossier import DossierLogic
from streams.kpi.energy import EnergyLogic
from streams.kpi.qr import QrLogic
from streams.kpi.traffic import TrafficLogic
from streams.runtime.app import WorkerConfig, partitioner
from streams.state import Record

LOGIC: dict[Domain, type[DomainLogic[Any]]] = {
    Domain.TRAFFIC: TrafficLogic,
    Domain.ENERGY: EnergyLogic,
    Domain.QR: QrLogic,
    Domain.DOSSIER: DossierLogic,
}
_MEMBER_KINDS = {Domain.TRAFFIC: ("sensor", "segment"), Domain.ENERGY: ("meter", "feeder")}


@dataclass
class DomainEngines:
    """One engine per partition of a domain's source topic."""

    domain: Domain
    topic: str
    engines: dict[int, PartitionEngine]

    def process(self, record: SourceRecord) -> Outputs:
        """Apply one record to its partition's engine; results come back at once."""
        engine = self.engines[record.partition]
        out = engine.process(record)
        return out

    def settle(self) -> None:
        """Let each engine apply the deletions its watermark allows (bounded memory)."""
        for engine in self.engines.values():
            engine.drain()


def engine_config(config: WorkerConfig, suite: DetectorSuite) -> EngineConfig:
    """What ``streams.runtime.app.Worker.runtime`` builds for a live partition, minus faust."""
    return EngineConfig(
        kpi=KpiContext(
            topology=config.topology,
            lateness_ms=config.lateness_ms,
            generation=config.generation,
            now=utcnow,
            dossier_retention_ms=config.dossier_retention_ms,
        ),
        producer=config.app_id,
        max_skew_ms=config.max_skew_ms,
        replay_horizon_ms=config.replay_horizon_ms,
        suite=suite,
    )


def build(
    config: WorkerConfig,
    domain: Domain,
    partitions: Iterable[int],
    seeds: Mapping[int, Sequence[tuple[str, Record]]] | None = None,
) -> tuple[DomainEngines, Outputs]:
    """Engines for a domain's partitions (optionally seeded with state), started."""
    source = config.sources[domain]
    suite = DetectorSuite(config.detector_params)
    ec = engine_config(config, suite)
    partition_of = partitioner(source.partitions)
    kinds = _MEMBER_KINDS.get(domain)
    started = Outputs()
    engines: dict[int, PartitionEngine] = {}
    for partition in partitions:
        expected: list[tuple[str, str, str, int]] = []
        if kinds is not None:
            # As the worker does: the profile's entities whose group hashes here.
            groups = frozenset(
                g for g in config.topology.groups_of(kinds[1]) if partition_of(g) == partition
            )
            expected = config.topology.expected_in(kinds[0], groups)
        engine = PartitionEngine(
            LOGIC[domain],
            ec,
            partition,
            (seeds or {}).get(partition, []),
            partition_of=partition_of,
            expected=expected,
        )
        started.extend(engine.start())
        engines[partition] = engine
    return DomainEngines(domain, source.name, engines), started
