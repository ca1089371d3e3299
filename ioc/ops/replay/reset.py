"""``ioc replay reset-group``: move a stopped consumer group, like ``--reset-offsets``.

The plan is computed first (current → new offset per partition) and is all a dry run
does. Executing refuses while the group has members: a running consumer would commit
its own position over ours at its next commit, and the reset would silently not happen.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from kafka import TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.structs import OffsetAndMetadata

from ioc.ops.replay import kafka_io
from ioc.ops.replay.times import ReplayUsageError
from schemas.errors import IocError


class GroupActiveError(IocError):
    """The group has members; stop them first."""


@dataclass(frozen=True, slots=True)
class PartitionMove:
    """One line of the plan."""

    topic: str
    partition: int
    current: int | None
    """Committed offset now (None: the group has none for this partition)."""
    new: int
    earliest: int
    end: int

    @property
    def lag_after(self) -> int:
        """Records the group will (re-)read after the reset."""
        return self.end - self.new


@dataclass(frozen=True, slots=True)
class Target:
    """Exactly one of: a time, explicit offsets, or the earliest retained offset."""

    to_ms: int | None = None
    offsets: dict[int, int] | None = None
    earliest: bool = False

    def __post_init__(self) -> None:
        chosen = sum([self.to_ms is not None, self.offsets is not None, self.earliest])
        if chosen != 1:
            raise ReplayUsageError(
                "choose exactly one of --to-datetime, --to-offsets, --to-earliest"
            )


def read_offsets_file(path: Path, topic: str) -> dict[int, int]:
    """``topic,partition,offset`` lines (what ``kafka-consumer-groups --export`` writes)."""
    found: dict[int, int] = {}
    with path.open(newline="") as fh:
        for n, row in enumerate(csv.reader(fh), start=1):
            if not row or row[0].startswith("#"):
                continue
            if len(row) != 3:
                raise ReplayUsageError(f"{path}:{n}: expected topic,partition,offset")
            name, partition, offset = (c.strip() for c in row)
            if name != topic:
                continue  # an exported file may list several topics
            try:
                found[int(partition)] = int(offset)
            except ValueError:
                raise ReplayUsageError(f"{path}:{n}: partition and offset are integers") from None
    if not found:
        raise ReplayUsageError(f"{path}: no line for topic {topic}")
    return found


def members(admin: KafkaAdminClient, group: str) -> list[str]:
    """Client ids of the group's current members (empty for a stopped or unknown group)."""
    described = admin.describe_groups([group]).get(group, {})
    return [
        f"{m.get('client_id', '?')}@{m.get('client_host', '?')}"
        for m in described.get("members") or []
    ]


def plan(admin: KafkaAdminClient, group: str, topic: str, target: Target) -> list[PartitionMove]:
    """Current → new offset per partition; new offsets are clamped to what the log retains."""
    parts = kafka_io.partitions_of(admin, topic)
    first = kafka_io.earliest(admin, topic, parts)
    end = kafka_io.latest(admin, topic, parts)
    committed = admin.list_group_offsets({group: [TopicPartition(topic, p) for p in parts]})
    current = {
        tp.partition: int(meta.offset)
        for tp, meta in committed.get(group, {}).items()
        if meta is not None and meta.offset >= 0
    }
    if target.to_ms is not None:
        wanted = kafka_io.at_time(admin, topic, parts, target.to_ms)
    elif target.offsets is not None:
        unknown = sorted(set(target.offsets) - set(parts))
        if unknown:
            raise ReplayUsageError(f"{topic} has no partition {unknown}")
        # Partitions the file does not name keep their position, as Kafka's tool does.
        wanted = {p: target.offsets.get(p, current.get(p, end[p])) for p in parts}
    else:
        wanted = first
    return [
        PartitionMove(
            topic, p, current.get(p), min(max(wanted[p], first[p]), end[p]), first[p], end[p]
        )
        for p in parts
    ]


def execute(admin: KafkaAdminClient, group: str, moves: list[PartitionMove]) -> None:
    """Commit the plan's offsets for the (empty) group; any partition error fails the whole."""
    active = members(admin, group)
    if active:
        raise GroupActiveError(
            f"group {group} has {len(active)} member(s) ({', '.join(active)}): stop them first"
        )
    result = admin.alter_group_offsets(
        group,
        {
            TopicPartition(m.topic, m.partition): OffsetAndMetadata(m.new, "ioc replay", -1)
            for m in moves
        },
    )
    failed = {str(tp): err.__name__ for tp, err in result.items() if err.errno != 0}
    if failed:
        raise IocError(f"reset of group {group} failed for {failed}")
