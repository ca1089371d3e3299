"""The real ``ioc worker`` on the real broker: KPIs equal the reference, bad input is
dead-lettered, a SIGKILL and a second worker in the group change nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from schemas.province.loading import load_profile
from schemas.province.profile import Profile
from schemas.results import Domain, KpiRecord
from schemas.timeutil import to_ms
from schemas.topics import ANOMALIES
from tests import clock
from tests.integration.streams.conftest import StreamStack
from tests.unit.streams import harness, reference, reference_base, scenario

pytestmark = [pytest.mark.integration, pytest.mark.scenario_date]

LATENESS_MS = 120_000
SKEW_MS = 5_000


@cache
def profile() -> Profile:
    return load_profile()


def month_end_day() -> date:
    """The last day of a recent month, at least two days ago (midnight and month change)."""
    today = clock.today()
    day = today.replace(day=1) - timedelta(days=1)
    return day if (today - day).days >= 2 else day.replace(day=1) - timedelta(days=1)


def produce_scenario(
    stack: StreamStack, domains: list[Domain], seed: int
) -> dict[Domain, dict[int, list[tuple[str, Any]]]]:
    generated = scenario.generate(
        profile(), month_end_day(), seed=seed, lateness_s=LATENESS_MS // 1000
    )
    logs: dict[Domain, dict[int, list[tuple[str, Any]]]] = {}
    for domain in domains:
        landed = stack.produce(domain, generated.streams[domain])
        logs[domain] = {
            p: [("event", e) for _, e in sorted(rows, key=lambda r: r[0])]
            for p, rows in landed.items()
        }
    return logs


def expected_now(
    domains_logs: dict[Domain, dict[int, list[tuple[str, Any]]]],
    at: datetime | None = None,
) -> dict[tuple[str, str, str, int], reference_base.Expected]:
    """The reference after a tick at ``at`` (default the scenario's now, where the tests
    put their own ticks) minus the clock skew, as every tick is stamped."""
    tick = to_ms(at or clock.now()) - SKEW_MS
    found = {}
    for domain, logs in domains_logs.items():
        ticked = {p: [*log, ("tick", tick)] for p, log in logs.items()}
        found.update(reference.expected_kpis(domain.value, ticked, profile(), LATENESS_MS))
    return found


def matches(stack: StreamStack, expected: dict[Any, reference_base.Expected]) -> list[str]:
    return harness.compare(harness.latest(stack.kpis()), expected)


def wait_until_equal(
    stack: StreamStack, expected: dict[Any, reference_base.Expected], timeout_s: float
) -> list[KpiRecord]:
    last: list[str] = []

    def equal() -> bool:
        nonlocal last
        last = matches(stack, expected)
        return not last

    def detail() -> str:
        return f"{len(last)} windows differ, the first 5:\n" + "\n".join(w[:300] for w in last[:5])

    stack.wait_for(equal, timeout_s, "the worker's KPIs to equal the reference", 0.5, detail)
    return stack.kpis()


def test_worker_kpis_equal_the_reference_and_garbage_is_dead_lettered(
    stream_stack: StreamStack,
) -> None:
    stack = stream_stack
    logs = produce_scenario(stack, list(Domain), seed=21)
    traffic = stack.source(Domain.TRAFFIC)
    stack.foreign(traffic, b"this is not json")  # what kafka-console-producer would send
    stack.foreign(traffic, b'{"source": "kcat", "sensor_id": "TS-1"}')  # JSON, not an observation
    stack.env["IOC_STREAM_TICK_INTERVAL_S"] = "1"  # the worker closes windows itself
    stack.start_worker()
    # Its ticks follow the machine's clock, not the scenario's (tests/clock.py).
    results = wait_until_equal(stack, expected_now(logs, datetime.now(UTC)), timeout_s=60)
    assert not harness.conflicts(results)

    letters = stack.wait_for(
        lambda: [d for d in stack.deadletters() if d["source_topic"] == traffic] or None,
        20,
        "dead letters",
    )
    reasons = {(d["partition"], d["reason"]) for d in letters}
    assert (0, "invalid_json") in reasons
    assert (0, "validation") in reasons
    assert all(d["offset"] is not None and d["producer"] for d in letters)

    # The detectors are wired in: the scenario's meter reset is on the anomalies topic.
    def resets() -> list[dict[str, Any]]:
        import orjson

        rows = [orjson.loads(r.value) for r in stack.read_all(stack.topic(ANOMALIES))]
        return [a for a in rows if a["detector"] == "register_reset" and a["severity"] == "info"]

    assert stack.wait_for(resets, 20, "the register reset anomaly")


FAULTS = Path(__file__).parent / "faults"


@pytest.mark.parametrize("slow_seek_s", [0.0, 0.3], ids=["as-is", "slow-recovery-seek"])
@pytest.mark.faults
def test_sigkill_mid_stream_loses_and_doubles_nothing(
    stream_stack: StreamStack, slow_seek_s: float
) -> None:
    stack = stream_stack
    if slow_seek_s:
        # faust's recovery seeks slowly (a slow broker): its queue clear then drops
        # records the restarted worker already fetched (decision 0027).
        stack.env["PYTHONPATH"] = str(FAULTS)
        stack.env["FAULT_SLOW_RECOVERY_SEEK_S"] = str(slow_seek_s)
    # One record per batch (two broker round trips each): slow enough to be killed
    # mid-stream, right after its first commit.
    stack.env["IOC_STREAM_BATCH_SIZE"] = "1"
    logs = produce_scenario(stack, [Domain.TRAFFIC, Domain.ENERGY, Domain.DOSSIER], seed=22)
    ends = stack.end_offsets()
    worker = stack.start_worker("first")
    stack.wait_for(lambda: any(stack.committed().values()), 60, "a first commit", interval_s=0.05)
    stack.kill(worker)
    committed = stack.committed()
    assert any(committed[tp] < ends[tp] for tp in ends if ends[tp]), (
        "killed after the end, not mid-stream"
    )

    stack.env["IOC_STREAM_BATCH_SIZE"] = "5"
    stack.start_worker("after-kill")
    for domain in logs:
        stack.produce_ticks(domain, to_ms(clock.now()) - SKEW_MS)
    results = wait_until_equal(stack, expected_now(logs), timeout_s=60)
    assert not harness.conflicts(results)


def test_a_group_offset_ahead_of_the_state_loses_nothing(stream_stack: StreamStack) -> None:
    # faust can commit an offset the state has not applied (faust-streaming #606; a
    # partition revoked mid-batch is acked unprocessed): after a crash the worker
    # must resume after the state's own offset (streams.runtime.resume), not the group's.
    stack = stream_stack
    domains = [Domain.TRAFFIC, Domain.ENERGY]
    generated = scenario.generate(
        profile(), month_end_day(), seed=24, lateness_s=LATENESS_MS // 1000
    )
    landed: dict[Domain, dict[int, list[tuple[int, Any]]]] = {d: {} for d in domains}

    def produce(half: int) -> None:
        for domain in domains:
            events = generated.streams[domain]
            cut = len(events) // 2
            for p, rows in stack.produce(domain, events[cut:] if half else events[:cut]).items():
                landed[domain].setdefault(p, []).extend(rows)

    produce(0)
    first_half = stack.end_offsets()
    worker = stack.start_worker("first")
    stack.wait_for(lambda: stack.committed() == first_half, 60, "the first half to be committed")
    stack.kill(worker)
    produce(1)
    stack.commit_group(stack.end_offsets())  # "all processed": what a too-early commit claims

    stack.start_worker("after-commit")
    for domain in domains:
        stack.produce_ticks(domain, to_ms(clock.now()) - SKEW_MS)
    logs = {
        d: {
            p: [("event", e) for _, e in sorted(rows, key=lambda r: r[0])] for p, rows in by.items()
        }
        for d, by in landed.items()
    }
    results = wait_until_equal(stack, expected_now(logs), timeout_s=60)
    assert not harness.conflicts(results)
    assert "seeking back" in stack.logs()


def test_a_state_that_applied_nothing_is_owed_the_whole_log(stream_stack: StreamStack) -> None:
    # A group offset with no state behind it (faust acked records nobody applied, or its
    # fetch loop dropped them after a restart) must not hide them: an empty state resumes
    # at the log's start, not at the group's offset.
    stack = stream_stack
    logs = produce_scenario(stack, [Domain.TRAFFIC], seed=25)
    stack.commit_group(stack.end_offsets())
    stack.start_worker("empty-state")
    stack.produce_ticks(Domain.TRAFFIC, to_ms(clock.now()) - SKEW_MS)
    results = wait_until_equal(stack, expected_now(logs), timeout_s=60)
    assert not harness.conflicts(results)
    assert "seeking back to 0" in stack.logs()


def test_an_operator_can_start_an_empty_state_at_the_group_offset(
    stream_stack: StreamStack,
) -> None:
    # IOC_STREAM_EMPTY_STATE_FROM=group: a new app id whose group was reset past a backlog
    # starts there (docs/replay.md), without seeking back over the backlog.
    stack = stream_stack
    produce_scenario(stack, [Domain.TRAFFIC], seed=26)
    backlog = stack.end_offsets()
    stack.commit_group(backlog)
    stack.env["IOC_STREAM_EMPTY_STATE_FROM"] = "group"
    stack.start_worker("from-group")
    stack.produce_ticks(Domain.TRAFFIC, to_ms(clock.now()) - SKEW_MS)
    past_ticks = {
        tp: n + 1 if tp[0] == stack.source(Domain.TRAFFIC) else n for tp, n in backlog.items()
    }
    stack.wait_for(lambda: stack.committed() == past_ticks, 60, "the ticks to be committed")
    assert stack.kpis() == []  # nothing of the backlog was applied
    assert "seeking back" not in stack.logs()


def test_two_workers_in_one_group_equal_the_reference(stream_stack: StreamStack) -> None:
    stack = stream_stack
    stack.env["IOC_STREAM_BATCH_SIZE"] = "5"
    logs = produce_scenario(stack, [Domain.TRAFFIC, Domain.ENERGY, Domain.QR], seed=23)
    stack.start_worker("a")
    stack.wait_for(lambda: len(stack.kpis()) >= 10, 60, "the first KPIs")
    stack.start_worker("b")  # a rebalance while the first one is busy
    for domain in logs:
        stack.produce_ticks(domain, to_ms(clock.now()) - SKEW_MS)
    results = wait_until_equal(stack, expected_now(logs), timeout_s=60)
    assert not harness.conflicts(results)
