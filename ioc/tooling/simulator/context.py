"""What every domain generator needs to know about a run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ioc.tooling.simulator.clock import Clock
from ioc.tooling.simulator.identities import IdentityBook
from ioc.tooling.simulator.injections import Schedule
from ioc.tooling.simulator.truth import TruthRow
from schemas.base import Event
from schemas.province.profile import Profile

Timed = tuple[int, Event]
"""(event time in epoch ms, event): generators yield these in time order."""
Stream = Iterator[Timed]


@dataclass
class Context:
    profile: Profile
    clock: Clock
    seed: int
    start_ms: int
    end_ms: int
    """Events are emitted for event times in [start_ms, end_ms)."""
    source: str
    schedule: Schedule
    identities: IdentityBook
    dossier_history_days: int = 21
    natural: list[TruthRow] = field(default_factory=list)
    """Truth rows the generators discover while running (natural register rollovers)."""

    def ticks(self, period_ms: int) -> range:
        """Telemetry instants: the end of each whole period after ``start_ms``."""
        return range(self.start_ms + period_ms, self.end_ms, period_ms)
