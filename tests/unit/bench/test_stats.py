"""Percentile maths and rates of the bench report."""

from __future__ import annotations

import random

import pytest

from ioc.tooling.bench.stats import Spread, percentile, rate, ratio

pytestmark = pytest.mark.unit


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == 2.5
    assert percentile(values, 99) == pytest.approx(3.97)


def test_percentile_does_not_depend_on_order() -> None:
    values = [float(i) for i in range(1, 1001)]
    shuffled = values[:]
    random.Random(3).shuffle(shuffled)
    assert percentile(shuffled, 95) == percentile(values, 95) == pytest.approx(950.05)


def test_percentile_of_nothing_and_of_one() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_spread_summarises_and_handles_empty() -> None:
    spread = Spread.of([float(x) for x in range(101)])
    assert (spread.count, spread.p50, spread.p95, spread.p99, spread.max) == (
        101, 50.0, 95.0, 99.0, 100.0,
    )  # fmt: skip
    empty = Spread.of([])
    assert empty.count == 0
    assert empty.p99 is None


def test_rate_and_ratio_refuse_missing_or_zero() -> None:
    assert rate(100, 4.0) == 25.0
    assert rate(100, 0) is None
    assert rate(100, None) is None
    assert ratio(1.0, 4.0) == 0.25
    assert ratio(None, 4.0) is None
    assert ratio(1.0, 0.0) is None


def test_a_short_feed_runs_event_time_to_two_seconds_before_a_minute() -> None:
    from ioc.tooling.bench.feed import boundary_shift

    for now in (0, 1_000, 57_999, 58_000, 59_999, 1_795_700_123_456):
        shift = boundary_shift(now)
        assert 0 <= shift < 60_000
        assert (now + shift + 2_000) % 60_000 == 0


def test_the_boundary_goes_as_late_as_a_close_still_fits_in_the_feed() -> None:
    from ioc.tooling.bench.feed import boundary_lead_ms

    assert boundary_lead_ms(60_000, 10_000) == 48_000  # closes at 58 s of a 60 s feed
    assert boundary_lead_ms(6_000, 3_000) == 1_000
    assert boundary_lead_ms(600_000, 10_000) is None  # several boundaries anyway
