"""``ioc replay copy``: a time range of a topic into a replay topic, record for record.

Keys, headers and timestamps are kept and every record goes to the partition it came
from, so keys stay on their partitions and a worker reading the copy sees each key's
records in the original order. The target is created from the source's registry
entry (or the source's own partition count) with unlimited retention: the copied
records carry old timestamps, which a time-based retention would delete at once.

Records naming an erased subject (the erasure register, decision 0041) are not copied:
a copy must not keep for good what ``ioc db erase`` took out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient

from ioc.kafka_client import kafka_client_options
from ioc.ops.kafka_admin import ensure_topics
from ioc.ops.replay import kafka_io
from ioc.ops.replay.kafka_io import Message, Span
from ioc.ops.replay.times import ReplayUsageError
from ioc.settings import Settings
from schemas.base import Event
from schemas.erasure import ErasedSet
from schemas.topics import TopicSpec, registry, replay_topic


@dataclass(frozen=True, slots=True)
class CopyPlan:
    source: str
    target: TopicSpec
    from_ms: int
    to_ms: int
    spans: list[Span]
    target_exists: bool

    @property
    def records(self) -> int:
        """Records in the offset spans (those outside the time range are read, not copied)."""
        return sum(s.size for s in self.spans)


@dataclass
class CopySummary:
    messages: int = 0
    bytes: int = 0
    skipped_outside: int = 0
    """Records inside the offset spans whose timestamp is outside [from, to)."""
    skipped_erased: int = 0
    """Records naming a subject of the erasure register (not copied)."""
    per_partition: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0


def _spec_for(source: str, settings: Settings, partitions: int, into: str) -> TopicSpec:
    """The registry's spec of the source (by base name), re-named and unlimited."""
    specs = {s.name: s for s in registry(settings.replay_horizon_days)}
    base = next((s for name, s in specs.items() if source.startswith(name)), None)
    if base is None:
        base = TopicSpec(source, "as source", Event, partitions, partitions, "delete", None)
    spec = replay_topic(base, "copy")
    # The copy must have exactly the source's partitions, whatever the registry says.
    return replace(spec, name=into, partitions_dev=partitions, partitions_prod=partitions)


def plan(
    admin: KafkaAdminClient, settings: Settings, source: str, into: str, from_ms: int, to_ms: int
) -> CopyPlan:
    """What a copy would read and where it would write."""
    if into == source:
        raise ReplayUsageError("--into must differ from --topic")
    parts = kafka_io.partitions_of(admin, source)
    target = _spec_for(source, settings, len(parts), into)
    exists = into in set(admin.list_topics())
    if exists:
        have = kafka_io.partitions_of(admin, into)
        if len(have) != len(parts):
            raise ReplayUsageError(
                f"{into} has {len(have)} partitions, {source} has {len(parts)}: "
                "keys would land on other partitions"
            )
    return CopyPlan(source, target, from_ms, to_ms, kafka_io.spans(admin, source, from_ms, to_ms),
                    exists)  # fmt: skip


def _create(admin: KafkaAdminClient, settings: Settings, plan_: CopyPlan) -> None:
    ensure_topics(
        admin,
        [plan_.target],
        profile=settings.partition_profile,
        replication_factor=settings.replication_factor,
    )


def execute(
    admin: KafkaAdminClient,
    settings: Settings,
    plan_: CopyPlan,
    *,
    erased: ErasedSet,
    rate: float | None = None,
    progress: Callable[[int], None] = lambda n: None,
) -> CopySummary:
    """Copy all but ``erased`` subjects; ``progress`` gets the records read since its last call."""
    _create(admin, settings, plan_)
    began = time.monotonic()
    summary = CopySummary()
    producer = KafkaProducer(
        **kafka_client_options(settings),
        client_id="ioc-replay-copy",
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
        request_timeout_ms=settings.request_timeout_ms,
    )
    kafka = kafka_io.consumer(settings, "ioc-replay-copy")
    try:
        ranges = {s.partition: s for s in plan_.spans}
        for batch in kafka_io.read(kafka, plan_.source, ranges):
            for message in batch:
                if not plan_.from_ms <= message.timestamp_ms < plan_.to_ms:
                    summary.skipped_outside += 1
                    continue
                if erased.names_in_record(message.value, message.timestamp_ms):
                    summary.skipped_erased += 1
                    continue
                _send(producer, plan_.target.name, message, summary)
                if rate:
                    _pace(began, summary.messages, rate)
            progress(len(batch))
        producer.flush()
    finally:
        kafka.close()
        producer.close()
    summary.seconds = time.monotonic() - began
    return summary


def _send(producer: KafkaProducer, topic: str, message: Message, summary: CopySummary) -> None:
    producer.send(
        topic,
        key=message.key,
        value=message.value,
        partition=message.partition,
        timestamp_ms=message.timestamp_ms,
        headers=list(message.headers),
    )
    summary.messages += 1
    summary.bytes += len(message.key or b"") + len(message.value or b"")
    summary.per_partition[message.partition] = summary.per_partition.get(message.partition, 0) + 1


def _pace(began: float, sent: int, rate: float) -> None:
    # Sleep just enough to stay at or under `rate` records/s on average since the start.
    ahead = sent / rate - (time.monotonic() - began)
    if ahead > 0:
        time.sleep(ahead)


def erased_subjects(settings: Settings) -> ErasedSet:
    """The erasure register of ``IOC_CLICKHOUSE_DATABASE``; refuses to copy without it."""
    from ioc.ops.db.erasure import load
    from ioc.ops.db.executors import ClickHouseExecutor

    try:
        executor = ClickHouseExecutor.from_settings(settings, role="replay")
        try:
            return load(executor, settings.clickhouse_database)
        finally:
            executor.close()
    except Exception as exc:
        raise ReplayUsageError(
            f"cannot read the erasure register ({settings.clickhouse_database}.erased_subjects), "
            f"so erased subjects cannot be left out of the copy: {exc}"
        ) from exc
