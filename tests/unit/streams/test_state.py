"""Per-record offsets, the changelog write order and deferred deletions."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.kpi.sums import add_exact, total
from streams.state import META, PartitionState, position_before

pytestmark = pytest.mark.unit


def test_touch_applies_an_offset_once() -> None:
    state = PartitionState(0)
    first = state.touch("w|a", 5, {"n": 0})
    assert first is not None
    first["n"] += 1
    assert state.touch("w|a", 5) is None  # redelivered: skipped
    assert state.touch("w|a", 4) is None  # older: skipped
    again = state.touch("w|a", 6)
    assert again is not None
    assert again["n"] == 1


def test_positions_order_steps_within_a_record() -> None:
    state = PartitionState(0)
    state.cursor.begin(10)
    assert state.cursor.next() == (10, 1)
    assert state.cursor.next() == (10, 2)
    assert position_before({"pos": [10, 1]}, (10, 2))
    assert not position_before({"pos": [10, 2]}, (10, 2))
    assert position_before(None, (0, 1))


def test_drain_writes_meta_last_and_each_record_once() -> None:
    state = PartitionState(0)
    state.meta["wm"] = 100
    state.put(META, state.meta)
    state.put("w|a", {"o": 1})
    state.put("w|b", {"o": 2})
    state.put("w|a", {"o": 3})
    writes = state.drain()
    assert [k for k, _ in writes] == ["w|a", "w|b", META]
    assert writes[0][1] == {"o": 3}
    assert state.drain() == []


def test_deletes_wait_for_a_persisted_watermark() -> None:
    state = PartitionState(0, [("w|a", {"o": 1}), (META, {"o": 1, "max": 0, "wm": 0})])
    state.delete_after("w|a", drop_wm=50)
    state.meta["wm"] = 60  # this batch moved the watermark past the drop point ...
    state.put(META, state.meta)
    assert [k for k, v in state.drain() if v is None] == []  # ... but it is not persisted yet
    state.put("w|b", {"o": 2})
    writes = state.drain()  # next batch: the watermark 60 is in the changelog before this
    assert writes[0] == ("w|a", None)
    assert state.get("w|a") is None


@given(
    st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), max_size=60), st.randoms()
)
def test_exact_sums_do_not_depend_on_order(values: list[float], rnd: random.Random) -> None:
    forward: list[float] = []
    for v in values:
        add_exact(forward, v)
    shuffled = list(values)
    rnd.shuffle(shuffled)
    backward: list[float] = []
    for v in shuffled:
        add_exact(backward, v)
    assert total(forward) == total(backward) == math.fsum(values)


def test_a_retraction_cancels_exactly() -> None:
    parts: list[float] = []
    for v in (0.1, 0.2, 0.3):
        add_exact(parts, v)
    add_exact(parts, -0.2)
    assert total(parts) == math.fsum([0.1, 0.3])
