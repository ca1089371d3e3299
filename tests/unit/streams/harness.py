"""Drive the pure partition engine like the worker does — batches, a changelog, commits,
crashes — and compare what it emitted with the reference.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas.base import Event
from schemas.corrections import merge
from schemas.province.profile import Profile
from schemas.results import DataQualityRecord, KpiRecord
from schemas.timeutil import to_ms
from schemas.topics import CONTROL_HEADER
from streams.detect import DetectorSuite
from streams.engine import EngineConfig, Outputs, PartitionEngine, SourceRecord
from streams.kpi.base import DomainLogic, KpiContext
from streams.state import Record
from streams.topology import Topology
from tests.unit.streams.reference_base import Expected

FIXED_NOW = datetime(2026, 11, 26, tzinfo=UTC)


def engine_config(profile: Profile, lateness_ms: int, *, detect: bool = True) -> EngineConfig:
    return EngineConfig(
        kpi=KpiContext(Topology.from_profile(profile), lateness_ms, 1, lambda: FIXED_NOW),
        producer="test",
        max_skew_ms=300_000,
        replay_horizon_ms=400 * 86_400_000,
        suite=DetectorSuite() if detect else None,
    )


def source_records(topic: str, partition: int, log: list[tuple[str, Any]]) -> list[SourceRecord]:
    out = []
    for offset, (kind, item) in enumerate(log):
        if kind == "tick":
            out.append(
                SourceRecord(
                    topic, partition, offset, None, b"", int(item), ((CONTROL_HEADER, b"tick"),)
                )
            )
        else:
            event: Event = item
            out.append(
                SourceRecord(
                    topic,
                    partition,
                    offset,
                    event.key.encode(),
                    event.to_json(),
                    to_ms(event.event_time),
                )
            )
    return out


@dataclass
class Run:
    """One partition's run: everything delivered, and the changelog."""

    results: list[KpiRecord] = field(default_factory=list)
    dq: list[DataQualityRecord] = field(default_factory=list)
    """Data-quality records delivered (cut at a crash like the KPI records)."""
    outputs: Outputs = field(default_factory=Outputs)
    changelog: list[tuple[str, Record | None]] = field(default_factory=list)
    crashes: int = 0


def chunks(
    items: list[SourceRecord], rng: random.Random, largest: int
) -> Iterator[list[SourceRecord]]:
    """Random batch cuts, 1 to ``largest`` records each."""
    i = 0
    while i < len(items):
        n = rng.randint(1, largest)
        yield items[i : i + n]
        i += n


def recover(changelog: list[tuple[str, Record | None]]) -> list[tuple[str, Record]]:
    """What a restarted worker's table holds: the last value of every key, tombstones applied."""
    store: dict[str, Record] = {}
    for key, value in changelog:
        if value is None:
            store.pop(key, None)
        else:
            store[key] = value
    return list(store.items())


def run_partition(
    logic: type[DomainLogic],
    config: EngineConfig,
    records: list[SourceRecord],
    *,
    seed: int = 1,
    crashes: int = 0,
    largest_batch: int = 40,
) -> Run:
    """Process a partition log, crashing ``crashes`` times at random points."""
    import copy

    rng = random.Random(seed)
    run = Run()
    committed = -1
    durable = 0  # changelog entries that a commit made sure of
    points = range(1, max(2, len(records)))
    crash_after = sorted(rng.sample(points, k=min(crashes, len(points))))
    while True:
        engine = PartitionEngine(
            logic, config, records[0].partition, copy.deepcopy(recover(run.changelog))
        )
        started = engine.start()
        run.results += started.kpis
        run.dq += started.dq
        run.outputs.extend(started)
        crashed = False
        for batch in chunks(records[committed + 1 :], rng, largest_batch):
            out = Outputs()
            for record in batch:
                out.extend(engine.process(record))
            writes = copy.deepcopy(engine.drain())
            if crash_after and batch[-1].offset >= crash_after[0]:
                crash_after.pop(0)
                # Results are awaited before the changelog is written: cut anywhere after.
                if rng.random() < 0.3:
                    kept = out.kpis[: rng.randint(0, len(out.kpis))]
                    run.results += kept
                    run.dq += out.dq[: rng.randint(0, len(out.dq))]
                else:
                    run.results += out.kpis
                    run.dq += out.dq
                    run.changelog += writes[: rng.randint(0, len(writes))]
                del run.changelog[max(durable, len(run.changelog) - rng.randint(0, 3)) :]
                run.crashes += 1
                crashed = True
                break
            run.results += out.kpis
            run.dq += out.dq
            run.outputs.extend(out)
            run.changelog += writes
            if rng.random() < 0.5:  # a commit: everything before it is durable
                committed = batch[-1].offset
                durable = len(run.changelog)
        if not crashed:
            return run


def latest(results: list[KpiRecord]) -> dict[tuple[str, str, str, int], KpiRecord]:
    """What the sink keeps: highest version per key, among equal versions the last
    written (ReplacingMergeTree); corrections merged into the row (schemas.corrections)."""
    best: dict[tuple[str, str, str, int], KpiRecord] = {}
    for r in results:
        key = (r.entity_kind, r.entity_id, r.window.value, to_ms(r.window_start))
        if r.correction:
            merged = merge(best.get(key), r)
            if merged is not None:
                best[key] = merged
        elif key not in best or r.version >= best[key].version:
            best[key] = r
    return best


def conflicts(results: list[KpiRecord]) -> list[str]:
    """Same key and version with different content: a reader could pick the wrong one."""
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    bad = []
    for r in results:
        if r.correction:
            continue  # a delta, not a version of the row (see latest())
        body = r.model_dump(exclude={"computed_at"})
        key = (r.key, r.version)
        if key in seen and seen[key] != body:
            bad.append(f"{r.key} v{r.sequence}: {seen[key]['parts']} != {body['parts']}")
        seen[key] = body
    return bad


def compare(
    actual: dict[tuple[str, str, str, int], KpiRecord],
    expected: dict[tuple[str, str, str, int], Expected],
) -> list[str]:
    """Differences: exact for counts and sums, 1e-9 relative for means and rates."""
    problems = []
    for key in sorted(set(expected) | set(actual)):
        want, got = expected.get(key), actual.get(key)
        if want is None:
            problems.append(f"unexpected window {key}: {got.parts if got else None}")
            continue
        if got is None:
            problems.append(f"missing window {key}: {want.parts}")
            continue
        parts = got.parts.model_dump()
        for name, value in want.parts.items():
            if parts[name] == value:
                continue
            # A corrected row's float sums add in another order (schemas.corrections).
            close = isinstance(value, float) and isinstance(parts[name], float)
            if got.late_events and close and math.isclose(parts[name], value, rel_tol=1e-12):
                continue
            problems.append(f"{key} {name}: got {parts[name]!r}, want {value!r}")
        if got.late_events:
            continue  # rates: recomputed by readers from a corrected row's parts
        for name, value in want.rates.items():
            have = got.rates.get(name)
            if value is None or have is None:
                if value != have:
                    problems.append(f"{key} rate {name}: got {have!r}, want {value!r}")
            elif not math.isclose(have, value, rel_tol=1e-9, abs_tol=1e-12):
                problems.append(f"{key} rate {name}: got {have!r}, want {value!r}")
    return problems
