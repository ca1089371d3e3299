"""The fixed-rate feed of the latency phase: the data set's events, happening now.

Event ``i`` is due at ``start + i / rate``; it is re-stamped with that instant (event
time and record timestamp) and sent no earlier. Due events go out together every few
milliseconds through one idempotent producer. If the feed falls behind, events leave
later than their event time and the lag shows in the latencies — it is reported too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ioc.tooling.bench.dataset import BenchRecord, restamp
from streams.runtime.sender import BatchSender, OutRecord

STEP_S = 0.01


@dataclass(frozen=True)
class FeedResult:
    sent: int
    shift_ms: int
    """Event times run this far ahead of the wall clock (0 for a feed of several minutes)."""
    start_ms: int
    end_ms: int
    max_behind_ms: int
    """Worst delay between an event's due time and its send."""

    @property
    def achieved_rate(self) -> float:
        """Events per second actually sent."""
        return self.sent / max(0.001, (self.end_ms - self.start_ms) / 1000)


def boundary_shift(now_ms: int, lead_ms: int = 2_000) -> int:
    """How far ahead event time must run for a minute boundary ``lead_ms`` into the feed."""
    return (-(now_ms + lead_ms)) % 60_000


def boundary_lead_ms(duration_ms: int, lateness_ms: int) -> int | None:
    """Where the feed's minute boundary goes, or None when the feed sees several anyway.

    As late as the window can still close inside the feed (boundary + lateness, 2 s
    before its end), so the closing minute holds as much of the feed as possible — a
    close burst of a realistic size, not of the first two seconds.
    """
    if duration_ms >= 3 * 60_000:
        return None
    return max(1_000, duration_ms - lateness_ms - 2_000)


async def feed(
    kafka: Mapping[str, Any],
    records: Sequence[BenchRecord],
    suffix: str,
    rate: float,
    *,
    lead_ms: int | None,
) -> FeedResult:
    """Send ``records`` at ``rate`` events/s, stamped with their due instants.

    With a ``lead_ms``, event times run ahead of the wall clock so that a minute
    boundary falls ``lead_ms`` into the feed: a feed of a minute or two might otherwise
    see no window close, or only the first seconds' worth. Latencies are measured
    against the wall clock either way (the reader subtracts ``shift_ms``).
    """
    sender = BatchSender(kafka, client_id="ioc-bench-feed", request_timeout_ms=30_000)
    await sender.start()
    start_ms = time.time_ns() // 1_000_000
    shift = 0 if lead_ms is None else boundary_shift(start_ms, lead_ms)
    sent = 0
    behind = 0
    try:
        while sent < len(records):
            now_ms = time.time_ns() // 1_000_000
            due = min(len(records), int((now_ms - start_ms) * rate / 1000) + 1)
            if due > sent:
                batch: list[OutRecord] = []
                for i in range(sent, due):
                    at_ms = start_ms + int(i * 1000 / rate) + shift
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
    return FeedResult(sent, shift, start_ms, time.time_ns() // 1_000_000, behind)
