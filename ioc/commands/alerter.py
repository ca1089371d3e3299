"""``ioc alerter``: anomalies (compacted topic) → Alertmanager."""

from __future__ import annotations

import typer

from ioc.settings import Settings


def alerter_command(ctx: typer.Context) -> None:
    """Post open and resolved anomalies (severity ≥ warning) to Alertmanager."""
    from connectors.sinks.alerter.metrics import AlerterMetrics
    from ioc import process
    from ioc.wiring.alerter import build_alerter

    settings = ctx.obj
    assert isinstance(settings, Settings)
    settings = settings.for_component("alerter")  # its Kafka principal, ioc-alerter
    metrics = AlerterMetrics()
    process.run_service(
        settings,
        lambda: build_alerter(settings, metrics),
        metrics_port=settings.alerter_metrics_port,
        registry=metrics.registry,
    )
