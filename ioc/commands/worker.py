"""``ioc worker``: the faust stream workers (KPIs, data quality, anomalies)."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Annotated

import typer

from ioc.settings import Settings
from schemas.results import Domain
from schemas.topics import (
    ANOMALIES,
    DEADLETTER,
    DOSSIER_STATUS,
    DQ,
    ENERGY_READINGS,
    KPI,
    QR_SCANS,
    TRAFFIC_OBS,
    TopicSpec,
    registry,
)

if TYPE_CHECKING:
    from streams.runtime.app import WorkerConfig

SOURCES: dict[Domain, str] = {
    Domain.TRAFFIC: TRAFFIC_OBS,
    Domain.ENERGY: ENERGY_READINGS,
    Domain.QR: QR_SCANS,
    Domain.DOSSIER: DOSSIER_STATUS,
}


def worker_topics(settings: Settings) -> list[TopicSpec]:
    """The registry's topics a worker reads and writes, with the settings' suffix."""
    wanted = {*SOURCES.values(), KPI, ANOMALIES, DEADLETTER, DQ}
    suffix = settings.stream_topic_suffix
    return [
        dataclasses.replace(spec, name=spec.name + suffix)
        for spec in registry(settings.replay_horizon_days)
        if spec.name in wanted
    ]


def build_config(settings: Settings, domains: list[Domain] | None = None) -> WorkerConfig:
    """A :class:`streams.runtime.app.WorkerConfig` from the settings, the profile and the broker.

    Creates missing topics (idempotent) and reads the source topics' real partition
    counts: the tables' changelogs must have exactly as many partitions.
    """
    from ioc.ops.kafka_admin import admin_client, ensure_topics
    from schemas.province.loading import load_profile
    from streams.detect.profile import params_from_profile
    from streams.runtime.app import SourceTopic, WorkerConfig
    from streams.runtime.partition import OutputTopics
    from streams.topology import Topology

    suffix = settings.stream_topic_suffix
    specs = worker_topics(settings)
    admin = admin_client(settings)
    try:
        ensure_topics(
            admin,
            specs,
            profile=settings.partition_profile,
            replication_factor=settings.replication_factor,
        )
        names = [SOURCES[d] + suffix for d in domains or list(SOURCES)]
        counts = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(names)}
    finally:
        admin.close()
    profile = load_profile(settings.province_profile)
    ms = 1000
    return WorkerConfig(
        app_id=settings.stream_app_id,
        bootstrap=settings.kafka_bootstrap,
        sources={
            d: SourceTopic(SOURCES[d] + suffix, counts[SOURCES[d] + suffix])
            for d in domains or list(SOURCES)
        },
        outputs=OutputTopics(KPI + suffix, ANOMALIES + suffix, DEADLETTER + suffix, DQ + suffix),
        topology=Topology.from_profile(profile),
        detector_params=params_from_profile(profile),
        generation=settings.generation,
        lateness_ms=settings.allowed_lateness_s * ms,
        max_skew_ms=settings.max_clock_skew_s * ms,
        replay_horizon_ms=settings.replay_horizon_days * 86_400 * ms,
        dossier_retention_ms=settings.dossier_retention_days * 86_400 * ms,
        lag_threshold_s=settings.silence_lag_threshold_s,
        store=settings.stream_store,
        datadir=str(settings.data_dir / "faust" / settings.stream_app_id),
        batch_size=settings.stream_batch_size,
        batch_within_s=settings.stream_batch_within_s,
        commit_interval_s=settings.stream_commit_interval_s,
        tick_interval_s=settings.stream_tick_interval_s,
        empty_state_from_group=settings.stream_empty_state_from == "group",
        session_timeout_s=settings.consumer_session_timeout_ms / ms,
        max_poll_interval_s=settings.consumer_max_poll_interval_ms / ms,
        request_timeout_s=settings.request_timeout_ms / ms,
        replication_factor=settings.replication_factor,
        recovery_delay_s=0.0 if settings.environment == "test" else 1.0,
    )


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

    from ioc.version import serve_metrics
    from streams.runtime.app import Worker
    from streams.runtime.gctune import tune_gc
    from streams.runtime.metrics import StreamMetrics

    settings = ctx.obj
    assert isinstance(settings, Settings)
    config = build_config(settings, domain)
    tune_gc()  # the state is millions of long-lived dicts: full collections cost a quarter
    metrics = StreamMetrics()
    if settings.stream_metrics_port:
        serve_metrics(settings.stream_metrics_port, metrics.registry)
    worker = Worker(config, metrics)
    worker.install_guards()
    logging.getLogger(__name__).info(
        "worker %s: %s", config.app_id, {d.value: s.name for d, s in config.sources.items()}
    )
    faust.Worker(worker.app, loglevel=loglevel).execute_from_commandline()
