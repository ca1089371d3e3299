"""Pacing of the runner (with a fake clock) and the sinks' contract."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from ioc.tooling.simulator import (
    JsonlOutput,
    KafkaOutput,
    MemoryOutput,
    Output,
    RealTime,
    Simulation,
    SimulationConfig,
    run,
)
from schemas.province.profile import Profile
from schemas.timeutil import to_ms
from tests.unit.simulator.conftest import HASHER, MONDAY

pytestmark = pytest.mark.unit


class FakeTime:
    """monotonic() and sleep() that only move when the runner sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


class CountingOutput(MemoryOutput):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0
        self.closed = False

    async def flush(self) -> None:
        self.flushes += 1

    async def close(self) -> None:
        self.closed = True


def sim(profile: Profile, hours: float = 1.0) -> Simulation:
    config = SimulationConfig(
        profile=profile,
        seed=3,
        start=MONDAY + timedelta(hours=8),
        end=MONDAY + timedelta(hours=8 + hours),
        domains=("traffic", "qr"),
    )
    return Simulation(config, HASHER)


def test_real_time_keeps_the_rate_and_stops_at_the_duration(small: Profile) -> None:
    clock = FakeTime()
    sink = CountingOutput()
    s = sim(small, hours=24)
    summary = asyncio.run(
        run(
            s,
            sink,
            realtime=RealTime(rate=100, duration_s=5),
            monotonic=clock.monotonic,
            sleep=clock.sleep,
            now_ms=lambda: to_ms(MONDAY) + 10**12,  # far past every event: no live cap
        )
    )
    assert summary.total == len(sink.events) == 500
    assert clock.now == pytest.approx(5.0)
    assert sink.flushes >= 5
    assert sink.closed
    assert s.start_ms < summary.reached_ms < s.end_ms
    assert summary.reached_ms == to_ms(s_next_event_time(s, 500))


def s_next_event_time(s: Simulation, n: int):  # type: ignore[no-untyped-def]
    for i, (_t, _, event) in enumerate(s.events()):
        if i == n:
            return event.event_time
    raise AssertionError("too few events")


def test_real_time_never_sends_an_event_before_its_time(small: Profile) -> None:
    clock = FakeTime()
    sink = CountingOutput()
    s = sim(small)
    wall_start = s.start_ms

    summary = asyncio.run(
        run(
            s,
            sink,
            realtime=RealTime(rate=1_000_000, duration_s=120),
            monotonic=clock.monotonic,
            sleep=clock.sleep,
            now_ms=lambda: wall_start + round(clock.now * 1000),  # the period starts "now"
        )
    )
    # a huge rate, but live: only the first two minutes of simulated time went out
    assert summary.total > 0
    last = max(to_ms(e.event_time) for _, e in sink.events)  # type: ignore[attr-defined]
    assert last <= wall_start + 120_000
    assert clock.now == pytest.approx(120, abs=1)


def test_fast_mode_sends_everything_and_reports(small: Profile, tmp_path: Path) -> None:
    s = sim(small, hours=0.5)
    seen: list[tuple[int, int]] = []
    summary = asyncio.run(
        run(s, JsonlOutput(tmp_path), on_progress=lambda t, n: seen.append((t, n)))
    )
    assert summary.reached_ms == s.end_ms
    assert seen[-1] == (s.end_ms, summary.total)
    for topic in s.topics():
        lines = (tmp_path / f"{topic}.jsonl").read_bytes().count(b"\n")
        assert lines == summary.events[topic] > 0


def test_sinks_implement_the_interface() -> None:
    assert isinstance(MemoryOutput(), Output)
    assert isinstance(JsonlOutput(Path("x")), Output)
    kafka = KafkaOutput(lambda: None, topic_suffix=".t")  # type: ignore[arg-type, return-value]
    assert isinstance(kafka, Output)
    assert kafka.topic("ioc.qr.scans.v1") == "ioc.qr.scans.v1.t"
    asyncio.run(kafka.close())  # never started: nothing to flush or stop


def test_rate_and_duration_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RealTime(rate=0, duration_s=1)
