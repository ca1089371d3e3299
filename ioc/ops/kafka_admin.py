"""Topic administration from the registry: create what is missing, align what drifted.

Idempotent: a second run reports every topic as ``ok``. Partition counts of an
existing topic are never changed here — keys would move to other partitions and
break the per-partition state of the workers — a mismatch is reported instead.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from ioc.errors import IocError, ServiceUnavailableError
from ioc.kafka_client import kafka_client_options
from ioc.settings import Settings
from schemas.topics import TopicSpec, registry

Action = Literal["created", "altered", "ok", "partition-mismatch"]


@dataclass(frozen=True, slots=True)
class TopicResult:
    name: str
    action: Action
    detail: str = ""


def admin_client(settings: Settings) -> KafkaAdminClient:
    """An admin client for the configured broker, failing fast when it does not answer."""
    try:
        return KafkaAdminClient(
            **kafka_client_options(settings),
            client_id="ioc-admin",
            request_timeout_ms=settings.request_timeout_ms,
        )
    except KafkaError as exc:
        raise ServiceUnavailableError(
            f"Kafka at {settings.kafka_bootstrap} did not answer: {exc}"
        ) from exc


def _partition_counts(admin: KafkaAdminClient, names: list[str]) -> dict[str, int]:
    if not names:
        return {}
    return {t["name"]: len(t["partitions"]) for t in admin.describe_topics(names)}


def _current_configs(admin: KafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    resources = [ConfigResource(ConfigResourceType.TOPIC, n, configs=None) for n in names]
    described = admin.describe_configs(resources, config_filter="all")
    found: dict[str, dict[str, str]] = {}
    for by_name in described.values():
        for name, configs in by_name.items():
            found[name] = {
                k: str(v.get("value") if isinstance(v, dict) else v) for k, v in configs.items()
            }
    return found


def ensure_topics(
    admin: KafkaAdminClient,
    specs: Iterable[TopicSpec],
    *,
    profile: Literal["dev", "prod"],
    replication_factor: int,
) -> list[TopicResult]:
    """Create missing topics and align retention/cleanup of existing ones."""
    specs = list(specs)
    existing = set(admin.list_topics())
    missing = [s for s in specs if s.name not in existing]
    results: list[TopicResult] = []
    if missing:
        try:
            admin.create_topics(
                [
                    NewTopic(
                        s.name, s.partitions(profile), replication_factor, topic_configs=s.config()
                    )
                    for s in missing
                ],
                wait_for_metadata=True,
            )
        except TopicAlreadyExistsError:
            # Another process (a second worker starting, `ioc topics create`) created one
            # in between: check what exists now like any present topic.
            return ensure_topics(
                admin, specs, profile=profile, replication_factor=replication_factor
            )
        results += [
            TopicResult(s.name, "created", f"partitions={s.partitions(profile)}") for s in missing
        ]
    present = [s for s in specs if s.name in existing]
    counts = _partition_counts(admin, [s.name for s in present])
    configs = _current_configs(admin, [s.name for s in present])
    to_alter: list[ConfigResource] = []
    for spec in present:
        want = spec.config()
        have = configs.get(spec.name, {})
        drift = {k: v for k, v in want.items() if str(have.get(k)) != v}
        if counts.get(spec.name) != spec.partitions(profile):
            results.append(
                TopicResult(
                    spec.name,
                    "partition-mismatch",
                    f"has {counts.get(spec.name)} partitions, "
                    f"registry says {spec.partitions(profile)}; not changed (keys would move)",
                )
            )
        elif drift:
            to_alter.append(ConfigResource(ConfigResourceType.TOPIC, spec.name, configs=want))
            results.append(
                TopicResult(spec.name, "altered", ", ".join(f"{k}={v}" for k, v in drift.items()))
            )
        else:
            results.append(TopicResult(spec.name, "ok"))
    if to_alter:
        admin.alter_configs(to_alter)
        _wait_for_configs(admin, {r.name: r.configs for r in to_alter})
    return results


def _wait_for_configs(admin: KafkaAdminClient, wanted: dict[str, dict[str, str]]) -> None:
    # The broker answers OK before the new config is visible to describe_configs
    # (KRaft metadata propagation); wait so a second run really reports "ok".
    deadline = time.monotonic() + 15
    while True:
        current = _current_configs(admin, list(wanted))
        if all(
            str(current.get(name, {}).get(k)) == v
            for name, configs in wanted.items()
            for k, v in configs.items()
        ):
            return
        if time.monotonic() > deadline:
            raise ServiceUnavailableError(f"topic configs not applied after 15 s: {wanted}")
        time.sleep(0.2)


def check_topics(
    settings: Settings,
    names: Mapping[str, str],
    *,
    create: bool,
    missing_error: type[IocError] = IocError,
) -> None:
    """Fail at start, not at the first produce timeout: the broker does not auto-create.

    ``names`` maps each topic a process writes (suffix included) to the registry topic
    it is a copy of; with ``create``, missing ones are created from the registry
    (partitions, retention, cleanup), else ``missing_error`` names them.
    """
    admin = admin_client(settings)
    try:
        missing = set(names) - set(admin.list_topics())
        if missing and not create:
            raise missing_error(
                f"missing topics {', '.join(sorted(missing))}: run `ioc topics create` "
                "(registry topics) or pass --create-topics"
            )
        specs = {spec.name: spec for spec in registry(settings.replay_horizon_days)}
        wanted = [dataclasses.replace(specs[names[n]], name=n) for n in sorted(missing)]
        if wanted:
            ensure_topics(
                admin,
                wanted,
                profile=settings.partition_profile,
                replication_factor=settings.replication_factor,
            )
    finally:
        admin.close()
