"""Output throughput: pre-load N traffic events into a fresh topic, then time the sink.

Only the sink is timed (consume → decode → columnar insert → commit), from its
start until the last row is in ClickHouse; producing the load is not counted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

from connectors.sinks.clickhouse.metrics import SinkMetrics
from ioc.kafka_client import kafka_client_options
from ioc.ops.db.executors import ClickHouseExecutor
from ioc.ops.db.migrate import migrate
from ioc.ops.kafka_admin import admin_client, ensure_topics
from ioc.settings import Settings
from ioc.wiring.sink import build_sink
from schemas.events import TrafficObservation
from schemas.timeutil import to_ms
from schemas.topics import TRAFFIC_OBS, registry


@dataclass(frozen=True, slots=True)
class SinkLoadResult:
    rows: int
    produce_s: float
    sink_s: float

    @property
    def rows_per_s(self) -> float:
        """Rows written per second by the sink."""
        return self.rows / self.sink_s


async def _produce(settings: Settings, topic: str, rows: int) -> float:
    producer = AIOKafkaProducer(
        **kafka_client_options(settings),
        acks="all",
        linger_ms=20,
        max_batch_size=1_048_576,
        compression_type=None,
    )
    await producer.start()
    started = time.perf_counter()
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    try:
        pending = []
        for i in range(rows):
            event = TrafficObservation(
                source="bench",
                sensor_id=f"TS-{i % 400:04d}",
                segment_id=f"SEG-{i % 40:03d}",
                observed_at=t0 + timedelta(seconds=i // 400),
                period_s=60,
                intensity=i % 90,
                average_speed_kmh=20 + i % 50,
                occupancy=(i % 100) / 100,
            )
            pending.append(
                await producer.send(
                    topic,
                    event.to_json(),
                    key=event.key.encode(),
                    timestamp_ms=to_ms(event.observed_at),
                )
            )
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def _drain(
    settings: Settings, topic: str, database: str, rows: int, executor: ClickHouseExecutor
) -> float:
    sink = build_sink(
        settings, SinkMetrics(CollectorRegistry()), topics={topic: TrafficObservation}
    )
    await sink.start()
    started = time.perf_counter()
    try:
        while True:
            await sink.step()
            if sink.idle and sum(sink.committed.values()) >= rows:
                break
    finally:
        await sink.consumer.stop()
    elapsed = time.perf_counter() - started
    written = int(executor.execute(f"SELECT count() FROM {database}.events_traffic")[0][0])
    if written != rows:
        raise RuntimeError(f"expected {rows} rows in ClickHouse, found {written}")
    return elapsed


def run(settings: Settings, rows: int = 1_000_000) -> SinkLoadResult:
    """Load ``rows`` traffic events and time the sink writing them; a fresh topic and database."""
    tag = uuid.uuid4().hex[:8]
    database = f"ioc_bench_{tag}"
    spec = next(s for s in registry(settings.replay_horizon_days) if s.name == TRAFFIC_OBS)
    spec = dataclasses.replace(spec, name=f"{TRAFFIC_OBS}.bench-{tag}")
    admin = admin_client(settings)
    try:
        ensure_topics(admin, [spec], profile=settings.partition_profile, replication_factor=1)
    finally:
        admin.close()
    executor = ClickHouseExecutor.from_settings(settings)
    migrate(executor, database, cluster=settings.clickhouse_cluster)
    produce_s = asyncio.run(_produce(settings, spec.name, rows))
    bench_settings = settings.model_copy(
        update={"clickhouse_database": database, "sink_group_id": f"ioc-sink-bench-{tag}"}
    )
    try:
        sink_s = asyncio.run(_drain(bench_settings, spec.name, database, rows, executor))
    finally:
        executor.execute(f"DROP DATABASE IF EXISTS {database}")
        executor.close()
    return SinkLoadResult(rows, produce_s, sink_s)
