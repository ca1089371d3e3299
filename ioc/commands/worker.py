"""``ioc worker``: the faust stream workers (KPIs, data quality, anomalies)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from ioc.settings import Settings
from schemas.results import Domain


def worker_command(
    ctx: typer.Context,
    domain: Annotated[
        list[Domain] | None,
        typer.Option("--domain", help="Run only these domains (repeatable); default all"),
    ] = None,
    loglevel: Annotated[str, typer.Option(help="faust log level")] = "info",
) -> None:
    """Run the stream workers: event-time KPIs, data quality and anomalies (faust)."""
    import faust

    from ioc import process
    from ioc.wiring.worker import build_config
    from streams.runtime.app import DataDirError, Worker
    from streams.runtime.gctune import tune_gc
    from streams.runtime.metrics import StreamMetrics

    settings = ctx.obj
    assert isinstance(settings, Settings)
    settings = settings.for_component("worker")  # its Kafka principal, ioc-worker
    config = build_config(settings, domain)
    tune_gc()  # the state is millions of long-lived dicts: full collections cost a quarter
    metrics = StreamMetrics()
    process.expose_metrics(settings, settings.stream_metrics_port, metrics.registry)
    worker = Worker(config, metrics)
    try:
        worker.prepare_datadir()
    except DataDirError as exc:  # a full disk: one clear line, a code of its own
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.code) from None
    worker.install_guards()
    logging.getLogger(__name__).info(
        "worker %s: %s", config.app_id, {d.value: s.name for d, s in config.sources.items()}
    )
    # faust configures logging itself (--loglevel) and handles SIGINT/SIGTERM.
    faust.Worker(worker.app, loglevel=loglevel).execute_from_commandline()
