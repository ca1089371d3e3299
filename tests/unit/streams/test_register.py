"""Energy from registers: rollover, reset, impossible decreases, out-of-order readings."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.detect import RegisterStep
from streams.kpi import register

pytestmark = pytest.mark.unit

LIMITS = {"register_max_kwh": 100_000.0, "reset_floor_kwh": 10.0}


def chain(*values: float) -> list[register.Reading]:
    return [(i * 60_000, v, i) for i, v in enumerate(values)]


def test_steps() -> None:
    found = register.steps(
        chain(100.0, 101.5, 99_999.0, 0.5, 2.0, 0.3, 5000.0, 4950.0, 5001.0), **LIMITS
    )
    assert [s for s, _ in found] == [
        RegisterStep.FIRST,
        RegisterStep.FORWARD,
        RegisterStep.FORWARD,
        RegisterStep.ROLLOVER,  # 99 999 → 0.5 wraps at 100 000
        RegisterStep.FORWARD,
        RegisterStep.RESET,  # 2.0 → 0.3: near zero, not a plausible wrap
        RegisterStep.FORWARD,
        RegisterStep.BACKWARDS,  # impossible: contributes nothing ...
        RegisterStep.FORWARD,  # ... and is not the base: 5000 → 5001
    ]
    assert [k for _, k in found] == pytest.approx([0, 1.5, 99_897.5, 1.5, 1.5, 0.3, 4999.7, 0, 1.0])


def _kwh_by_time(contributions: list[register.Contribution]) -> dict[int, float]:
    out: dict[int, float] = {}
    for c in contributions:
        out[c.ts_ms] = out.get(c.ts_ms, 0.0) + c.kwh
    return out


@settings(max_examples=60)
@given(st.lists(st.floats(min_value=0, max_value=3), min_size=2, max_size=12), st.randoms())
def test_out_of_order_arrival_attributes_like_sorted(
    steps: list[float], rnd: random.Random
) -> None:
    values, total = [], 500.0
    for s in steps:
        total += s
        values.append(round(total, 3))
    readings = [(i * 60_000, v, 0) for i, v in enumerate(values)]
    arrival = list(readings)
    rnd.shuffle(arrival)
    known: list[register.Reading] = []
    got: dict[int, float] = {}
    for offset, (ts, kwh, _) in enumerate(arrival):
        reading = (ts, kwh, offset)
        for t, k in _kwh_by_time(register.contributions(known, reading, **LIMITS)).items():
            got[t] = got.get(t, 0.0) + k
        known = register.insert(known, reading)
    want = {
        ts: k
        for (ts, _, _), (_, k) in zip(readings, register.steps(readings, **LIMITS), strict=True)
    }
    assert set(got) <= set(want)
    for ts, kwh in want.items():
        assert got.get(ts, 0.0) == pytest.approx(kwh, abs=1e-9)


def test_contributions_ignore_readings_added_at_or_after_the_offset() -> None:
    # A chain record written ahead of a crash already holds the replayed reading and
    # later ones: the contribution must be what it was the first time.
    first = register.contributions(chain(100.0), (60_000, 101.0, 1), **LIMITS)
    ahead = [*chain(100.0), (60_000, 101.0, 1), (120_000, 103.0, 2)]
    assert register.contributions(ahead, (60_000, 101.0, 1), **LIMITS) == first


def test_prune_keeps_the_last_trusted_reading_before_the_bound() -> None:
    readings = chain(100.0, 101.0, 50.0, 102.0, 103.0)  # 50.0 is a glitch
    kept = register.prune(readings, 3 * 60_000, **LIMITS)
    assert [v for _, v, _ in kept] == [101.0, 50.0, 102.0, 103.0]
    assert register.prune(readings, None, **LIMITS) == readings
