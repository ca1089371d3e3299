"""The bench's data: the simulator's mixed four-domain stream for a city-sized profile.

A province profile has a few hundred telemetry entities (≈ 5 events/s); a city full of
sensors and meters has a hundred thousand. The bench scales the shipped profile by
cloning its segments, sensors, feeders, meters and check-points ``copies`` times (same
areas and coordinates, ids suffixed ``.c<n>``), then runs the seeded simulator over it
once per run: every phase reads the same pre-encoded records. Agencies are not cloned:
dossier changes stay a trickle, as in a real city.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from ioc.tooling.simulator import Simulation, SimulationConfig
from schemas.domains import BY_TOPIC
from schemas.privacy import PiiHasher
from schemas.province.loading import load_profile
from schemas.province.profile import Profile
from schemas.timeutil import from_ms, to_ms

# Dossier times that move with the change time, so a re-stamped change stays consistent.
_SHIFTED_WITH = ("received_at", "due_at")


@dataclass(frozen=True, slots=True)
class BenchRecord:
    """One pre-encoded source record (topic without the run's suffix)."""

    topic: str
    key: bytes
    value: bytes
    timestamp_ms: int


@dataclass(frozen=True)
class Dataset:
    records: list[BenchRecord]
    profile_path: Path
    copies: int
    entities: int
    seed: int
    start: datetime
    generate_s: float

    def by_topic(self) -> dict[str, int]:
        """Records per source topic."""
        counts: dict[str, int] = {}
        for record in self.records:
            counts[record.topic] = counts.get(record.topic, 0) + 1
        return counts

    @property
    def first_ms(self) -> int:
        """Earliest record timestamp (event time)."""
        return min(r.timestamp_ms for r in self.records)

    @property
    def last_ms(self) -> int:
        """Latest record timestamp (event time)."""
        return max(r.timestamp_ms for r in self.records)


def _clone(items: list[Any], copies: int, fields: tuple[str, ...]) -> list[Any]:
    out = []
    for n in range(copies):
        for item in items:
            if n == 0:
                out.append(item)
                continue
            update = {f: f"{getattr(item, f)}.c{n}" for f in fields}
            out.append(item.model_copy(update=update))
    return out


def city_profile(base: Profile, copies: int) -> Profile:
    """``base`` with its telemetry and check-point entities cloned ``copies`` times."""
    if copies <= 1:
        return base
    data = {
        "segments": _clone(base.segments, copies, ("segment_id",)),
        "sensors": _clone(base.sensors, copies, ("sensor_id", "segment_id")),
        "feeders": _clone(base.feeders, copies, ("feeder_id",)),
        "meters": _clone(base.meters, copies, ("meter_id", "feeder_id")),
        "checkpoints": _clone(base.checkpoints, copies, ("checkpoint_id",)),
    }
    dumped = base.model_dump(mode="json")
    dumped.update({k: [e.model_dump(mode="json") for e in v] for k, v in data.items()})
    dumped["name"] = f"{base.name}-x{copies}"
    dumped["description"] = f"{base.description[:1_800]} (bench: ×{copies} telemetry entities)"
    return Profile.model_validate(dumped)


def entity_count(profile: Profile) -> int:
    """Distinct entities events are keyed or counted by (sensors … agencies)."""
    return (
        len(profile.segments)
        + len(profile.sensors)
        + len(profile.feeders)
        + len(profile.meters)
        + len(profile.checkpoints)
        + len(profile.agencies)
    )


def generate(
    *,
    base_profile: str,
    copies: int,
    events: int,
    seed: int,
    start: datetime,
    hasher: PiiHasher,
    directory: Path,
) -> Dataset:
    """Simulate until ``events`` records; the scaled profile is written for the workers."""
    started = time.perf_counter()
    profile = city_profile(load_profile(base_profile), copies)
    directory.mkdir(parents=True, exist_ok=True)
    profile_path = directory / f"{profile.name}.json"
    profile_path.write_bytes(orjson.dumps(profile.model_dump(mode="json")))
    # Long enough a period for ``events`` (the generator is lazy: only what is taken runs).
    config = SimulationConfig(
        profile=profile,
        seed=seed,
        start=start,
        end=start + timedelta(days=1),
        dossier_history_days=1,
    )
    sim = Simulation(config, hasher)
    records = [
        BenchRecord(topic, event.key.encode(), event.to_json(), t_ms)
        for t_ms, topic, event in itertools.islice(sim.events(), events)
    ]
    return Dataset(
        records=records,
        profile_path=profile_path,
        copies=copies,
        entities=entity_count(profile),
        seed=seed,
        start=start,
        generate_s=time.perf_counter() - started,
    )


def restamp(record: BenchRecord, at_ms: int) -> BenchRecord:
    """The same event happening at ``at_ms`` (same id and key): for the fixed-rate phase."""
    payload = orjson.loads(record.value)
    name = BY_TOPIC[record.topic].model.TIME_FIELD  # re-stamped by the live phase
    delta = at_ms - to_ms(datetime.fromisoformat(payload[name]))
    payload[name] = from_ms(at_ms).isoformat()
    for other in _SHIFTED_WITH:
        if payload.get(other):
            payload[other] = (
                datetime.fromisoformat(payload[other]) + timedelta(milliseconds=delta)
            ).isoformat()
    return BenchRecord(record.topic, record.key, orjson.dumps(payload), at_ms)
