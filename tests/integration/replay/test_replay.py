"""Replay on the real stack: rebuild, copy and reset leave what panels read unchanged."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from ioc.kafka_client import kafka_client_options
from ioc.ops.kafka_admin import admin_client
from schemas.topics import KPI, TRAFFIC_OBS
from tests.integration.replay.conftest import KPI_TABLES, Pipeline, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.scenario_date]


def _range(p: Pipeline) -> tuple[str, str, object, object]:
    """--from/--to of the rebuilds (22:00 → 02:00), and the window starts compared.

    Compared from a day earlier: the dossier day that closes at midnight starts then.
    """
    lo, hi = p.start + timedelta(hours=4), p.end
    return lo.isoformat(), hi.isoformat(), lo - timedelta(days=1), hi


def _views(p: Pipeline, lo: object, hi: object, db: str | None = None) -> dict[str, dict]:
    return {t: p.live(t, lo, hi, db) for t in KPI_TABLES}  # type: ignore[arg-type]


def _generation(output: str) -> int:
    found = re.search(r"generation (\d+)", output)
    assert found, output
    return int(found.group(1))


def test_rebuild_in_place_and_promoted_keeps_what_panels_read(pipeline: Pipeline) -> None:
    start, end, lo, hi = _range(pipeline)
    before = _views(pipeline, lo, hi)
    assert all(before[t] for t in KPI_TABLES), {t: len(v) for t, v in before.items()}

    dry = pipeline.ioc("replay", "rebuild", "--from", start, "--to", end, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "nothing written" in dry.stdout

    run = pipeline.ioc("replay", "rebuild", "--from", start, "--to", end, "--promote", "--execute")
    assert run.returncode == 0, run.stdout + run.stderr
    generation = _generation(run.stdout)
    assert "promoted" in run.stdout

    after = _views(pipeline, lo, hi)
    for table in KPI_TABLES:
        assert after[table] == before[table], table
    for table in KPI_TABLES:  # the panels really read the rebuild, dossiers included
        gens = pipeline.client().execute(
            f"SELECT generation, count() FROM {pipeline.db}.{table} FINAL GROUP BY generation"
        )
        assert dict(gens).get(generation, 0) > 0, (table, gens)
    # The alerter follows live generations only: the rebuild's anomalies page nobody.
    live = pipeline.client().execute(f"SELECT generation FROM {pipeline.db}.live_generation")
    assert live == [(1,)]
    snap = re.search(r"(\d+) open dossiers from the snapshot", run.stdout)
    assert snap, run.stdout
    assert int(snap.group(1)) > 0, run.stdout


def test_rebuild_into_separate_database_equals_the_original(pipeline: Pipeline) -> None:
    start, end, lo, hi = _range(pipeline)
    other = pipeline.db + "_cmp"
    run = pipeline.ioc(
        "replay", "rebuild", "--from", start, "--to", end, "--into-database", other, "--execute"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    original, rebuilt = _views(pipeline, lo, hi), _views(pipeline, lo, hi, db=other)
    for table in KPI_TABLES:
        assert rebuilt[table], table
        # Every window the rebuild wrote equals the original (it writes only complete,
        # final windows of the range; the original also has the hours before it).
        assert rebuilt[table] == {k: original[table].get(k) for k in rebuilt[table]}, table
    assert sum(len(v) for v in rebuilt.values()) > 1_000


def test_copy_keeps_count_keys_partitions_and_timestamps(pipeline: Pipeline) -> None:
    start, end = (pipeline.start + timedelta(hours=4)).isoformat(), pipeline.end.isoformat()
    lo, hi = pipeline.start + timedelta(hours=4), pipeline.end
    source, into = pipeline.topic(TRAFFIC_OBS), pipeline.topic(TRAFFIC_OBS) + ".copy"
    run = pipeline.ioc("replay", "copy", "--topic", source, "--from", start, "--to", end,
                       "--into", into, "--execute")  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    lo_ms, hi_ms = int(lo.timestamp() * 1000), int(hi.timestamp() * 1000)
    wanted = [r for r in _read(pipeline, source) if lo_ms <= r[4] < hi_ms]
    copied = _read(pipeline, into)
    assert len(wanted) > 1_000
    assert sorted(copied) == sorted(wanted)
    assert f"{len(wanted):,} messages" in run.stdout
    admin = admin_client(pipeline.settings)
    try:
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, into)])
        assert "-1" in str(configs)  # unlimited retention: old timestamps are kept
    finally:
        admin.close()


def _read(p: Pipeline, topic: str) -> list[tuple]:
    """(partition, key, value, headers, timestamp) of every record of a topic."""
    consumer = KafkaConsumer(**kafka_client_options(p.settings), enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, n) for n in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        out: list[tuple] = []
        wait_for(
            lambda: (
                [
                    out.extend(
                        (r.partition, r.key, r.value, tuple(r.headers or ()), r.timestamp)
                        for batch in consumer.poll(timeout_ms=200).values()
                        for r in batch
                    )
                ]
                and all(consumer.position(tp) >= end[tp] for tp in tps)
            ),
            30,
            f"reading {topic}",
        )
        return out
    finally:
        consumer.close()


def test_reset_group_to_a_time_then_rerun_leaves_clickhouse_unchanged(pipeline: Pipeline) -> None:
    start, _, lo, hi = _range(pipeline)
    group, topic = pipeline.sink_group, pipeline.topic(KPI)
    counts = {
        t: pipeline.client().execute(f"SELECT count() FROM {pipeline.db}.{t} FINAL")
        for t in (*KPI_TABLES, "anomalies")
    }
    before = _views(pipeline, lo - timedelta(hours=4), hi + timedelta(hours=2))  # type: ignore[operator]

    # A member in the group: the reset refuses (its commits would undo ours).
    member = KafkaConsumer(topic, **kafka_client_options(pipeline.settings),
                           group_id=group, enable_auto_commit=False, session_timeout_ms=6_000)  # fmt: skip
    try:
        wait_for(lambda: member.poll(timeout_ms=200) is not None and member.assignment(), 30,
                 "the test consumer to join the group")  # fmt: skip
        refused = pipeline.ioc("replay", "reset-group", "--group", group, "--topic", topic,
                               "--to-datetime", start, "--execute")  # fmt: skip
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "member" in refused.stdout
    finally:
        member.close(autocommit=False)

    plan = pipeline.ioc("replay", "reset-group", "--group", group, "--topic", topic,
                        "--to-datetime", start, "--dry-run")  # fmt: skip
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "nothing changed" in plan.stdout
    run = wait_for(
        lambda: (r := pipeline.ioc("replay", "reset-group", "--group", group, "--topic", topic,
                                   "--to-datetime", start, "--execute")).returncode == 0 and r,
        30, "the group to be empty after the test consumer left",
    )  # fmt: skip
    assert "reset on" in run.stdout
    assert not pipeline.caught_up(group, [topic])  # it really moved back

    pipeline.run_sink()
    assert {
        t: pipeline.client().execute(f"SELECT count() FROM {pipeline.db}.{t} FINAL")
        for t in (*KPI_TABLES, "anomalies")
    } == counts
    assert _views(pipeline, lo - timedelta(hours=4), hi + timedelta(hours=2)) == before  # type: ignore[operator]
