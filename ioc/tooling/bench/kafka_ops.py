"""Kafka chores of a bench run: its own topics, pre-loading, offsets, group states.

Every topic and group a run makes carries the run's tag, so one call deletes exactly
what the run made (the broker is shared with other engineers' tests).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError

from ioc.kafka_client import kafka_client_options
from ioc.ops.kafka_admin import admin_client
from ioc.settings import Settings
from ioc.tooling.bench.dataset import BenchRecord
from schemas.topics import CONTROL_HEADER, registry
from streams.runtime.sender import BatchSender, OutRecord

log = logging.getLogger(__name__)

LOAD_CHUNK = 20_000


@dataclass(frozen=True)
class TopicPlan:
    """A topic to create: the registry's partitions and configuration under a new name."""

    name: str
    base: str
    log_append_time: bool = False


def create_topics(settings: Settings, plans: Iterable[TopicPlan]) -> None:
    """Create the run's topics (dev partition counts; replication 1)."""
    specs = {s.name: s for s in registry(settings.replay_horizon_days)}
    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics())
        new = []
        for plan in plans:
            if plan.name in existing:
                continue
            spec = specs[plan.base]
            config = spec.config()
            if plan.log_append_time:
                # The broker stamps each record as it appends it: "when was the last
                # output written" then reads the same for every producer.
                config["message.timestamp.type"] = "LogAppendTime"
            new.append(NewTopic(plan.name, spec.partitions("dev"), 1, topic_configs=config))
        if new:
            admin.create_topics(new, wait_for_metadata=True)
    finally:
        admin.close()


def delete_run_topics(settings: Settings, tag: str) -> list[str]:
    """Delete every topic and consumer group whose name holds ``tag`` (a run's or a phase's)."""
    admin = admin_client(settings)
    try:
        mine = [t for t in admin.list_topics() if tag in t]
        if mine:
            admin.delete_topics(mine)
        groups = [g["group_id"] for g in admin.list_groups() if tag in g["group_id"]]
        if groups:
            try:
                admin.delete_groups(groups)
            except KafkaError as exc:  # a member still leaving: the group expires on its own
                log.warning("could not delete groups %s: %s", groups, exc)
        return mine
    finally:
        admin.close()


async def _load(kafka: dict[str, Any], records: Sequence[OutRecord]) -> None:
    sender = BatchSender(kafka, client_id="ioc-bench-loader", request_timeout_ms=30_000)
    try:
        for i in range(0, len(records), LOAD_CHUNK):
            await sender.send(records[i : i + LOAD_CHUNK])
    finally:
        await sender.stop()


def out_records(records: Iterable[BenchRecord], suffix: str) -> list[OutRecord]:
    """Records for the run's topics: murmur2-partitioned by key, stamped with event time."""
    return [
        OutRecord(r.topic + suffix, r.key, r.value, timestamp_ms=r.timestamp_ms) for r in records
    ]


def load(settings: Settings, records: Sequence[OutRecord]) -> None:
    """Produce pre-encoded records (acks=all, idempotent, murmur2) and wait for all."""
    asyncio.run(_load(kafka_client_options(settings), records))


async def _ticks(kafka: dict[str, Any], partitions: dict[str, int], at_ms: int) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(**kafka, acks="all")
    await producer.start()
    try:
        for topic, count in partitions.items():
            for partition in range(count):
                await producer.send_and_wait(
                    topic,
                    b"",
                    partition=partition,
                    timestamp_ms=at_ms,
                    headers=[(CONTROL_HEADER, b"tick")],
                )
    finally:
        await producer.stop()


def send_ticks(settings: Settings, partitions: dict[str, int], at_ms: int) -> None:
    """One control tick per partition at ``at_ms``: what an idle worker produces."""
    asyncio.run(_ticks(kafka_client_options(settings), partitions, at_ms))


class Offsets:
    """End offsets, committed offsets and group states, read with one consumer and admin."""

    def __init__(self, settings: Settings) -> None:
        self.consumer = KafkaConsumer(**kafka_client_options(settings))
        self.settings = settings
        self.admin = admin_client(settings)

    def close(self) -> None:
        """Release both clients."""
        self.consumer.close()
        self.admin.close()

    def partitions(self, topic: str) -> list[TopicPartition]:
        """Every partition of a topic."""
        found = self.consumer.partitions_for_topic(topic) or set()
        return [TopicPartition(topic, p) for p in sorted(found)]

    def ends(self, topics: Iterable[str]) -> dict[TopicPartition, int]:
        """End offsets of every partition of ``topics``."""
        tps = [tp for t in topics for tp in self.partitions(t)]
        ends: dict[TopicPartition, int] = self.consumer.end_offsets(tps)
        return ends

    def beginnings(self, topics: Iterable[str]) -> dict[TopicPartition, int]:
        """First offsets of every partition of ``topics`` (above 0 once retention deleted)."""
        tps = [tp for t in topics for tp in self.partitions(t)]
        found: dict[TopicPartition, int] = self.consumer.beginning_offsets(tps)
        return found

    def topics_starting(self, prefix: str) -> list[str]:
        """Topics whose name starts with ``prefix`` (a worker's changelogs: its app id)."""
        return sorted(t for t in self.admin.list_topics() if t.startswith(prefix))

    def sizes(self, topics: Iterable[str]) -> dict[TopicPartition, int]:
        """Bytes on the broker's disks per partition of ``topics`` (the log segments)."""
        wanted = set(topics)
        found: dict[TopicPartition, int] = {}
        for broker in self.admin.describe_log_dirs():
            for log_dir in broker.get("log_dirs", []):
                for topic in log_dir.get("topics", []):
                    if topic["name"] not in wanted:
                        continue
                    for part in topic["partitions"]:
                        tp = TopicPartition(topic["name"], part["partition_index"])
                        found[tp] = found.get(tp, 0) + int(part["partition_size"])
        return found

    def committed(self, group: str) -> dict[TopicPartition, int]:
        """A group's committed offsets (a missing partition has none)."""
        found = self.admin.list_group_offsets(group).get(group, {})
        return {tp: meta.offset for tp, meta in found.items() if meta.offset >= 0}

    def caught_up(self, group: str, topics: Iterable[str]) -> bool:
        """The group committed the end of every non-empty partition of ``topics``."""
        committed = self.committed(group)
        return all(committed.get(tp, 0) >= end for tp, end in self.ends(topics).items() if end)

    def stable_members(self, group: str) -> int:
        """Members of a group when it is Stable with every partition assigned, else 0."""
        state = self.admin.describe_groups([group]).get(group) or {}
        if state.get("group_state") != "Stable":
            return 0
        return len(state.get("members") or [])

    def last_timestamp(self, topic: str) -> int | None:
        """The largest record timestamp among each partition's last record."""
        ends = self.ends([topic])
        tps = [tp for tp, end in ends.items() if end]
        if not tps:
            return None
        reader = KafkaConsumer(
            **kafka_client_options(self.settings),
            enable_auto_commit=False,
            consumer_timeout_ms=2_000,
        )
        try:
            reader.assign(tps)
            for tp in tps:
                reader.seek(tp, ends[tp] - 1)
            latest: int | None = None
            pending = set(tps)
            while pending:
                polled = reader.poll(timeout_ms=2_000)
                if not polled:
                    break
                for tp, batch in polled.items():
                    for record in batch:
                        latest = max(latest or 0, record.timestamp)
                    pending.discard(tp)
            return latest
        finally:
            reader.close()
