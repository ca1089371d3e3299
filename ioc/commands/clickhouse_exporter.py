"""``ioc clickhouse-exporter``: ClickHouse's system tables as Prometheus metrics."""

from __future__ import annotations

import signal
import threading

import typer

from ioc.settings import Settings


def clickhouse_exporter_command(ctx: typer.Context) -> None:
    """Serve ClickHouse's metrics on IOC_CLICKHOUSE_METRICS_PORT (ioc/ops/db/exporter.py)."""
    from prometheus_client import CollectorRegistry

    from ioc import process
    from ioc.ops.db.executors import ClickHouseExecutor, clickhouse_client
    from ioc.ops.db.exporter import ClickHouseCollector

    settings = ctx.obj
    assert isinstance(settings, Settings)
    process.configure_logging(settings)
    # Short timeouts: a hung server (SIGSTOP, a full disk) must give clickhouse_up 0
    # well within Prometheus's scrape timeout, not a scrape that times out.
    collector = ClickHouseCollector(
        lambda: ClickHouseExecutor(
            # "system": all it reads, and open to a confined user whether or not the
            # pipeline's database exists yet.
            clickhouse_client(
                settings,
                role="reader",
                database="system",
                connect_timeout=2,
                send_receive_timeout=3,
            )
        )
    )
    registry = CollectorRegistry()
    registry.register(collector)
    process.expose_metrics(settings, settings.clickhouse_metrics_port, registry)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    collector.close()
