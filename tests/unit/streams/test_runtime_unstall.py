"""A partition faust stopped handing over is sought back (streams.runtime.resume.stalled).

Seen in CI: faust's recovery cleared the agents' queues when it resumed the flow, after
its fetch loop had moved past the records they held; with no later record to reveal the
gap, the worker sat idle with records 98..122 of a partition unapplied.
"""

from __future__ import annotations

import asyncio

import pytest

from streams.runtime.resume import STALL_S, stalled
from tests.unit.streams.test_runtime_order import PARTITION, Rig, rig

pytestmark = pytest.mark.unit


def test_a_quiet_partition_with_records_beyond_its_state_is_stalled() -> None:
    assert stalled(applied=97, highwater=123, idle_s=STALL_S) == 98
    assert stalled(applied=-1, highwater=5, idle_s=STALL_S + 1) == 0  # an empty state


def test_a_partition_is_not_stalled_while_records_come_or_when_it_is_caught_up() -> None:
    assert stalled(applied=97, highwater=123, idle_s=STALL_S - 0.1) is None
    assert stalled(applied=97, highwater=98, idle_s=1e6) is None  # 97 was the last
    assert stalled(applied=97, highwater=None, idle_s=1e6) is None  # not fetched yet


def quiet_for(r: Rig, seconds: float) -> None:
    r.runtime.last_activity[PARTITION] -= seconds


def unstall(r: Rig) -> None:
    asyncio.run(r.runtime.unstall())


def stalls(r: Rig) -> float:
    value = r.runtime.metrics.registry.get_sample_value(
        "ioc_stream_stalled_partitions_total", {"stream": "traffic"}
    )
    return float(value or 0.0)


def test_a_stalled_partition_is_sought_back_to_the_record_its_state_awaits() -> None:
    r = rig(present=list(range(20)))
    r.deliver(0, 1, 2)
    r.consumer.end = 10  # 3..9 fetched by faust and dropped before the agent saw them
    unstall(r)
    assert r.consumer.seeks == []  # records came a moment ago: not stalled yet
    quiet_for(r, STALL_S)
    unstall(r)
    assert r.consumer.seeks == [3]
    assert stalls(r) == 1
    unstall(r)
    assert r.consumer.seeks == [3]  # the seek restarted the clock: no second seek at once
    r.deliver(3, 4, 5, 6, 7, 8, 9)
    assert r.applied == 9
    assert r.runtime.rewinding == {}
    quiet_for(r, STALL_S)
    unstall(r)
    assert r.consumer.seeks == [3]  # caught up: nothing owed


def test_a_partition_never_handed_over_loads_its_state_and_is_sought_back() -> None:
    r = rig(present=list(range(20)))
    r.runtime.assigned([PARTITION])
    r.consumer.end = 5
    quiet_for(r, STALL_S)
    unstall(r)
    assert r.applied == -1  # the state was loaded (empty): it is owed the log from 0
    assert r.consumer.seeks == [0]


def test_nothing_is_sought_while_faust_restores_tables_or_rebalances() -> None:
    r = rig(present=list(range(20)))
    r.deliver(0)
    r.consumer.end = 10
    quiet_for(r, STALL_S)
    r.runtime.app.in_recovery = True
    unstall(r)
    r.runtime.app.in_recovery, r.runtime.app.rebalancing = False, True
    unstall(r)
    assert r.consumer.seeks == []
    r.runtime.app.rebalancing = False
    unstall(r)
    assert r.consumer.seeks == [1]


def test_an_empty_state_started_from_the_group_is_left_to_what_comes() -> None:
    r = rig(present=list(range(20)), empty_state_from_group=True)
    r.runtime.assigned([PARTITION])
    r.consumer.end = 5
    quiet_for(r, STALL_S)
    unstall(r)
    assert r.consumer.seeks == []
    assert r.runtime.engines == {}
