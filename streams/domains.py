"""The four domains as the workers process them: contract, KPI logic, expected entities.

Each domain is declared here once; the worker's agents, ``ioc replay``, the benchmark
and the tests build their partition engines through :class:`EngineFactory`, so a
domain added here runs everywhere (its contract lives in :mod:`schemas.domains`, its
maths in ``streams.kpi.<name>``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from schemas.domains import CONTRACTS, DomainContract
from schemas.results import Domain
from streams.engine import EngineConfig, PartitionEngine
from streams.kpi.base import DomainLogic
from streams.kpi.dossier import DossierLogic
from streams.kpi.energy import EnergyLogic
from streams.kpi.qr import QrLogic
from streams.kpi.traffic import TrafficLogic
from streams.murmur import partitioner
from streams.state import Record
from streams.topology import Topology

Expected = list[tuple[str, str, str, int]]
"""(kind, entity, group, partition) of the profile's entities a partition must hear from."""


@dataclass(frozen=True)
class DomainSpec:
    """How the workers process one domain."""

    contract: DomainContract
    logic: type[DomainLogic[Any]]
    members: tuple[str, str] | None = None
    """(member kind, group kind) listed by the province profile: a member never heard
    from is still expected (the silence detector), in the partition of its group."""

    @property
    def domain(self) -> Domain:
        """The domain, as its contract names it."""
        return self.contract.domain

    @property
    def agent(self) -> str:
        """The faust agent's name: stable, since faust derives consumer state from it."""
        return f"ioc-{self.domain.value}"


DOMAINS: dict[Domain, DomainSpec] = {
    s.domain: s
    for s in (
        DomainSpec(CONTRACTS[Domain.TRAFFIC], TrafficLogic, ("sensor", "segment")),
        DomainSpec(CONTRACTS[Domain.ENERGY], EnergyLogic, ("meter", "feeder")),
        DomainSpec(CONTRACTS[Domain.QR], QrLogic),
        DomainSpec(CONTRACTS[Domain.DOSSIER], DossierLogic),
    )
}


class EngineFactory:
    """Partition engines of one domain's source topic, built alike by every driver."""

    def __init__(
        self, spec: DomainSpec, config: EngineConfig, topology: Topology, partitions: int
    ) -> None:
        self.spec = spec
        self.config = config
        self.topology = topology
        self.partition_of: Callable[[str], int] = partitioner(partitions)

    def expected(self, partition: int) -> Expected:
        """The profile's entities whose group hashes to ``partition`` (seen or not)."""
        if self.spec.members is None:
            return []
        member, group = self.spec.members
        groups = frozenset(
            g for g in self.topology.groups_of(group) if self.partition_of(g) == partition
        )
        return self.topology.expected_in(member, groups)

    def engine(self, partition: int, records: Iterable[tuple[str, Record]] = ()) -> PartitionEngine:
        """An engine over ``records`` (the partition's state), not started."""
        return PartitionEngine(
            self.spec.logic,
            self.config,
            partition,
            records,
            partition_of=self.partition_of,
            expected=self.expected(partition),
        )
