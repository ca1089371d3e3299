"""`ioc simulate --to kafka` against the real broker: counts reconcile exactly.

The command runs as a subprocess on per-test topics (``--topic-suffix``); the same
configuration is re-run in-process into memory (the simulator is deterministic), and
Kafka must hold exactly those events: same count per stream, same event ids, keyed by
group, stamped with event time, on the murmur2 partition of the key, no raw PII.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.partitioner.default import murmur2

from ioc.kafka_client import kafka_client_options
from ioc.ops.kafka_admin import admin_client
from ioc.settings import PROJECT_ROOT, Settings
from ioc.tooling.simulator import MemoryOutput, Simulation, SimulationConfig, run
from schemas.codec import decode
from schemas.privacy import PiiHasher, normalise_identifier
from schemas.province.loading import load_profile
from schemas.timeutil import to_ms
from schemas.topics import EVENT_TOPICS
from tests.unit.simulator.rules import leaked

pytestmark = pytest.mark.integration

START = "2026-11-02T07:00:00+07:00"
PERIOD = timedelta(minutes=30)
KEY = "integration-test-key"
KEY_ID = "kint"


@pytest.fixture
def admin(kafka_ready: Settings) -> Iterator[KafkaAdminClient]:
    client = admin_client(kafka_ready)
    yield client
    client.close()


def expected_events(seed: int) -> tuple[Simulation, list[tuple[str, object]]]:
    start = datetime.fromisoformat(START)
    config = SimulationConfig(
        profile=load_profile(),
        seed=seed,
        start=start,
        end=start + PERIOD,
        injections_per_week=400.0,
        remember_identities=True,
    )
    sim = Simulation(config, PiiHasher(KEY.encode(), KEY_ID))
    sink = MemoryOutput()
    asyncio.run(run(sim, sink))
    return sim, sink.events  # type: ignore[return-value]


def read_all(settings: Settings, topic: str, timeout_s: float = 60) -> tuple[list, int]:  # type: ignore[type-arg]
    """Every record of a topic, and its partition count."""
    consumer = KafkaConsumer(
        **kafka_client_options(settings),
        enable_auto_commit=False,
        consumer_timeout_ms=1_000,
    )
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        records = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            assert time.monotonic() < deadline, f"timed out reading {topic}"
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records, len(parts)
    finally:
        consumer.close()


def test_simulate_to_kafka_reconciles_exactly(
    admin: KafkaAdminClient,
    kafka_ready: Settings,
    unique: str,
    tmp_path: object,
    request: pytest.FixtureRequest,
) -> None:
    seed = int(unique[:6], 16)  # a seed of its own: nothing else writes these events
    suffix = f".test-{unique}"
    names = [f"{topic}{suffix}" for topic in EVENT_TOPICS]
    request.addfinalizer(lambda: admin.delete_topics(names))

    env = {**os.environ, "IOC_PII_HMAC_KEY": KEY, "IOC_PII_KEY_ID": KEY_ID}
    truth = f"{tmp_path}/truth.csv"
    result = subprocess.run(
        [
            sys.executable, "-m", "ioc", "simulate", "--to", "kafka", "--seed", str(seed),
            "--start", START, "--period", "30m", "--fast", "--injections-per-week", "400",
            "--topic-suffix", suffix, "--create-topics", "--truth", truth, "--batch-size", "500",
        ],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr

    sim, expected = expected_events(seed)
    sent = Counter(topic for topic, _ in expected)
    assert set(sent) == set(EVENT_TOPICS), "every stream has events in the half hour"
    raw = {
        s.encode()
        for value in sim.identities.raw_values_used()
        for s in (value, normalise_identifier(value))
    }
    assert raw
    everything = []
    for topic, model in EVENT_TOPICS.items():
        records, partitions = read_all(kafka_ready, f"{topic}{suffix}")
        assert partitions == 3
        assert len(records) == sent[topic], topic
        want = {e.event_id for t, e in expected if t == topic}  # type: ignore[attr-defined]
        events = [decode(model, r.value, strict=True) for r in records]
        assert {e.event_id for e in events} == want, topic  # type: ignore[attr-defined]
        for record, event in zip(records, events, strict=True):
            key = event.key  # type: ignore[attr-defined]
            assert record.key == key.encode()
            assert record.timestamp == to_ms(event.event_time)  # type: ignore[attr-defined]
            assert record.partition == (murmur2(record.key) & 0x7FFFFFFF) % partitions
            everything.append(record.value)
    assert not leaked(b"\n".join(everything), raw), "raw PII in Kafka"
    assert f"{sum(sent.values()):,}" in result.stdout


def test_missing_topics_are_refused_before_simulating(kafka_ready: Settings, unique: str) -> None:
    result = subprocess.run(
        [
            sys.executable, "-m", "ioc", "simulate", "--to", "kafka", "--period", "10m",
            "--fast", "--topic-suffix", f".absent-{unique}",
        ],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "missing topics" in result.stdout
    assert "--create-topics" in result.stdout
