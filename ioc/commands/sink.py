"""``ioc sink``: Kafka → ClickHouse."""

from __future__ import annotations

from typing import Annotated

import typer

from ioc.settings import Settings


def sink_command(
    ctx: typer.Context,
    topic_suffix: Annotated[
        str, typer.Option(help="Read the registry topics with this suffix (a demo's, a bench's)")
    ] = "",
) -> None:
    """Consume the event, KPI, anomaly and dead-letter topics into ClickHouse."""
    from ioc import process
    from ioc.wiring.sink import build_sink

    settings = ctx.obj
    assert isinstance(settings, Settings)
    settings = settings.for_component("sink")  # its Kafka principal, ioc-sink
    process.run_service(
        settings,
        lambda: build_sink(settings, topic_suffix=topic_suffix),
        metrics_port=settings.sink_metrics_port,
    )
