"""Drive a simulation into a sink: as fast as possible, or paced in real time.

Fast mode writes weeks of history in minutes. Real-time mode sends ``rate`` events
per second for ``duration`` seconds of wall time and never sends an event before its
own event time (Kafka ≥ 4 refuses records more than an hour ahead, and the gateway
dead-letters events beyond the clock-skew bound): a run that starts in the past
catches up at ``rate``, a run that reaches the present continues live.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ioc.tooling.simulator.outputs import Output
from ioc.tooling.simulator.simulation import Simulation
from schemas.timeutil import to_ms, utcnow

PROGRESS_EVERY = 5_000
FLUSH_EVERY_S = 0.1
"""In real time, what is due is delivered at least this often (freshness over batching)."""

Progress = Callable[[int, int], None]
"""(simulated time reached in epoch ms, events sent so far)."""


@dataclass(frozen=True)
class RealTime:
    rate: float
    """Events per second, all streams together."""
    duration_s: float
    """Wall-clock seconds to run."""

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.duration_s <= 0:
            raise ValueError("rate and duration must be positive")


@dataclass
class RunSummary:
    events: Counter[str] = field(default_factory=Counter)
    """Events delivered per (logical) topic."""
    injections: Counter[str] = field(default_factory=Counter)
    controls: Counter[str] = field(default_factory=Counter)
    reached_ms: int = 0
    """Simulated time reached: the end of the period, or where a real-time run stopped."""
    wall_s: float = 0.0

    @property
    def total(self) -> int:
        """Events delivered, all topics."""
        return sum(self.events.values())

    @property
    def events_per_s(self) -> float:
        """Throughput over the whole run."""
        return self.total / self.wall_s if self.wall_s > 0 else 0.0


async def run(
    sim: Simulation,
    sink: Output,
    *,
    realtime: RealTime | None = None,
    on_progress: Progress | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    now_ms: Callable[[], int] = lambda: to_ms(utcnow()),
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> RunSummary:
    """Send the simulation's events into ``sink`` (started and closed here)."""
    summary = RunSummary()
    began = monotonic()
    await sink.start()
    try:
        if realtime is None:
            await _fast(sim, sink, summary, on_progress)
        else:
            await _paced(sim, sink, summary, realtime, on_progress, monotonic, now_ms, sleep)
        await sink.flush()
    finally:
        await sink.close()
    summary.wall_s = monotonic() - began
    for row in sim.truth_rows(until_ms=summary.reached_ms):
        (summary.injections if row.record == "injection" else summary.controls)[row.kind] += 1
    return summary


async def _fast(
    sim: Simulation, sink: Output, summary: RunSummary, on_progress: Progress | None
) -> None:
    sent = 0
    for t, topic, event in sim.events():
        await sink.send(topic, event)
        summary.events[topic] += 1
        sent += 1
        if on_progress is not None and sent % PROGRESS_EVERY == 0:
            on_progress(t, sent)
    summary.reached_ms = sim.end_ms
    if on_progress is not None:
        on_progress(sim.end_ms, sent)


async def _paced(
    sim: Simulation,
    sink: Output,
    summary: RunSummary,
    pace: RealTime,
    on_progress: Progress | None,
    monotonic: Callable[[], float],
    now_ms: Callable[[], int],
    sleep: Callable[[float], Awaitable[None]],
) -> None:
    began = monotonic()
    last_flush = began
    sent = 0
    summary.reached_ms = sim.end_ms
    for t, topic, event in sim.events():
        elapsed = monotonic() - began
        # the token schedule of `rate`, and never before the event's own time
        wait = max(sent / pace.rate - elapsed, (t - now_ms()) / 1000)
        if elapsed + max(wait, 0.0) >= pace.duration_s:
            if wait > 0:
                await sleep(max(0.0, pace.duration_s - elapsed))
            summary.reached_ms = t
            break
        if wait > 0:
            if monotonic() - last_flush >= FLUSH_EVERY_S:
                await sink.flush()
                last_flush = monotonic()
            await sleep(wait)
        await sink.send(topic, event)
        summary.events[topic] += 1
        sent += 1
        if on_progress is not None and sent % max(1, int(pace.rate)) == 0:
            on_progress(t, sent)
    if on_progress is not None:
        on_progress(summary.reached_ms, sent)
