"""Per-minute data-quality records: which minute counts what, emission, recovery, crashes."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest

from schemas.results import DataQualityRecord, Domain, WindowSize
from schemas.timeutil import from_ms, to_ms
from schemas.topics import CONTROL_HEADER
from streams import dq
from streams.engine import Outputs, PartitionEngine, SourceRecord
from streams.kpi.traffic import TrafficLogic
from tests import factories as f
from tests.unit.streams import harness
from tests.unit.streams.test_kpi_reference import LOGIC, logs, profile

pytestmark = pytest.mark.unit

LATENESS = 120_000
MIN = 60_000
T0 = to_ms(f.T0)  # 08:30:00 UTC, a minute boundary


# --- which minute ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "event_ms", "record_ms", "newest_ms", "wm", "expected"),
    [
        # before any watermark anything is held: the event's time, else the record's
        (dq.Outcome.APPLIED, T0 + 5, T0 + 9, None, None, T0 + 5),
        (dq.Outcome.INVALID, None, T0 + 9, None, None, T0 + 9),
        (dq.Outcome.INVALID, None, None, None, None, 0),
        # an applied event counts in its own (held) minute, even a closed one
        (dq.Outcome.APPLIED, T0 + 5, T0 + 9 * MIN, T0 + 3 * MIN, T0 + MIN, T0 + 5),
        # late, duplicate, invalid: the record's timestamp while its minute is held ...
        (dq.Outcome.LATE, T0 - 10 * MIN, T0 + 2 * MIN, T0 + 3 * MIN, T0 + MIN, T0 + 2 * MIN),
        (dq.Outcome.DUPLICATE, T0 + 5, T0 + 7, T0 + 3 * MIN, T0 + MIN, T0 + 7),
        (dq.Outcome.INVALID, T0 + 99 * MIN, T0 + 7, T0 + 3 * MIN, T0 + MIN, T0 + 7),
        # ... and the partition's newest minute once the record's minute is dropped
        (dq.Outcome.LATE, T0 - 10 * MIN, T0 - 5 * MIN, T0 + 3 * MIN, T0 + MIN, T0 + 3 * MIN),
        (dq.Outcome.INVALID, None, None, T0 + 3 * MIN, T0 + MIN, T0 + 3 * MIN),
    ],
)
def test_window_time(
    outcome: dq.Outcome,
    event_ms: int | None,
    record_ms: int | None,
    newest_ms: int | None,
    wm: int | None,
    expected: int,
) -> None:
    got = dq.window_time(
        outcome,
        event_ms=event_ms,
        record_ms=record_ms,
        newest_ms=newest_ms,
        wm=wm,
        lateness_ms=LATENESS,
    )
    assert got == expected


# --- through the engine ------------------------------------------------------------------


class Feed:
    """One partition's records, offsets in order."""

    def __init__(self, engine: PartitionEngine) -> None:
        self.engine, self.offset = engine, 0

    def raw(self, value: bytes | None, stamp: int | None, control: bool = False) -> Outputs:
        headers = ((CONTROL_HEADER, b"tick"),) if control else ()
        record = SourceRecord("ioc.traffic.obs.v1", 0, self.offset, None, value, stamp, headers)
        self.offset += 1
        return self.engine.process(record)

    def event(self, at_s: int, stamp_s: int | None = None, sensor: str = "TS-QL13-01") -> Outputs:
        event = f.traffic(observed_at=f.T0 + timedelta(seconds=at_s), sensor_id=sensor)
        return self.raw(event.to_json(), T0 + 1000 * (at_s if stamp_s is None else stamp_s))


def engine() -> PartitionEngine:
    return PartitionEngine(TrafficLogic, harness.engine_config(profile(), LATENESS), 0)


def view(records: list[DataQualityRecord]) -> list[tuple[Any, ...]]:
    return [
        (
            r.source,
            (to_ms(r.window_start) - T0) // MIN,
            r.sequence,
            r.events,
            r.late,
            r.duplicates,
            r.invalid,
            None if r.last_seen is None else (to_ms(r.last_seen) - T0) // 1000,
        )
        for r in records
    ]


def test_minutes_are_counted_emitted_re_emitted_and_recovered() -> None:
    feed = Feed(engine())
    emitted: list[DataQualityRecord] = []
    for out in (
        feed.event(10),
        feed.event(20),
        feed.event(10, stamp_s=25),  # a duplicate: counted at its record time, minute 0
        feed.raw(b"not json", T0 + 30_000),
        feed.raw(b'{"source": "kcat", "sensor_id": "x"}', T0 + 30_000),
    ):
        emitted += out.dq
    assert emitted == [], "nothing is emitted before the watermark closes the minute"

    closing = feed.event(240)  # watermark 08:32: minute 0 closes (held until 08:33)
    assert view(closing.dq) == [
        ("kcat", 0, 1, 0, 0, 0, {"validation": 1}, None),
        ("test", 0, 1, 3, 0, 1, {}, 20),
        ("unknown", 0, 1, 0, 0, 0, {"invalid_json": 1}, None),
    ]
    assert all(r.version == (1 << 32) + 1 for r in closing.dq)
    assert closing.dq[1].key == "traffic:0:test:2026-11-26T08:30:00+00:00"

    # Recovery from the changelog re-emits the held closed minutes exactly as they were.
    changelog = dict(feed.engine.drain())
    recovered = PartitionEngine(
        TrafficLogic,
        harness.engine_config(profile(), LATENESS),
        0,
        [(k, v) for k, v in changelog.items() if v is not None],
    )
    assert recovered.start().dq == closing.dq
    feed.engine = recovered

    # An event that still lands in the closed minute re-emits it with the next sequence.
    again = feed.event(5, sensor="TS-QL13-01-B")
    assert view(again.dq) == [("test", 0, 2, 4, 0, 1, {}, 20)]
    assert again.dq[0].version == (1 << 32) + 2

    feed.event(360)  # watermark 08:34: minute 0 is dropped
    late = feed.event(15, stamp_s=361, sensor="TS-QL13-01-B")  # late: its record time, minute 6
    assert late.outcomes == {"late": 1}
    stale = feed.event(16, sensor="TS-QL13-01-B")  # late, stamped in a dropped minute: newest
    assert stale.outcomes == {"late": 1}
    end = feed.raw(b"", T0 + 600_000, control=True)
    assert view(end.dq) == [
        ("test", 4, 1, 1, 0, 0, {}, 240),
        ("test", 6, 1, 3, 2, 0, {}, 360),
    ]


def test_running_totals_for_metrics_are_unchanged() -> None:
    feed = Feed(engine())
    feed.event(10)
    feed.event(10)
    feed.raw(b"not json", T0)
    counts = {c.source: c for c in dq.counters(feed.engine.state)}
    assert (counts["test"].events, counts["test"].duplicates) == (2, 1)
    assert counts["unknown"].invalid == {"invalid_json": 1}


def test_a_record_that_fails_in_processing_keeps_its_first_outcome(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed = Feed(engine())

    def broken(*_: object) -> list[object]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(feed.engine.logic, "apply", broken)
    out = feed.event(10, stamp_s=200)  # were it counted again, its record time: minute 3
    assert [d.reason for d in out.dead_letters] == ["processing_error"]
    monkeypatch.undo()
    end = feed.raw(b"", T0 + 600_000, control=True)
    assert view(end.dq) == [("test", 0, 1, 1, 0, 0, {}, 10)]
    assert counts_of(feed.engine, "test") == (1, {})


def counts_of(engine: PartitionEngine, source: str) -> tuple[int, dict[str, int]]:
    c = next(c for c in dq.counters(engine.state) if c.source == source)
    return c.events, c.invalid


def test_a_replayed_record_is_not_counted_twice() -> None:
    first = engine()
    feed = Feed(first)
    feed.event(10)
    state = dict(first.drain())
    # The changelog has the minute's record (counted at offset 0) but not ``meta``.
    state.pop("meta")
    replay = PartitionEngine(
        TrafficLogic, harness.engine_config(profile(), LATENESS), 0, list(state.items())
    )
    replay.start()
    replay_feed = Feed(replay)
    replay_feed.event(10)  # offset 0 again: every record already applied it
    replay_feed.raw(b"", T0 + 600_000, control=True)
    closed = replay_feed.engine.drain()
    minute = next(v for k, v in closed if k.startswith(dq.WINDOW_PREFIX))
    assert minute is not None
    assert (minute["events"], minute["q"]) == (1, 1)


# --- crashes and the KPIs -------------------------------------------------------------


def latest(records: list[DataQualityRecord]) -> dict[str, DataQualityRecord]:
    """What ReplacingMergeTree(version) keeps: the highest version per key."""
    best: dict[str, DataQualityRecord] = {}
    for r in records:
        if r.key not in best or r.version >= best[r.key].version:
            best[r.key] = r
    return best


def conflicts(records: list[DataQualityRecord]) -> list[str]:
    """One (key, version) with two contents: a reader could keep the wrong one."""
    seen: dict[tuple[str, int], DataQualityRecord] = {}
    bad = []
    for r in records:
        if seen.setdefault((r.key, r.version), r) != r:
            bad.append(f"{r.key} v{r.version}")
    return bad


def with_garbage(records: list[SourceRecord], every: int = 17) -> list[SourceRecord]:
    """Not-JSON records among the events (stamped like their neighbour), offsets renumbered."""
    mixed: list[SourceRecord] = []
    for i, record in enumerate(records):
        # Not before a control tick: stamped like the log's final tick, its minute would
        # only close at a later tick, which the log does not have.
        if i % every == every - 1 and not record.headers:
            mixed.append(dataclasses.replace(record, key=None, value=b"garbage", headers=()))
        mixed.append(record)
    return [dataclasses.replace(r, offset=i) for i, r in enumerate(mixed)]


def domain_records(
    domain: Domain, seed: int, crashes: int
) -> tuple[list[DataQualityRecord], dict[str, int]]:
    config = harness.engine_config(profile(), LATENESS)
    delivered: list[DataQualityRecord] = []
    outcomes: dict[str, int] = defaultdict(int)
    for partition, log in logs(domain, seed).items():
        if not log:
            continue
        records = with_garbage(harness.source_records(domain.value, partition, log))
        delivered += harness.run_partition(
            LOGIC[domain], config, records, seed=seed * 7 + partition, crashes=crashes
        ).dq
        if crashes == 0:
            clean = PartitionEngine(LOGIC[domain], config, partition)
            for record in records:
                for name, n in clean.process(record).outcomes.items():
                    outcomes[name] += n
    return delivered, outcomes


@pytest.mark.parametrize("domain", list(Domain), ids=lambda d: d.value)
def test_crashes_and_replays_change_no_minute(domain: Domain) -> None:
    clean, outcomes = domain_records(domain, seed=5, crashes=0)
    crashed, _ = domain_records(domain, seed=5, crashes=3)
    assert not conflicts(clean + crashed)
    assert latest(crashed) == latest(clean)
    final = latest(clean).values()
    # The final records hold every record's outcome exactly once.
    assert sum(r.events for r in final) == sum(
        outcomes.get(o, 0) for o in ("applied", "late", "duplicate")
    )
    assert sum(r.late for r in final) == outcomes.get("late", 0)
    assert sum(r.duplicates for r in final) == outcomes.get("duplicate", 0)
    assert sum(r.invalid_total for r in final) == outcomes.get("invalid", 0)
    assert min(outcomes.get(o, 0) for o in ("applied", "late", "duplicate", "invalid")) > 0


def test_applied_events_per_minute_equal_the_kpi_observations() -> None:
    """A minute's applied events (events − late − duplicates) are its sensors' in-time
    observations (late ones are corrections, counted on the row as ``late_events``)."""
    config = harness.engine_config(profile(), LATENESS)
    applied: dict[int, int] = defaultdict(int)
    observed: dict[int, int] = defaultdict(int)
    for partition, log in logs(Domain.TRAFFIC, 5).items():
        engine = PartitionEngine(TrafficLogic, config, partition)
        out = Outputs()
        for record in harness.source_records("traffic", partition, log):
            out.extend(engine.process(record))
        for r in latest(out.dq).values():
            applied[to_ms(r.window_start)] += r.events - r.late - r.duplicates
        for key, k in harness.latest(out.kpis).items():
            if k.entity_kind == "sensor" and k.window is WindowSize.M1:
                # Late events are applied as corrections; the minute counts them apart.
                in_time = k.parts.observations - k.late_events  # type: ignore[union-attr]
                observed[key[3]] += in_time
    assert sum(observed.values()) > 0
    assert {m: n for m, n in applied.items() if n} == dict(observed), [
        (str(from_ms(m)), applied.get(m), observed.get(m))
        for m in sorted(set(applied) | set(observed))
        if applied.get(m, 0) != observed.get(m, 0)
    ][:5]
