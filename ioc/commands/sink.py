"""``ioc sink``: Kafka → ClickHouse."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping

import typer

from connectors.sinks.clickhouse.metrics import SinkMetrics
from connectors.sinks.clickhouse.rows import TOPIC_MODELS
from connectors.sinks.clickhouse.sink import ClickHouseSink, SinkConfig
from connectors.sinks.clickhouse.writer import TableWriter
from ioc.ops.db.executors import clickhouse_client
from ioc.settings import Settings
from ioc.version import serve_metrics
from schemas.base import Contract


def build_sink(
    settings: Settings,
    metrics: SinkMetrics | None = None,
    topics: Mapping[str, type[Contract]] | None = None,
) -> ClickHouseSink:
    """Wire a sink from settings: every registry topic (or ``topics``) into ClickHouse."""
    client = clickhouse_client(settings, connect_timeout=3, send_receive_timeout=30)
    config = SinkConfig(
        bootstrap=settings.kafka_bootstrap,
        group_id=settings.sink_group_id,
        batch_max_rows=settings.sink_batch_max_rows,
        batch_max_age_s=settings.sink_batch_max_age_s,
        backoff_max_s=settings.sink_backoff_max_s,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        max_poll_interval_ms=settings.consumer_max_poll_interval_ms,
    )
    return ClickHouseSink(
        config,
        TableWriter(client, settings.clickhouse_database),
        TOPIC_MODELS if topics is None else topics,
        metrics or SinkMetrics(),
    )


async def _serve(sink: ClickHouseSink) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, sink.request_stop)
    await sink.start()
    await sink.run()


def sink_command(ctx: typer.Context) -> None:
    """Consume the event, KPI, anomaly and dead-letter topics into ClickHouse."""
    settings = ctx.obj
    assert isinstance(settings, Settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    serve_metrics(settings.sink_metrics_port, addr="127.0.0.1")
    asyncio.run(_serve(build_sink(settings)))
