"""Settings -> a worker's configuration (``ioc worker``, ``ioc replay``, the benchmark)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ioc.kafka_client import kafka_client_options
from ioc.settings import Settings
from schemas.domains import CONTRACTS
from schemas.province.loading import load_profile
from schemas.results import Domain
from schemas.topics import ANOMALIES, DEADLETTER, DQ, KPI, TopicSpec, registry
from streams.detect.profile import params_from_profile
from streams.runtime.app import SourceTopic, WorkerConfig
from streams.runtime.messages import OutputTopics
from streams.topology import Topology


def worker_topics(settings: Settings) -> list[TopicSpec]:
    """The registry's topics a worker reads and writes, with the settings' suffix."""
    wanted = {*(c.topic for c in CONTRACTS.values()), KPI, ANOMALIES, DEADLETTER, DQ}
    suffix = settings.stream_topic_suffix
    return [
        dataclasses.replace(spec, name=spec.name + suffix)
        for spec in registry(settings.replay_horizon_days)
        if spec.name in wanted
    ]


def worker_config(settings: Settings, partitions: Mapping[Domain, int]) -> WorkerConfig:
    """A worker of the domains in ``partitions`` (each source topic's partition count)."""
    suffix = settings.stream_topic_suffix
    profile = load_profile(settings.province_profile)
    ms = 1000
    return WorkerConfig(
        app_id=settings.stream_app_id,
        kafka=kafka_client_options(settings),
        sources={d: SourceTopic(CONTRACTS[d].topic + suffix, n) for d, n in partitions.items()},
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


def build_config(settings: Settings, domains: list[Domain] | None = None) -> WorkerConfig:
    """:func:`worker_config` for the broker as it is.

    Creates missing topics (idempotent) and reads the source topics' real partition
    counts: the tables' changelogs must have exactly as many partitions.
    """
    from ioc.ops.kafka_admin import admin_client, ensure_topics

    chosen = domains or list(CONTRACTS)
    names = {d: CONTRACTS[d].topic + settings.stream_topic_suffix for d in chosen}
    admin = admin_client(settings)
    try:
        ensure_topics(
            admin,
            worker_topics(settings),
            profile=settings.partition_profile,
            replication_factor=settings.replication_factor,
        )
        described = admin.describe_topics(list(names.values()))
        counts = {t["name"]: len(t["partitions"]) for t in described}
    finally:
        admin.close()
    return worker_config(settings, {d: counts[names[d]] for d in chosen})
