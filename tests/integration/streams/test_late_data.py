"""Late and backfilled traffic on the real stack becomes corrections (decision 0023).

The real ``ioc worker`` and ``ioc sink`` run as processes on this test's topics and
database; after everything settles, every closed window of ``kpi_traffic_live``
(window end + allowed lateness ≤ the worker's final watermark) must equal the
reference computed over the distinct events, whatever order and however often they
arrived, and a corrected row must say so in ``late_events``:

(a) a connector's backlog after an hour's outage: three hours of every sensor every
    5 minutes delivered live except an hour of three sensors, which comes afterwards;
(b) a file of the last two days in per-entity order (sensor after sensor) loaded
    through ``ioc connector file`` into a running pipeline;
(c) the same two days shuffled and loaded twice: every event duplicated, both copies
    late (a copy applied on time and redelivered after its window was dropped is the
    documented gap, so no such copy is made).

Each first feeds the pipeline live data and checks it equals the reference, so a
failure after the late data is about the late data, not the harness. Dates follow
``tests/clock.py`` (``make test-dates`` moves them).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ioc.ops.db.executors import ClickHouseExecutor
from schemas.events import TrafficObservation
from schemas.province.loading import load_profile
from schemas.province.profile import Profile
from schemas.results import Domain
from streams.murmur import partitioner
from tests import clock
from tests.integration.streams import late
from tests.integration.streams.conftest import StreamStack

pytestmark = [pytest.mark.integration, pytest.mark.scenario_date]

MINUTE = timedelta(minutes=1)
SOURCE = "backfill"
PARTITIONS = 3


def floor_to(at: datetime, step: timedelta) -> datetime:
    """``at`` rounded down to a multiple of ``step`` since the epoch (UTC+7 has whole hours)."""
    seconds, size = int(at.timestamp()), int(step.total_seconds())
    return datetime.fromtimestamp(seconds - seconds % size, UTC)


def segments_by_partition(profile: Profile, per_partition: int) -> dict[int, list[str]]:
    """The first ``per_partition`` segments (that have sensors) of each source partition."""
    of = partitioner(PARTITIONS)
    found: dict[int, list[str]] = {p: [] for p in range(PARTITIONS)}
    for segment in dict.fromkeys(s.segment_id for s in profile.sensors):
        if len(found[of(segment)]) < per_partition:
            found[of(segment)].append(segment)
    assert all(len(v) == per_partition for v in found.values()), found
    return found


def sensors_of(profile: Profile, segments: Iterable[str]) -> list[str]:
    wanted = set(segments)
    return [s.sensor_id for s in profile.sensors if s.segment_id in wanted]


def readings(
    profile: Profile,
    sensors: list[str],
    first: datetime,
    end: datetime,
    step: timedelta,
    seed: int,
) -> list[TrafficObservation]:
    """One observation per sensor every ``step`` in [first, end), at a per-sensor second,
    with the awkward cases of real sensors: no speed, no occupancy, congestion unknown."""
    rng = random.Random(seed)
    segment = {s.sensor_id: s.segment_id for s in profile.sensors}
    out: list[TrafficObservation] = []
    for i, sensor in enumerate(sensors):
        at = first + timedelta(seconds=(i * 17) % 60)
        while at < end:
            n = rng.randint(0, 90)
            moto = rng.randint(0, n)
            car = rng.randint(0, n - moto)
            truck = rng.randint(0, n - moto - car)
            out.append(
                TrafficObservation(
                    source=SOURCE,
                    sensor_id=sensor,
                    segment_id=segment[sensor],
                    observed_at=at,
                    period_s=int(step.total_seconds()),
                    intensity=n,
                    average_speed_kmh=None if rng.random() < 0.15 else round(rng.uniform(3, 95), 2),
                    occupancy=None if rng.random() < 0.15 else round(rng.random(), 3),
                    vehicle_counts={
                        "motorcycle": moto,
                        "car": car,
                        "truck": truck,
                        "bus": n - moto - car - truck,
                    },
                    congested=rng.choice([True, False, None]),
                )
            )
            at += step
    return out


def ids(events: Iterable[TrafficObservation]) -> set[str]:
    return {str(e.event_id) for e in events}


def write_jsonl(path: Path, events: list[TrafficObservation]) -> Path:
    """The contract's wire form, one event a line: what ``ioc connector file`` takes."""
    path.write_bytes(b"".join(e.to_json() + b"\n" for e in events))
    return path


def pipeline(database: str, stack: StreamStack, ch: ClickHouseExecutor) -> late.LatePipeline:
    return late.LatePipeline(stack, database, ch.client, f"ioc-sink-{stack.settings.stream_app_id}")


def profile(stack: StreamStack) -> Profile:
    """The profile the worker loads (the settings' default is load_profile()'s)."""
    return load_profile(stack.settings.province_profile)


def assert_corrections(pipe: late.LatePipeline, arrivals: late.Arrivals, prof: Profile) -> None:
    """Every closed window equals the reference; corrected rows count their late events."""
    rows = pipe.check(arrivals, prof, "after the late data")
    problems = late.late_problems(rows, arrivals)
    assert not problems, "\n".join(problems[:40])


def by_time(events: list[TrafficObservation]) -> list[TrafficObservation]:
    return sorted(events, key=lambda e: (e.observed_at, e.sensor_id))


def test_a_backlog_after_an_hours_connector_outage_corrects_the_closed_windows(
    database: str, stream_stack: StreamStack, clickhouse: ClickHouseExecutor
) -> None:
    began = time.monotonic()
    stack, prof = stream_stack, profile(stream_stack)
    pipe = pipeline(database, stack, clickhouse)
    end = floor_to(clock.now() - 10 * MINUTE, 5 * MINUTE)
    start = end - timedelta(hours=3)
    sensors = [s.sensor_id for s in prof.sensors]
    events = readings(prof, sensors, start, end, 5 * MINUTE, seed=41)
    # The outage: every sensor of one segment (its segment rows vanish for the hour) and
    # one sensor of a segment in another partition (its segment rows come up short).
    first_of = segments_by_partition(prof, 1)
    whole = sensors_of(prof, first_of[0])
    other = sensors_of(prof, first_of[1])
    assert min(len(whole), len(other)) >= 2, (whole, other)
    silent = {*whole, other[0]}
    # An hour from half past to half past, so two hour windows each lose half of it.
    cut_from = floor_to(start + 90 * MINUTE, timedelta(hours=1)) - 30 * MINUTE
    cut_to = cut_from + 60 * MINUTE
    backlog = by_time(
        [e for e in events if e.sensor_id in silent and cut_from <= e.observed_at < cut_to]
    )
    held = ids(backlog)
    live = by_time([e for e in events if str(e.event_id) not in held])
    assert len(backlog) == 12 * len(silent), len(backlog)

    pipe.run_live(live, prof)  # what the connector delivered while it was up
    live_s = time.monotonic() - began

    stack.produce(Domain.TRAFFIC, backlog)  # the connector is back and drains its queue
    arrivals = pipe.settle()
    assert arrivals.deliveries == len(events)
    assert set(arrivals.late) == held, "every reading of the outage is behind the watermark"
    assert_corrections(pipe, arrivals, prof)
    print(f"(a) {len(events)} events, {len(backlog)} late: live part {live_s:.1f} s, "
          f"total {time.monotonic() - began:.1f} s")  # fmt: skip


def two_days(prof: Profile, seed: int) -> tuple[list[TrafficObservation], list[TrafficObservation]]:
    """(history, live): the last two days up to a whole hour at least 15 minutes ago, every
    15 minutes, for all 12 sensors of two segments per partition; and five minutes of
    live readings of the same sensors that end 7 minutes ago.

    Ending the history on an hour keeps every 1m, 15m and 1h window of it dropped by the
    time it arrives; only today's 1d window is still held (and not compared: it is open).
    """
    now = clock.now()
    end = floor_to(now - 15 * MINUTE, timedelta(hours=1))
    segments = [s for group in segments_by_partition(prof, 2).values() for s in group]
    sensors = sensors_of(prof, segments)
    history = readings(prof, sensors, end - timedelta(days=2), end, 15 * MINUTE, seed)
    live_from = floor_to(now - 12 * MINUTE, MINUTE)
    live = readings(prof, sensors, live_from, live_from + 5 * MINUTE, MINUTE, seed + 1)
    return history, by_time(live)


def backfill(
    database: str,
    stack: StreamStack,
    ch: ClickHouseExecutor,
    history: list[TrafficObservation],
    live: list[TrafficObservation],
    path: Path,
    loads: int,
) -> float:
    """A running pipeline (live data on time, windows closed by ticks), then ``path``
    loaded ``loads`` times through the file connector; checked. Returns the seconds taken."""
    began = time.monotonic()
    prof = profile(stack)
    pipe = pipeline(database, stack, ch)
    pipe.run_live(live, prof)

    for _ in range(loads):
        pipe.load_file(path, len(history))
    arrivals = pipe.settle()
    assert arrivals.deliveries == len(live) + loads * len(history)
    assert ids(live) <= arrivals.on_time
    # Every copy of every historical event was behind the watermark (none on time).
    assert set(arrivals.late) == ids(history)
    assert_corrections(pipe, arrivals, prof)
    return time.monotonic() - began


def test_b_a_file_of_two_days_in_entity_order_corrects_every_window(
    database: str, stream_stack: StreamStack, clickhouse: ClickHouseExecutor, tmp_path: Path
) -> None:
    history, live = two_days(profile(stream_stack), seed=42)
    ordered = sorted(history, key=lambda e: (e.sensor_id, e.observed_at))  # sensor after sensor
    path = write_jsonl(tmp_path / "two-days-by-sensor.jsonl", ordered)
    took = backfill(database, stream_stack, clickhouse, history, live, path, loads=1)
    print(f"(b) {len(history)} late events in entity order: {took:.1f} s")
    # An operator rebuilds the file's days: --from/--to are event times, although every
    # record was written today.
    first, last = history[0].observed_at, max(e.observed_at for e in history)
    other = f"{database}_rebuild"
    try:
        rebuilt = late.rebuild(stream_stack, database, other, first, last + MINUTE)
        assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
        original = late.live_rows(clickhouse, database, first, last + MINUTE)
        again = late.live_rows(clickhouse, other, first, last + MINUTE)
        assert len(original) > len(history)  # every window of the days, all sizes
        assert set(again) == set(original)
        assert not [k for k in original if not late.same_parts(again[k], original[k])]
    finally:
        clickhouse.execute(f"DROP DATABASE IF EXISTS {other}")


def test_c_two_days_shuffled_and_loaded_twice_count_each_event_once(
    database: str, stream_stack: StreamStack, clickhouse: ClickHouseExecutor, tmp_path: Path
) -> None:
    history, live = two_days(profile(stream_stack), seed=42)  # the same days as (b)
    shuffled = list(history)
    random.Random(43).shuffle(shuffled)
    path = write_jsonl(tmp_path / "two-days-shuffled.jsonl", shuffled)
    took = backfill(database, stream_stack, clickhouse, history, live, path, loads=2)
    print(f"(c) {len(history)} late events shuffled, loaded twice: {took:.1f} s")
