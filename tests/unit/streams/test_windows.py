"""Window alignment (epoch and local calendar) and the watermark rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.results import WindowSize
from schemas.timeutil import to_ms
from streams.windows import (
    MINUTE_MS,
    accepts,
    drop_at,
    is_closed,
    is_dropped,
    oldest_accepted_ms,
    window_bounds,
    window_end,
    window_key,
)
from tests.unit.streams.scenario import LOCAL

pytestmark = pytest.mark.unit


def local_ms(*args: int) -> int:
    return to_ms(datetime(*args, tzinfo=LOCAL))  # type: ignore[misc]


def test_fixed_windows_align_to_the_epoch_and_to_local_hours() -> None:
    t = local_ms(2026, 11, 26, 8, 37, 12)
    assert window_bounds(t, WindowSize.M1) == (
        local_ms(2026, 11, 26, 8, 37),
        local_ms(2026, 11, 26, 8, 38),
    )
    assert window_bounds(t, WindowSize.M15) == (
        local_ms(2026, 11, 26, 8, 30),
        local_ms(2026, 11, 26, 8, 45),
    )
    assert window_bounds(t, WindowSize.H1) == (local_ms(2026, 11, 26, 8), local_ms(2026, 11, 26, 9))


@pytest.mark.parametrize("size", [WindowSize.D1, WindowSize.DAY])
def test_days_start_at_local_midnight_not_at_07_00(size: WindowSize) -> None:
    last_second = local_ms(2026, 10, 31, 23, 59, 59)
    first_second = local_ms(2026, 11, 1, 0, 0, 0)
    assert window_bounds(last_second, size) == (local_ms(2026, 10, 31), local_ms(2026, 11, 1))
    assert window_bounds(first_second, size) == (local_ms(2026, 11, 1), local_ms(2026, 11, 2))
    # 00:00 local is 17:00 UTC the day before: an epoch-aligned day would be wrong here
    assert datetime.fromtimestamp(first_second / 1000, UTC).hour == 17


def test_months_are_local_calendar_months() -> None:
    assert window_bounds(local_ms(2026, 10, 31, 23, 59, 59), WindowSize.MONTH) == (
        local_ms(2026, 10, 1),
        local_ms(2026, 11, 1),
    )
    assert window_bounds(local_ms(2026, 11, 1), WindowSize.MONTH) == (
        local_ms(2026, 11, 1),
        local_ms(2026, 12, 1),
    )
    assert window_bounds(local_ms(2026, 12, 31, 12), WindowSize.MONTH)[1] == local_ms(2027, 1, 1)
    assert window_bounds(local_ms(2028, 2, 29, 12), WindowSize.MONTH) == (
        local_ms(2028, 2, 1),
        local_ms(2028, 3, 1),
    )


@given(st.integers(min_value=0, max_value=4_000_000_000_000), st.sampled_from(list(WindowSize)))
def test_a_window_contains_its_instant_and_ends_where_the_next_starts(
    ts: int, size: WindowSize
) -> None:
    start, end = window_bounds(ts, size)
    assert start <= ts < end
    assert window_end(start, size) == end
    assert window_bounds(end, size)[0] == end


def test_watermark_closes_then_drops() -> None:
    lateness = 120_000
    end = local_ms(2026, 11, 26, 8, 1)
    assert not is_closed(end, None)
    assert not is_closed(end, end - 1)
    assert is_closed(end, end)
    assert not is_dropped(end, end + lateness - 1, lateness)
    assert is_dropped(end, drop_at(end, lateness), lateness)


@given(
    st.integers(min_value=10**12, max_value=2 * 10**12), st.integers(min_value=0, max_value=600_000)
)
def test_oldest_accepted_is_the_boundary_of_accepts(wm: int, lateness: int) -> None:
    bound = oldest_accepted_ms(wm, lateness)
    assert bound is not None
    assert bound % MINUTE_MS == 0
    assert accepts(bound, wm, lateness)
    assert not accepts(bound - 1, wm, lateness)


def test_window_keys_are_primitives() -> None:
    assert (
        window_key("sensor", "TS-1", WindowSize.M15, 1_700_000_000_000)
        == "w|sensor|TS-1|15m|1700000000000"
    )
