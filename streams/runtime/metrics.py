"""/metrics of a worker (docs/architecture.md, "Observability"), on a registry of its own.

A registry per worker object (not the process-global default) so tests can build
several apps in one process without "duplicated timeseries" errors.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from streams import dq

if TYPE_CHECKING:
    from streams.engine import Outputs, PartitionEngine


class StreamMetrics:
    """Counters and gauges of the stream workers."""

    DQ_EVERY_S = 5.0
    """Data-quality gauges scan a partition's state: refreshed at most this often."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._dq_refreshed: dict[tuple[str, int], float] = {}
        r = self.registry
        self.records = Counter(
            "ioc_stream_records_total",
            "Source records by outcome (applied, late, duplicate, invalid, control)",
            ["stream", "outcome"],
            registry=r,
        )
        self.deadletters = Counter(
            "ioc_stream_deadletters_total",
            "Dead-lettered records",
            ["stream", "reason"],
            registry=r,
        )
        self.kpis = Counter(
            "ioc_stream_kpi_records_total", "KPI records emitted", ["domain", "window"], registry=r
        )
        self.rewinds = Counter(
            "ioc_stream_rewinds_total",
            "Partitions sought back to the record their state was owed (streams.runtime.resume)",
            ["stream"],
            registry=r,
        )
        self.stalls = Counter(
            "ioc_stream_stalled_partitions_total",
            "Partitions with records beyond their state and none handed over for "
            "streams.runtime.resume.STALL_S seconds, sought back",
            ["stream"],
            registry=r,
        )
        self.dq_records = Counter(
            "ioc_stream_dq_records_total",
            "Per-minute data-quality records emitted (ioc.dq.v1)",
            ["stream"],
            registry=r,
        )
        self.anomalies = Counter(
            "ioc_stream_anomaly_updates_total",
            "Anomaly updates emitted",
            ["domain", "severity", "state"],
            registry=r,
        )
        self.batch_seconds = Histogram(
            "ioc_stream_batch_seconds",
            "Time to process, deliver and persist one batch",
            ["stream"],
            registry=r,
        )
        self.watermark_delay = Gauge(
            "ioc_stream_watermark_delay_seconds",
            "Wall clock minus (watermark + allowed lateness), per partition",
            ["stream", "partition"],
            registry=r,
        )
        self.lag = Gauge(
            "ioc_stream_consumer_lag",
            "Records waiting, per partition",
            ["stream", "partition"],
            registry=r,
        )
        self.ticks = Counter(
            "ioc_stream_control_ticks_total", "Control ticks produced", ["stream"], registry=r
        )
        self.send_errors = Counter(
            "ioc_stream_send_errors_total",
            "Failed sends of results or state (retried)",
            ["stream", "what"],
            registry=r,
        )
        self.dq_events = Gauge(
            "ioc_dq_events", "Events per source", ["stream", "partition", "source"], registry=r
        )
        self.dq_late = Gauge(
            "ioc_dq_late", "Late events per source", ["stream", "partition", "source"], registry=r
        )
        self.dq_duplicates = Gauge(
            "ioc_dq_duplicates",
            "Duplicate events per source",
            ["stream", "partition", "source"],
            registry=r,
        )
        self.dq_invalid = Gauge(
            "ioc_dq_invalid",
            "Invalid (dead-lettered) records per source and reason",
            ["stream", "partition", "source", "reason"],
            registry=r,
        )
        self.dq_last_seen = Gauge(
            "ioc_dq_last_seen_timestamp_seconds",
            "Event time of the newest event per source",
            ["stream", "partition", "source"],
            registry=r,
        )

    def observe_batch(
        self,
        stream: str,
        out: Outputs,
        engines: Mapping[int, PartitionEngine],
        seconds: float,
    ) -> None:
        """Count a processed batch."""
        self.batch_seconds.labels(stream).observe(seconds)
        for outcome, n in out.outcomes.items():
            self.records.labels(stream, outcome).inc(n)
        for letter in out.dead_letters:
            self.deadletters.labels(stream, letter.reason).inc()
        for kpi in out.kpis:
            self.kpis.labels(kpi.domain.value, kpi.window.value).inc()
        if out.dq:
            self.dq_records.labels(stream).inc(len(out.dq))
        for anomaly in out.anomalies:
            self.anomalies.labels(
                anomaly.domain.value, anomaly.severity.value, anomaly.state.value
            ).inc()
        now = time.time()
        for partition, engine in engines.items():
            p = str(partition)
            meta_max = engine.state.meta.get("max")
            if meta_max is not None:
                self.watermark_delay.labels(stream, p).set(now - int(meta_max) / 1000)
            if now - self._dq_refreshed.get((stream, partition), 0.0) < self.DQ_EVERY_S:
                continue
            self._dq_refreshed[(stream, partition)] = now
            for c in dq.counters(engine.state):
                self.dq_events.labels(stream, p, c.source).set(c.events)
                self.dq_late.labels(stream, p, c.source).set(c.late)
                self.dq_duplicates.labels(stream, p, c.source).set(c.duplicates)
                for reason, n in c.invalid.items():
                    self.dq_invalid.labels(stream, p, c.source, reason).set(n)
                if c.last_seen_ms is not None:
                    self.dq_last_seen.labels(stream, p, c.source).set(c.last_seen_ms / 1000)
