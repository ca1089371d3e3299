"""Which record a partition's state is owed next — not the one faust happens to hand over.

The state's ``meta`` record says which source offset was applied last (-1: none), and
it is written (and acknowledged) before the source records are acked, so it is never
behind the truth. What faust delivers can be *ahead* of it, and an ack does not mean
"applied":

- faust commits acked offsets, and a record can be acked without being applied: those
  of a partition revoked mid-batch (faust's rebalance waits for them), those faust's
  stream skips itself, and faust's ``Consumer._new_offset`` lets a one-offset gap at the
  head of the acked run through (faust-streaming #606, open PR #707);
- after a restart faust resumes the source partitions and fetches *before* seeking them
  to the committed offsets; its fetch loop then finishes the batch fetched before the
  seek, which moves its read offset past the seek, and drops the records fetched again
  below it. A partition can jump ahead mid-run, not only when it is loaded (#596 is
  the same family).

So every record is checked against the state: the next offset after ``meta.o`` (0 for
a state that applied nothing — an empty state is owed the whole log) must be the one
in hand. When it is not, the worker asks the log which offset really comes next and, if
records are missing, seeks back to it and skips what arrives before it. Replaying is
safe: every state record skips what it already applied. (An operator can make empty
states start at the group's offset instead, to skip a backlog on purpose:
``IOC_STREAM_EMPTY_STATE_FROM=group``; decision 0014.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaTimeoutError

log = logging.getLogger(__name__)

PROBE_TIMEOUT_MS = 10_000
PROBE_DEADLINE_S = PROBE_TIMEOUT_MS / 1000 + 20
"""A probe as a whole (connect, metadata, fetch) ends by then."""
STOP_DEADLINE_S = 5.0
REPROBE_S = 1.0
"""A rewind still waiting after this long asks the log again (retention may have
removed the record it awaits)."""


STALL_S = 10.0
"""A partition whose log holds records beyond its state, and that was handed none for
this long, is sought back (:func:`stalled`)."""


def stalled(applied: int, highwater: int | None, idle_s: float) -> int | None:
    """The offset to seek a quiet partition back to, or None when nothing is owed.

    ``highwater`` is the log's end (the next offset to be written) as the consumer last
    fetched it; ``idle_s`` how long since faust handed over a record of the partition.
    faust can drop records it fetched without delivering them (its recovery clears the
    agents' queues when it resumes the flow, after its fetch loop moved past them);
    later records would make the runtime ask for them, but a quiet partition gets none.
    """
    if highwater is None or idle_s < STALL_S:
        return None
    awaited = applied + 1
    return awaited if highwater > awaited else None


@dataclass(frozen=True, slots=True)
class Rewind:
    """A partition sought back: the offset awaited next, and when the log was asked."""

    awaited: int
    probed_at: float


class Step(Enum):
    """What to do with a record, given its partition's state and rewind."""

    APPLY = "apply"
    """The record is the next one the state is owed (or one it already applied)."""
    SKIP = "skip"
    """Before the awaited offset: already applied, it comes again in order if needed."""
    RESEEK = "reseek"
    """Past the awaited offset: fetched before the seek back; seek again and skip it."""
    PROBE = "probe"
    """Records may be missing before it: ask the log what comes next."""


def needs_probe(applied: int, offset: int) -> bool:
    """True when records between the last applied offset and ``offset`` may be missing."""
    return offset > applied + 1


def next_step(
    applied: int,
    offset: int,
    rewind: Rewind | None,
    now: float,
    *,
    empty_from_group: bool = False,
) -> Step:
    """The step for the record at ``offset`` of a partition whose state applied ``applied``.

    ``empty_from_group``: a state that applied nothing takes whatever the group hands
    over (``IOC_STREAM_EMPTY_STATE_FROM=group``).
    """
    if rewind is None:
        if applied < 0 and empty_from_group:
            return Step.APPLY
        return Step.PROBE if needs_probe(applied, offset) else Step.APPLY
    if offset == rewind.awaited:
        return Step.APPLY
    if offset < rewind.awaited:
        return Step.SKIP
    # faust's fetch loop can still be handing over a batch fetched before the seek, and
    # each of those moves its read offset past ``awaited`` again: seek once more, until
    # the awaited record arrives; ask the log again if it is long in coming.
    return Step.PROBE if now - rewind.probed_at >= REPROBE_S else Step.RESEEK


class LogProbe:
    """Reads the first offset present in a partition at or after a given offset."""

    def __init__(self, kafka: Mapping[str, Any], *, client_id: str) -> None:
        self._options: dict[str, Any] = {
            **kafka,
            "client_id": client_id,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",  # offsets deleted by retention: the log start
        }
        self._consumer: AIOKafkaConsumer | None = None
        # One consumer serves every domain's agent, and assign() replaces what the last
        # probe assigned: two probes interleaved at an await would read each other's
        # partition (or nothing). One at a time.
        self._lock = asyncio.Lock()

    async def first_offset_from(self, topic: str, partition: int, offset: int) -> int | None:
        """The first record's offset ≥ ``offset`` (None if none arrives within the timeout).

        Bounded as a whole: aiokafka's own timeout covers the fetch, not connecting or
        waiting for metadata, and one wedged probe would hold the lock every agent needs.
        A probe past its deadline raises :class:`KafkaTimeoutError` (the caller retries
        with a warning) and its consumer is replaced.
        """
        async with self._lock:
            try:
                return await asyncio.wait_for(
                    self._first_offset_from(topic, partition, offset), PROBE_DEADLINE_S
                )
            except TimeoutError:
                await self._discard()
                raise KafkaTimeoutError(
                    f"offset probe of {topic}[{partition}] from {offset}: "
                    f"no answer within {PROBE_DEADLINE_S:.0f} s"
                ) from None

    async def _first_offset_from(self, topic: str, partition: int, offset: int) -> int | None:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(**self._options)
            await consumer.start()
            self._consumer = consumer
        tp = TopicPartition(topic, partition)
        self._consumer.assign([tp])
        self._consumer.seek(tp, offset)
        found = await self._consumer.getmany(tp, timeout_ms=PROBE_TIMEOUT_MS, max_records=1)
        records = found.get(tp, [])
        return records[0].offset if records else None

    async def _discard(self) -> None:
        """Drop a consumer that did not answer; its stop is bounded too."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.stop(), STOP_DEADLINE_S)

    async def stop(self) -> None:
        """Disconnect."""
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()
