"""Prometheus metrics of the alerter (deploy/prometheus/rules alert on them)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class AlerterMetrics:
    """One set per alerter (a registry per instance keeps tests independent)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.records = Counter(
            "ioc_alerter_records_total",
            "Anomaly records read, by outcome (applied, ignored, invalid, tombstone, control)",
            ["outcome"],
            registry=r,
        )
        self.posts = Counter(
            "ioc_alerter_posts_total",
            "POSTs to Alertmanager, by outcome (ok, failed, rejected, unauthorized)",
            ["outcome"],
            registry=r,
        )
        self.alerts_sent = Counter(
            "ioc_alerter_alerts_sent_total",
            "Alerts Alertmanager accepted, by state (firing, resolved)",
            ["state"],
            registry=r,
        )
        self.firing = Gauge("ioc_alerter_firing_alerts", "Alerts currently firing", registry=r)
        self.pending = Gauge(
            "ioc_alerter_pending_alerts",
            "Alerts due but not yet accepted by Alertmanager (grows while it is down)",
            registry=r,
        )
        self.last_success = Gauge(
            "ioc_alerter_last_post_success_timestamp_seconds",
            "Wall clock of the last POST Alertmanager accepted",
            registry=r,
        )
        self.live_generation = Gauge(
            "ioc_alerter_live_generation", "The generation whose anomalies are posted", registry=r
        )
        self.ready = Gauge(
            "ioc_alerter_ready", "1 once the start-up replay of the topic is done", registry=r
        )
        self.replayed = Gauge(
            "ioc_alerter_replayed_records", "Records read by the start-up replay", registry=r
        )
