"""Settings -> the ClickHouse sink."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.sinks.clickhouse.metrics import SinkMetrics
from connectors.sinks.clickhouse.rows import TOPIC_MODELS
from connectors.sinks.clickhouse.sink import ClickHouseSink, SinkConfig
from connectors.sinks.clickhouse.writer import TableWriter
from ioc.kafka_client import kafka_client_options
from ioc.ops.db.executors import clickhouse_client
from ioc.settings import Settings
from schemas.base import Contract


def build_sink(
    settings: Settings,
    metrics: SinkMetrics | None = None,
    topic_suffix: str = "",
    topics: Mapping[str, type[Contract]] | None = None,
) -> ClickHouseSink:
    """Every registry topic (named with ``topic_suffix``), or ``topics``, into ClickHouse."""
    client = clickhouse_client(settings, role="sink", connect_timeout=3, send_receive_timeout=30)
    config = SinkConfig(
        kafka=kafka_client_options(settings),
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
        topics or {name + topic_suffix: model for name, model in TOPIC_MODELS.items()},
        metrics or SinkMetrics(),
    )
