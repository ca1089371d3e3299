"""Where a partition resumes: after the last offset its *state* applied, not the group's.

The state's ``meta`` record says which source offset was applied last, and it is
written (and acknowledged) before the source records are acked — so it is never
behind the truth. The consumer group's committed offset can be *ahead* of it:
faust commits acked offsets, and a record can be acked without being applied —
those of a partition revoked mid-batch are acked so that faust's rebalance does not
wait for them forever, and faust's ``Consumer._new_offset`` lets a one-offset gap at
the head of the acked run through (faust-streaming #606, open PR #707). Resuming
from such a commit would lose the records in between.

So when a partition's engine is loaded (start, restart, rebalance) and its first
record lies beyond the state's next offset, the worker asks the log which offset
really comes next and, if records are missing, seeks back to it. Replaying is safe:
every state record skips what it already applied.
"""

from __future__ import annotations

import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger(__name__)

PROBE_TIMEOUT_MS = 10_000


def needs_probe(applied: int, first_offset: int) -> bool:
    """True when records between the last applied offset and ``first_offset`` may be missing.

    A state that applied nothing resumes where the group does.
    """
    return applied >= 0 and first_offset > applied + 1


class LogProbe:
    """Reads the first offset present in a partition at or after a given offset."""

    def __init__(self, bootstrap: str, *, client_id: str) -> None:
        self._options: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "client_id": client_id,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",  # offsets deleted by retention: the log start
        }
        self._consumer: AIOKafkaConsumer | None = None

    async def first_offset_from(self, topic: str, partition: int, offset: int) -> int | None:
        """The first record's offset ≥ ``offset`` (None if none arrives within the timeout)."""
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

    async def stop(self) -> None:
        """Disconnect."""
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()
