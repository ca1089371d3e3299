"""The worker's pure partition engines, driven offline over records read from Kafka.

This is the same code the faust worker runs per partition (``streams.engine``), built
from the same :class:`streams.runtime.app.WorkerConfig`, without faust: a rebuild reads fixed
offset ranges, so no group, no changelog and no commits are needed, and the result
is a function of the records alone — deterministic, like a replayed worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from schemas.results import Domain
from schemas.timeutil import utcnow
from streams.detect import DetectorSuite
from streams.domains import DOMAINS, EngineFactory
from streams.engine import Outputs, PartitionEngine, SourceRecord
from streams.runtime.app import WorkerConfig, engine_config
from streams.state import Record


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


def build(
    config: WorkerConfig,
    domain: Domain,
    partitions: Iterable[int],
    seeds: Mapping[int, Sequence[tuple[str, Record]]] | None = None,
) -> tuple[DomainEngines, Outputs]:
    """Engines for a domain's partitions (optionally seeded with state), started."""
    source = config.sources[domain]
    kpi = engine_config(config, DetectorSuite(config.detector_params), utcnow)
    factory = EngineFactory(DOMAINS[domain], kpi, config.topology, source.partitions)
    started = Outputs()
    engines: dict[int, PartitionEngine] = {}
    for partition in partitions:
        engine = factory.engine(partition, (seeds or {}).get(partition, []))
        started.extend(engine.start())
        engines[partition] = engine
    return DomainEngines(domain, source.name, engines), started
