"""The fixed-rate feed of the latency phase: the data set's events, happening now.

Event ``i`` is due at ``start + i / rate``; it is re-stamped with that instant (event
time and record timestamp) and sent no earlier. Due events go out together every few
milliseconds through one idempotent producer. If the feed falls behind, events leave
later than their event time and the lag shows in the latencies — it is reported too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ioc.bench.dataset import BenchRecord, restamp
from streams.sender import BatchSender, OutRecord

STEP_S = 0.01


@dataclass(frozen=True)
class FeedResult:
    sent: int
    start_ms: int
    end_ms: int
    max_behind_ms: int
    """Worst delay between an event's due time and its send."""

    @property
    def achieved_rate(self) -> float:
        """Events per second actually sent."""
        return self.sent / max(0.001, (self.end_ms - self.start_ms) / 1000)


async def feed(
    bootstrap: str, records: Sequence[BenchRecord], suffix: str, rate: float
) -> FeedResult:
    """Send ``records`` at ``rate`` events/s, stamped with their due instants."""
    sender = BatchSender(bootstrap, client_id="ioc-bench-feed", request_timeout_ms=30_000)
    await sender.start()
    start_ms = time.time_ns() // 1_000_000
    sent = 0
    behind = 0
    try:
        while sent < len(records):
            now_ms = time.time_ns() // 1_000_000
            due = min(len(records), int((now_ms - start_ms) * rate / 1000) + 1)
            if due > sent:
                batch: list[OutRecord] = []
                for i in range(sent, due):
                    at_ms = start_ms + int(i * 1000 / rate)
                    record = restamp(records[i], at_ms)
                    batch.append(
                        OutRecord(record.topic + suffix, record.key, record.value, None, at_ms)
                    )
                behind = max(behind, now_ms - (start_ms + int(sent * 1000 / rate)))
                await sender.send(batch)
                sent = due
            await asyncio.sleep(STEP_S)
    finally:
        await sender.stop()
    return FeedResult(sent, start_ms, time.time_ns() // 1_000_000, behind)
