"""A small profile and one dense simulated day, shared by the simulator's unit tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ioc.tooling.simulator import MemoryOutput, Simulation, SimulationConfig, run
from ioc.tooling.simulator.runner import RunSummary
from schemas.privacy import PiiHasher
from schemas.province.entities import CheckpointKind
from schemas.province.loading import load_profile
from schemas.province.profile import Profile

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY = datetime(2026, 11, 2, tzinfo=LOCAL)
HASHER = PiiHasher(b"unit-test-key", "kt")


def small_profile() -> Profile:
    """The default profile cut down: a few of each entity, every kind and level kept."""
    p = load_profile()
    segments = [s for s in p.segments if s.segment_id in {"QL13-01", "DT741-02", "PHURIENGDO-01"}]
    feeders = p.feeders[:3]
    kinds_seen: set[CheckpointKind] = set()
    checkpoints = []
    for cp in p.checkpoints:
        if cp.kind not in kinds_seen and cp.kind in {"gate", "hospital", "market"}:
            kinds_seen.add(cp.kind)
            checkpoints.append(cp)
    by_level = {lv: [a for a in p.agencies if a.level == lv] for lv in p.areas.levels}
    agencies = by_level["province"][:2] + by_level["district"][:2] + by_level["commune"][:3]
    ids = {s.segment_id for s in segments}
    meters = [m for f in feeders for m in [x for x in p.meters if x.feeder_id == f.feeder_id][:4]]
    # Two-minute periods: half the events of the default, and proof nothing assumes 60 s.
    return p.model_copy(
        update={
            "name": "small-test",
            "segments": segments,
            "sensors": [
                s.model_copy(update={"period_s": 120}) for s in p.sensors if s.segment_id in ids
            ],
            "feeders": feeders,
            "meters": [m.model_copy(update={"period_s": 120}) for m in meters],
            "checkpoints": checkpoints,
            "agencies": agencies,
        }
    )


@dataclass
class Run:
    sim: Simulation
    summary: RunSummary
    events: list[tuple[str, object]]

    def of(self, topic: str) -> list:  # type: ignore[type-arg]
        return [e for t, e in self.events if t == topic]


def simulate(profile: Profile, start: datetime, hours: float, **kw: object) -> Run:
    """Run into memory."""
    config = SimulationConfig(
        profile=profile,
        start=start,
        end=start + timedelta(hours=hours),
        **kw,  # type: ignore[arg-type]
    )
    sim = Simulation(config, HASHER)
    sink = MemoryOutput()
    summary = asyncio.run(run(sim, sink))
    return Run(sim, summary, sink.events)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def small() -> Profile:
    return small_profile()


@pytest.fixture(scope="session")
def dense_day(small: Profile) -> Run:
    """A day and a half of the small profile, every domain, ~6 injections of each kind."""
    return simulate(small, MONDAY, 36, seed=11, injections_per_week=28.0, remember_identities=True)
