"""Topics from the registry on the real broker, and a keyed event through every one."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient

from ioc.kafka_client import kafka_client_options
from ioc.ops.kafka_admin import admin_client, ensure_topics
from ioc.settings import Settings
from schemas.base import Event
from schemas.results import Anomaly, DataQualityRecord, DeadLetter, KpiRecord
from schemas.timeutil import to_ms
from schemas.topics import TopicSpec, registry
from tests.factories import sample_for

pytestmark = pytest.mark.integration


@pytest.fixture
def admin(kafka_ready: Settings) -> Iterator[KafkaAdminClient]:
    client = admin_client(kafka_ready)
    yield client
    client.close()


@pytest.fixture
def test_specs(unique: str) -> list[TopicSpec]:
    """The registry under per-test names, so tests never share topics."""
    return [dataclasses.replace(s, name=f"{s.name}.test-{unique}") for s in registry(30)]


def key_and_time(value: object) -> tuple[str, int]:
    if isinstance(value, Event):
        return value.key, to_ms(value.event_time)
    if isinstance(value, KpiRecord):
        return value.key, to_ms(value.window_start)
    if isinstance(value, Anomaly):
        return value.anomaly_id, to_ms(value.updated_at)
    if isinstance(value, DeadLetter):
        return value.source_topic, to_ms(value.failed_at)
    if isinstance(value, DataQualityRecord):
        return value.key, to_ms(value.window_start)
    raise AssertionError(type(value))


def test_ensure_topics_is_idempotent_and_matches_registry(
    admin: KafkaAdminClient, test_specs: list[TopicSpec]
) -> None:
    first = ensure_topics(admin, test_specs, profile="dev", replication_factor=1)
    assert {r.action for r in first} == {"created"}
    second = ensure_topics(admin, test_specs, profile="dev", replication_factor=1)
    assert {r.name: r.action for r in second} == {s.name: "ok" for s in test_specs}

    described = {
        t["name"]: len(t["partitions"]) for t in admin.describe_topics([s.name for s in test_specs])
    }
    assert described == {s.name: s.partitions_dev for s in test_specs}

    # A drifted retention is put back; a drifted partition count is reported, not changed.
    kpi_spec = next(s for s in test_specs if s.name.startswith("ioc.kpi.v1"))
    drifted = dataclasses.replace(kpi_spec, retention_ms=1_000)
    assert (
        ensure_topics(admin, [drifted], profile="dev", replication_factor=1)[0].action == "altered"
    )
    assert ensure_topics(admin, [drifted], profile="dev", replication_factor=1)[0].action == "ok"
    more = dataclasses.replace(kpi_spec, partitions_dev=5)
    assert (
        ensure_topics(admin, [more], profile="dev", replication_factor=1)[0].action
        == "partition-mismatch"
    )


def test_keyed_event_round_trips_on_every_topic(
    admin: KafkaAdminClient, test_specs: list[TopicSpec], settings: Settings
) -> None:
    ensure_topics(admin, test_specs, profile="dev", replication_factor=1)
    producer = KafkaProducer(**kafka_client_options(settings), acks="all")
    sent: dict[str, tuple[str, int, bytes]] = {}
    for spec in test_specs:
        value = sample_for(spec.value)
        key, ts = key_and_time(value)
        payload = value.model_dump_json().encode()
        producer.send(spec.name, key=key.encode(), value=payload, timestamp_ms=ts).get(timeout=30)
        sent[spec.name] = (key, ts, payload)
    producer.close()

    consumer = KafkaConsumer(**kafka_client_options(settings), enable_auto_commit=False)
    partitions = [TopicPartition(s.name, p) for s in test_specs for p in range(s.partitions_dev)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    got: dict[str, tuple[str, int, bytes]] = {}
    deadline = time.monotonic() + 30
    while len(got) < len(test_specs) and time.monotonic() < deadline:
        for tp, records in consumer.poll(timeout_ms=500).items():
            for record in records:
                got[tp.topic] = (record.key.decode(), record.timestamp, record.value)
    consumer.close()
    assert got == sent


def test_cli_topics_create_twice(kafka_ready: Settings) -> None:
    """`ioc topics create` on the real registry names: the second run reports only `ok`."""
    cmd = [sys.executable, "-m", "ioc", "topics", "create"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == 0, first.stdout + first.stderr
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert second.returncode == 0, second.stdout + second.stderr
    for spec in registry(30):
        line = next(line for line in second.stdout.splitlines() if spec.name in line)
        assert " ok " in f" {line} ", line
    assert "created" not in second.stdout


def test_a_topic_created_by_someone_else_meanwhile_is_not_an_error(
    admin: KafkaAdminClient, test_specs: list[TopicSpec]
) -> None:
    """Two workers starting together both see a topic missing; the second to create it
    must carry on (it exited with TopicAlreadyExistsError before)."""
    first = test_specs[0]
    ensure_topics(admin, [first], profile="dev", replication_factor=1)  # "the other worker"

    class StaleView:
        """The admin client as the second worker saw it: the topic not there yet."""

        def __init__(self) -> None:
            self.stale = True

        def list_topics(self) -> list[str]:
            names = admin.list_topics()
            if self.stale:
                self.stale = False
                return [n for n in names if n != first.name]
            return names

        def __getattr__(self, name: str) -> object:
            return getattr(admin, name)

    results = ensure_topics(StaleView(), [first], profile="dev", replication_factor=1)  # type: ignore[arg-type]
    assert [(r.name, r.action) for r in results] == [(first.name, "ok")]
