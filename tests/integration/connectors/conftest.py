"""Connector tests against the real stack: per-test topics, a loop thread, Kafka read-back."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

import orjson
import paho.mqtt.client as mqtt
import psycopg
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.partitioner.default import murmur2

from connectors.sources.edge import STREAMS, TopicRoutes
from connectors.sources.mqtt.security import TEST_ACCOUNT, make_client
from ioc.kafka_client import kafka_client_options
from ioc.ops.kafka_admin import admin_client, ensure_topics
from ioc.settings import Settings
from ioc.wiring import connectors as wire
from ioc.wiring.connectors import device_login
from schemas.topics import DEADLETTER, registry
from tests.integration.conftest import require_port

T = TypeVar("T")


class LoopThread:
    """An asyncio loop in a thread, so sync tests (and hypothesis) drive async connectors."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


@pytest.fixture
def suffix(unique: str) -> str:
    return f".test-{unique}"


@pytest.fixture
def routes(kafka_ready: Settings, suffix: str) -> Iterator[TopicRoutes]:
    """The four event topics and the dead-letter topic under unique names, created as in
    prod, and deleted afterwards so the shared broker does not fill up with test topics."""
    wanted = {s.topic for s in STREAMS.values()} | {DEADLETTER}
    specs = [dataclasses.replace(s, name=s.name + suffix) for s in registry(30) if s.name in wanted]
    admin = admin_client(kafka_ready)
    try:
        ensure_topics(admin, specs, profile="dev", replication_factor=1)
        yield TopicRoutes.default(suffix)
        leftover = [t for t in admin.list_topics() if t.endswith(suffix)]
        if leftover:
            admin.delete_topics(leftover)
    finally:
        admin.close()


def count_records(settings: Settings, topic: str) -> int:
    """Records in a topic (end minus beginning offsets: no compaction, no transactions)."""
    consumer = KafkaConsumer(**kafka_client_options(settings))
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        ends, starts = consumer.end_offsets(tps), consumer.beginning_offsets(tps)
        return sum(ends[tp] - starts[tp] for tp in tps)
    finally:
        consumer.close()


@pytest.fixture
def conn_settings(settings: Settings, suffix: str) -> Settings:
    """Test settings whose connectors write to this test's topics."""
    return settings.model_copy(update={"connector_topic_suffix": suffix})


def read_topic(settings: Settings, topic: str, timeout_s: float = 30) -> list[ConsumerRecord]:
    """Every record of a topic, from the beginning to the end offsets seen now."""
    consumer = KafkaConsumer(**kafka_client_options(settings), enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, f"reading {topic} timed out"
            for batch in consumer.poll(timeout_ms=500).values():
                records += batch
        return records
    finally:
        consumer.close()


def values(records: list[ConsumerRecord]) -> list[dict[str, Any]]:
    return [orjson.loads(r.value) for r in records]


def assert_murmur2_partitioning(records: list[ConsumerRecord], partitions: int) -> None:
    """Kafka's default partitioner: partition = (murmur2(key) & 0x7fffffff) % partitions."""
    assert records
    for record in records:
        assert record.key is not None
        expected = (murmur2(record.key) & 0x7FFFFFFF) % partitions
        assert record.partition == expected, (record.key, record.partition, expected)


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll a condition with an explicit deadline (never a bare sleep as synchronisation)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def counter(registry: Any, name: str, **labels: str) -> float:
    """A sample's value from a connector's registry (0 when absent)."""
    value = registry.get_sample_value(name, labels)
    return float(value or 0.0)


@pytest.fixture
def mqtt_settings(conn_settings: Settings, unique: str) -> Settings:
    return conn_settings.model_copy(
        update={
            "mqtt_client_id": f"ioc-bridge-{unique}",
            "mqtt_traffic_topics": f"it/{unique}/traffic/+/obs",
            "mqtt_energy_topics": f"it/{unique}/energy/+/reading",
        }
    )


@pytest.fixture
def publisher(settings: Settings, unique: str) -> Iterator[mqtt.Client]:
    # ioc-test: the local account that may publish anything under it/ (decision 0033).
    client = make_client(device_login(settings, TEST_ACCOUNT), f"pub-{unique}")
    client.connect("127.0.0.1", settings.mosquitto_port)
    client.loop_start()
    yield client
    client.loop_stop()
    client.disconnect()


@pytest.fixture
def pg_settings(conn_settings: Settings, unique: str) -> Iterator[Settings]:
    """A dossier schema and a position schema of this test, prepared as init-db does."""
    require_port(conn_settings, "postgres", conn_settings.postgres_port)
    schema = f"it_{unique}"
    settings = conn_settings.model_copy(
        update={
            "outbox_schema": schema,
            "outbox_position_schema": f"{schema}_position",
            "outbox_consumer": f"it-{unique}",
            "outbox_poll_interval_s": 0.05,
            "outbox_batch_size": 50,
        }
    )
    wire.prepare_outbox_db(settings)  # as init-db: the tables, the poller's rights
    yield settings
    with psycopg.connect(**wire.pg_conninfo(settings), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema}, {schema}_position CASCADE")
