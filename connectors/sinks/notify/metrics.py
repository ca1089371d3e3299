"""Prometheus metrics of ``ioc notify`` (served on its own port, beside the webhook)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

DELIVERY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
"""Seconds: a direct send takes well under one; a retried one waits up to minutes."""


class NotifyMetrics:
    """One set per process (a registry per instance keeps tests independent)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "ioc_notify_requests_total",
            "Webhook POSTs from Alertmanager, by outcome "
            "(accepted, invalid, too_large, queue_full, stopping)",
            ["outcome"],
            registry=r,
        )
        self.sent = Counter(
            "ioc_notify_sent_total",
            "Messages by channel and final outcome (ok; rejected: the service refused it; "
            "gave_up: retries exhausted; dropped: still queued at shutdown)",
            ["channel", "outcome"],
            registry=r,
        )
        self.retries = Counter(
            "ioc_notify_retries_total",
            "Failed attempts that were retried after a backoff, by channel",
            ["channel"],
            registry=r,
        )
        self.delivery = Histogram(
            "ioc_notify_delivery_seconds",
            "From the webhook's acceptance to the service's acknowledgement, retries included",
            ["channel"],
            buckets=DELIVERY_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "ioc_notify_queue_depth",
            "Messages accepted and not yet delivered or given up, by channel",
            ["channel"],
            registry=r,
        )
        self.last_success = Gauge(
            "ioc_notify_last_success_timestamp_seconds",
            "Wall clock of the last message a channel's service accepted",
            ["channel"],
            registry=r,
        )

    def declare(self, channel: str) -> None:
        """Zero series for a channel, so that rate() and absent() work from the start."""
        for outcome in ("ok", "rejected", "gave_up", "dropped"):
            self.sent.labels(channel, outcome)
        self.retries.labels(channel)
        self.queue_depth.labels(channel).set(0)
