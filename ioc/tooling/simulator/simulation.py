"""One simulated run: the plan (injections, controls) and the merged, time-ordered streams.

No I/O and no clock of its own: it yields (topic, event) pairs; the runner decides
how fast they leave and the sinks where they go.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from ioc.tooling.simulator import dossier, energy, qr, traffic, truth
from ioc.tooling.simulator.clock import Clock
from ioc.tooling.simulator.context import Context, Stream
from ioc.tooling.simulator.identities import IdentityBook
from ioc.tooling.simulator.injections import Injection, Schedule
from ioc.tooling.simulator.planner import DEFAULT_PER_WEEK, Planner
from schemas.base import Event
from schemas.domains import CONTRACTS
from schemas.privacy import PiiHasher
from schemas.province.profile import Profile
from schemas.results import Domain
from schemas.timeutil import to_ms

DOMAINS: dict[str, tuple[str, Callable[[Context], Stream]]] = {
    c.name: (c.topic, generate)
    for c, generate in (
        (CONTRACTS[Domain.TRAFFIC], traffic.generate),
        (CONTRACTS[Domain.ENERGY], energy.generate),
        (CONTRACTS[Domain.QR], qr.generate),
        (CONTRACTS[Domain.DOSSIER], dossier.generate),
    )
}
"""Domain name → (topic, generator). Order is the tie-break of equal event times."""
SOURCE = "simulator"


@dataclass(frozen=True)
class SimulationConfig:
    profile: Profile
    seed: int
    start: datetime
    end: datetime
    """Simulated period [start, end); both timezone-aware."""
    domains: tuple[str, ...] = tuple(DOMAINS)
    anomalies: bool = True
    injections_per_week: float = DEFAULT_PER_WEEK
    source: str = SOURCE
    remember_identities: bool = False
    """Keep the raw identifiers used (tests prove they never reach the output)."""
    dossier_history_days: int = dossier.HISTORY_DAYS
    """Dossiers are simulated from this long before ``start`` (a backlog, no cold start)."""

    def __post_init__(self) -> None:
        unknown = set(self.domains) - set(DOMAINS)
        if unknown:
            raise ValueError(f"unknown domains {sorted(unknown)}; known: {', '.join(DOMAINS)}")
        if to_ms(self.end) <= to_ms(self.start):
            raise ValueError("the simulated period must end after it starts")


class Simulation:
    """The events and the ground truth of one configuration."""

    def __init__(self, config: SimulationConfig, hasher: PiiHasher) -> None:
        self.config = config
        p = config.profile
        self.clock = Clock(p)
        self.start_ms = to_ms(config.start)
        self.end_ms = to_ms(config.end)
        domains = [d for d in DOMAINS if d in config.domains]
        self.domains = tuple(domains)
        self.injections: list[Injection] = []
        if config.anomalies:
            self.injections = Planner(
                p,
                self.clock,
                config.seed,
                self.start_ms,
                self.end_ms,
                domains=domains,
                per_week=config.injections_per_week,
                exclude_meters=energy.rollover_meters(p, config.seed),
            ).plan()
        self.controls = truth.controls(self.clock, self.start_ms, self.end_ms, domains)
        root = next(iter(p.areas.at_level(p.areas.levels[0])))
        self.identities = IdentityBook(
            config.seed, hasher, province_code=root.code, remember=config.remember_identities
        )
        self.context = Context(
            profile=p,
            clock=self.clock,
            seed=config.seed,
            start_ms=self.start_ms,
            end_ms=self.end_ms,
            source=config.source,
            schedule=Schedule(self.injections),
            identities=self.identities,
            dossier_history_days=config.dossier_history_days,
        )

    def topics(self) -> list[str]:
        """The topics this run writes, in domain order."""
        return [DOMAINS[d][0] for d in self.domains]

    def events(self) -> Iterator[tuple[int, str, Event]]:
        """(event time ms, topic, event) of every domain, merged in event-time order.

        Each generator is time-ordered on its own; the merge keeps the order across
        domains (ties in domain order), so a paced run leaves in event time.
        """
        streams = [_tagged(topic, generate(self.context)) for topic, generate in self._chosen()]
        return heapq.merge(*streams, key=lambda item: item[0])

    def _chosen(self) -> list[tuple[str, Callable[[Context], Stream]]]:
        return [DOMAINS[d] for d in self.domains]

    def truth_rows(self, until_ms: int | None = None) -> list[truth.TruthRow]:
        """Injections, controls and natural rollovers that began before ``until_ms``.

        A run stopped early (a real-time run's duration) reports only what it reached,
        clipped to the period it simulated.
        """
        end = self.end_ms if until_ms is None else min(until_ms, self.end_ms)
        rows = [truth.from_injection(i) for i in self.injections]
        rows += self.controls + self.context.natural
        return [truth.clip(r, self.start_ms, end) for r in rows if r.start_ms < end]


def _tagged(topic: str, events: Stream) -> Iterator[tuple[int, str, Event]]:
    for t, event in events:
        yield t, topic, event
