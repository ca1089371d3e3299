"""Data quality end to end: the real ``ioc worker`` counts good, duplicate, late and invalid
records into per-minute records on ``ioc.dq.v1``; the real sink writes them into the real
ClickHouse; ``dq_by_source`` equals the expected counts exactly — and a worker restart
(re-emission after recovery) and a second sink re-reading the topic double nothing.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from kafka import KafkaProducer

from ioc.kafka_client import kafka_client_options
from ioc.ops.db.executors import ClickHouseExecutor
from schemas.results import DataQualityRecord, Domain
from schemas.timeutil import to_ms
from schemas.topics import DQ, registry
from streams.murmur import partitioner
from tests import clock
from tests import factories as f
from tests.integration.sink.harness import drive, end_offsets, group_offsets, make_output
from tests.integration.streams.conftest import StreamStack

pytestmark = [pytest.mark.integration, pytest.mark.scenario_date]

MIN = 60_000
SOURCE = "test-dq"


def two_segments() -> tuple[tuple[str, int], tuple[str, int]]:
    """Two segment ids that murmur2 puts in different partitions (of 3)."""
    of = partitioner(3)
    first = ("DQ-SEG-0", of("DQ-SEG-0"))
    other = next(f"DQ-SEG-{i}" for i in range(1, 100) if of(f"DQ-SEG-{i}") != first[1])
    return first, (other, of(other))


def send(stack: StreamStack, records: list[tuple[int, bytes | None, bytes, int]]) -> None:
    """(partition, key, value, record timestamp) in order, to the traffic source topic."""
    producer = KafkaProducer(**kafka_client_options(stack.settings), acks="all")
    try:
        for partition, key, value, stamp in records:
            producer.send(
                stack.source(Domain.TRAFFIC),
                value=value,
                key=key,
                partition=partition,
                timestamp_ms=stamp,
            )
        producer.flush(30)
    finally:
        producer.close()


def dq_records(stack: StreamStack) -> list[DataQualityRecord]:
    return [DataQualityRecord.model_validate_json(r.value) for r in stack.read_all(stack.topic(DQ))]


def latest(records: list[DataQualityRecord]) -> dict[str, DataQualityRecord]:
    best: dict[str, DataQualityRecord] = {}
    for r in records:
        if r.key not in best or r.version >= best[r.key].version:
            best[r.key] = r
    return best


def by_source(
    database: str, clickhouse: ClickHouseExecutor
) -> dict[tuple[str, int], tuple[Any, ...]]:
    rows = clickhouse.execute(
        "SELECT source, toUnixTimestamp(window_start), events, late, duplicates, invalid, "
        f"toUnixTimestamp(last_seen) FROM {database}.dq_by_source WHERE domain = 'traffic'"
    )
    return {(str(r[0]), int(r[1]) * 1000): tuple(r[2:]) for r in rows}


def by_reason(database: str, clickhouse: ClickHouseExecutor) -> set[tuple[Any, ...]]:
    rows = clickhouse.execute(
        "SELECT source, toUnixTimestamp(window_start) * 1000, reason, invalid "
        f"FROM {database}.dq_invalid_by_reason WHERE domain = 'traffic'"
    )
    return {(str(a), int(b), str(c), int(d)) for a, b, c, d in rows}


def test_dq_rows_in_clickhouse_equal_the_counts_and_re_emission_doubles_nothing(
    stream_stack: StreamStack, clickhouse: ClickHouseExecutor, database: str, unique: str
) -> None:
    stack = stream_stack
    (seg_a, part_a), (seg_b, part_b) = two_segments()
    # A minute boundary twenty minutes ago: every record time below is in the past.
    now = clock.now().replace(second=0, microsecond=0)
    base = now - timedelta(minutes=20)
    b = to_ms(base)

    def event(seg: str, sensor: str, at_s: int) -> Any:
        return f.traffic(
            source=SOURCE,
            segment_id=seg,
            sensor_id=sensor,
            observed_at=base + timedelta(seconds=at_s),
        )

    a1, a2 = event(seg_a, "DQ-S-A", 10), event(seg_a, "DQ-S-A", 20)
    a3, a4 = event(seg_a, "DQ-S-A", 300), event(seg_a, "DQ-S-A2", 30)
    skewed = event(seg_a, "DQ-S-A", 360)
    b1, b2 = event(seg_b, "DQ-S-B", 15), event(seg_b, "DQ-S-B", 300)
    ka, kb = seg_a.encode(), seg_b.encode()
    send(
        stack,
        [
            (part_a, ka, a1.to_json(), b + 10_000),  # applied, minute 0
            (part_a, ka, a2.to_json(), b + 20_000),  # applied, minute 0
            (part_a, ka, a1.to_json(), b + 25_000),  # duplicate, at its record time: minute 0
            (part_a, None, b"this is not json", b + 30_000),  # invalid_json, source unknown
            (part_a, None, b'{"source": "kcat", "sensor_id": "TS-1"}', b + 30_000),  # validation
            (part_a, ka, a3.to_json(), b + 300_000),  # applied, minute 5; minute 0 dropped
            (part_a, ka, a4.to_json(), b + 310_000),  # late, at its record time: minute 5
            (part_a, ka, skewed.to_json(), b + 330_000),  # clock_skew (6 min vs 5:30), minute 5
            (part_b, kb, b1.to_json(), b + 15_000),  # applied, minute 0, the other partition
            (part_b, kb, b2.to_json(), b + 300_000),  # applied, minute 5
        ],
    )
    # Watermark base + 7 min everywhere: minute 5 closes and stays held (until + 8 min).
    stack.produce_ticks(Domain.TRAFFIC, b + 9 * MIN)
    stack.start_worker("first")

    expected_by_source = {
        (SOURCE, b): (4, 0, 1, 0, (b + 20_000) // 1000),
        ("unknown", b): (0, 0, 0, 1, None),
        ("kcat", b): (0, 0, 0, 1, None),
        (SOURCE, b + 5 * MIN): (3, 1, 0, 1, (b + 300_000) // 1000),
    }
    expected_reasons = {
        ("unknown", b, "invalid_json", 1),
        ("kcat", b, "validation", 1),
        (SOURCE, b + 5 * MIN, "clock_skew", 1),
    }
    expected_keys = 6  # minute 0: three sources on A, one on B; minute 5: one on each

    stack.wait_for(
        lambda: len(latest(dq_records(stack))) >= expected_keys,
        60,
        "the worker's data-quality records",
        interval_s=0.5,
    )
    first_run = dq_records(stack)
    assert len(latest(first_run)) == expected_keys, sorted(latest(first_run))

    specs = {
        DQ: dataclasses.replace(next(s for s in registry() if s.name == DQ), name=stack.topic(DQ))
    }

    def sink_everything(group: str) -> None:
        """The real sink over the dq topic until it committed the topic's end."""
        sink = make_output(stack.settings, specs, database, group)
        ends = end_offsets(stack.settings, [stack.topic(DQ)])
        # A partition the group already committed to its end gets nothing new to commit
        # (which partitions the re-emissions land on depends on the scenario's date).
        before = group_offsets(stack.settings, group, ends)
        todo = {tp: end for tp, end in ends.items() if before.get(tp) != end}

        def caught_up() -> bool:
            return all(sink.committed.get(tp) == end for tp, end in todo.items())

        assert drive(sink, caught_up, 60), (sink.committed, ends, before)

    sink_everything(f"dq-sink-{unique}")
    assert by_source(database, clickhouse) == expected_by_source
    assert by_reason(database, clickhouse) == expected_reasons

    # A restart re-emits the held minute 5 from the recovered state: same versions, same
    # contents, so the table (after FINAL) and the sums do not change.
    stack.stop_all()
    stack.start_worker("restarted")
    # A worker loads a partition's state at its first record: a tick at the same time
    # (the watermark does not move) makes it recover, and re-emit, every partition.
    stack.produce_ticks(Domain.TRAFFIC, b + 9 * MIN)
    minute5 = {k for k, r in latest(first_run).items() if to_ms(r.window_start) == b + 5 * MIN}
    assert len(minute5) == 2

    def re_emitted() -> list[DataQualityRecord]:
        again = [r for r in dq_records(stack) if r.key in minute5]
        return again if len(again) >= 2 * len(minute5) else []

    again = stack.wait_for(re_emitted, 60, "the restarted worker's re-emission", interval_s=0.5)
    first = {(r.key, r.version): r for r in first_run}
    for record in again:
        assert first.get((record.key, record.version)) == record, "a re-emission changed content"

    # The re-emissions, and the whole topic once more through a new sink group.
    sink_everything(f"dq-sink-{unique}")
    assert by_source(database, clickhouse) == expected_by_source
    sink_everything(f"dq-replay-{unique}")
    raw = clickhouse.execute(f"SELECT count() FROM {database}.dq")[0][0]
    final = clickhouse.execute(f"SELECT count() FROM {database}.dq FINAL")[0][0]
    assert int(raw) > int(final) == expected_keys, "the replay wrote its rows again (collapsed)"
    assert by_source(database, clickhouse) == expected_by_source
    assert by_reason(database, clickhouse) == expected_reasons
