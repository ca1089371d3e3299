"""Drive a real sink against the real broker and a real ClickHouse, on per-test names."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

from connectors.sinks.clickhouse.metrics import SinkMetrics
from connectors.sinks.clickhouse.sink import ClickHouseSink, SinkConfig
from connectors.sinks.clickhouse.writer import TableWriter
from ioc.kafka_client import kafka_client_options
from ioc.ops.db.executors import clickhouse_client
from ioc.ops.kafka_admin import admin_client, ensure_topics
from ioc.settings import Settings
from schemas.base import Contract, Event
from schemas.results import Anomaly, DeadLetter, KpiRecord
from schemas.timeutil import to_ms
from schemas.topics import TopicSpec, registry


def unique_topics(settings: Settings, suffix: str) -> dict[str, TopicSpec]:
    """The registry under per-test names, created on the broker: {registry name: spec}."""
    specs = {s.name: dataclasses.replace(s, name=f"{s.name}.t-{suffix}") for s in registry(30)}
    admin = admin_client(settings)
    try:
        ensure_topics(admin, specs.values(), profile="dev", replication_factor=1)
    finally:
        admin.close()
    return specs


def record_key_and_time(value: Contract) -> tuple[bytes, int]:
    if isinstance(value, Event):
        return value.key.encode(), to_ms(value.event_time)
    if isinstance(value, KpiRecord):
        return value.key.encode(), to_ms(value.window_start)
    if isinstance(value, Anomaly):
        return value.anomaly_id.encode(), to_ms(value.updated_at)
    if isinstance(value, DeadLetter):
        return value.source_topic.encode(), to_ms(value.failed_at)
    raise TypeError(type(value))


def produce(settings: Settings, topic: str, values: Iterable[Contract | bytes]) -> int:
    """Write records (contracts as JSON, or raw bytes as another tool would); return count."""
    producer = KafkaProducer(**kafka_client_options(settings), acks="all", linger_ms=5)
    n = 0
    for value in values:
        if isinstance(value, bytes):
            producer.send(topic, key=b"garbage", value=value)
        else:
            key, ts = record_key_and_time(value)
            producer.send(topic, key=key, value=value.model_dump_json().encode(), timestamp_ms=ts)
        n += 1
    producer.flush(30)
    producer.close()
    return n


def end_offsets(settings: Settings, topics: list[str]) -> dict[tuple[str, int], int]:
    """{(topic, partition): end offset} of every non-empty partition."""
    consumer = KafkaConsumer(**kafka_client_options(settings))
    try:
        partitions = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        ends = consumer.end_offsets(partitions)
    finally:
        consumer.close()
    return {(tp.topic, tp.partition): o for tp, o in ends.items() if o > 0}


def group_offsets(
    settings: Settings, group: str, partitions: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    """{(topic, partition): committed offset} of a consumer group, where it committed."""
    consumer = KafkaConsumer(
        **kafka_client_options(settings), group_id=group, enable_auto_commit=False
    )
    try:
        found = {tp: consumer.committed(TopicPartition(*tp)) for tp in partitions}
    finally:
        consumer.close()
    return {tp: offset for tp, offset in found.items() if offset is not None}


def make_output(
    settings: Settings,
    specs: dict[str, TopicSpec],
    database: str,
    group: str,
    *,
    max_rows: int = 5_000,
    max_age_s: float = 0.3,
) -> ClickHouseSink:
    """A sink as ``ioc sink`` wires it: the sink's user, over TLS (``settings`` says where)."""
    client = clickhouse_client(settings, role="sink", connect_timeout=2, send_receive_timeout=10)
    config = SinkConfig(
        kafka=kafka_client_options(settings),
        group_id=group,
        batch_max_rows=max_rows,
        batch_max_age_s=max_age_s,
        backoff_initial_s=0.2,
        backoff_max_s=1.0,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        max_poll_interval_ms=settings.consumer_max_poll_interval_ms,
        client_id=f"sink-{group}",
    )
    topics = {spec.name: spec.value for spec in specs.values()}
    return ClickHouseSink(
        config, TableWriter(client, database), topics, SinkMetrics(CollectorRegistry())
    )


def drive(
    sink: ClickHouseSink,
    done: Callable[[], bool],
    timeout_s: float = 60,
    during: Callable[[float], Any] | None = None,
) -> bool:
    """Run the sink until ``done()`` holds with nothing buffered, or the deadline passes.

    ``during(elapsed)`` is called between steps (e.g. to stop a server mid-run).
    """

    async def main() -> bool:
        await sink.start()
        started = time.monotonic()
        try:
            while time.monotonic() - started < timeout_s:
                await sink.step()
                if during is not None:
                    await asyncio.to_thread(during, time.monotonic() - started)
                if sink.idle and await asyncio.to_thread(done):
                    return True
            return False
        finally:
            await sink.consumer.stop()

    return asyncio.run(main())
