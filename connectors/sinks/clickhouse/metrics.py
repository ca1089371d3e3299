"""Prometheus metrics of the sink (names follow Prometheus conventions: unit suffixes)."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram


class SinkMetrics:
    """One set per sink process (a registry per instance keeps tests independent)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = registry if registry is not None else REGISTRY
        self.rows_written = Counter(
            "ioc_sink_rows_written_total", "Rows ClickHouse accepted", ["table"], registry=reg
        )
        self.batch_rows = Histogram(
            "ioc_sink_batch_rows",
            "Rows per flushed batch",
            buckets=(10, 100, 1_000, 5_000, 10_000, 50_000, 100_000, 500_000),
            registry=reg,
        )
        self.insert_seconds = Histogram(
            "ioc_sink_insert_duration_seconds",
            "Duration of one table insert",
            ["table"],
            registry=reg,
        )
        self.retries = Counter(
            "ioc_sink_retries_total", "Flush attempts that failed and will be retried", registry=reg
        )
        self.dead_lettered = Counter(
            "ioc_sink_rows_dead_lettered_total",
            "Records sent to the dead-letter table",
            ["reason"],
            registry=reg,
        )
        self.lag_seconds = Histogram(
            "ioc_sink_event_to_written_seconds",
            "Event time to written in ClickHouse (raw events)",
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3_600),
            registry=reg,
        )
        self.paused = Gauge(
            "ioc_sink_paused",
            "1 while partitions are paused because ClickHouse is failing",
            registry=reg,
        )
        self.committed = Counter(
            "ioc_sink_commits_total", "Offset commits after a successful flush", registry=reg
        )
        self.corrections = Counter(
            "ioc_sink_corrections_total",
            "Late-event corrections: merged into their row, or already taken (duplicate)",
            ["outcome"],
            registry=reg,
        )
        self.erased_dropped = Counter(
            "ioc_sink_erased_rows_dropped_total",
            "Rows not written because their subject is in the erasure register (ioc db erase)",
            ["table"],
            registry=reg,
        )
