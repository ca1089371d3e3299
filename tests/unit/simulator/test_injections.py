"""The injection planner: ≥ 20 of every kind in three weeks, spread, calm days only."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta

import pytest

from ioc.tooling.simulator import energy
from ioc.tooling.simulator.clock import Clock, DayKind
from ioc.tooling.simulator.injections import Kind
from ioc.tooling.simulator.planner import GROUP_MARGIN_MS, Planner
from schemas.province.loading import load_profile
from schemas.timeutil import to_ms
from tests.unit.simulator.conftest import LOCAL

pytestmark = pytest.mark.unit

PROFILE = load_profile()
CLOCK = Clock(PROFILE)
ALL = ("traffic", "energy", "qr", "dossier")


def plan(seed: int, start: datetime, days: int = 21, **kw: object) -> list:  # type: ignore[type-arg]
    return Planner(
        PROFILE,
        CLOCK,
        seed,
        to_ms(start),
        to_ms(start + timedelta(days=days)),
        domains=kw.pop("domains", ALL),  # type: ignore[arg-type]
        exclude_meters=energy.rollover_meters(PROFILE, seed),
        **kw,  # type: ignore[arg-type]
    ).plan()


@pytest.mark.parametrize("seed", [7, 8, 2026])
def test_three_weeks_hold_at_least_twenty_of_every_kind(seed: int) -> None:
    start = datetime(2026, 11, 1, tzinfo=LOCAL)
    found = plan(seed, start)
    counts = Counter(i.kind for i in found)
    assert set(counts) == set(Kind)
    assert min(counts.values()) >= 20, counts
    warmup_end = to_ms(start) + PROFILE.rules.seasonal_warmup_days * 86_400_000
    assert all(i.start_ms >= warmup_end for i in found), "after the seasonal warm-up"
    silences = Counter(i.entity_kind for i in found if i.kind == Kind.SILENCE)
    assert silences["sensor"] >= 10
    assert silences["meter"] >= 10


def test_plans_are_deterministic_and_seed_dependent() -> None:
    start = datetime(2026, 11, 1, tzinfo=LOCAL)
    assert plan(7, start) == plan(7, start)
    assert plan(7, start) != plan(8, start)


def test_one_injection_per_group_at_a_time_and_never_on_holidays() -> None:
    found = plan(7, datetime(2027, 1, 20, tzinfo=LOCAL), days=28)  # spans Tết 2027
    assert min(Counter(i.kind for i in found).values()) >= 20
    by_group: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for inj in found:
        by_group.setdefault((inj.domain, inj.group), []).append((inj.start_ms, inj.end_ms))
        for t in (inj.start_ms, inj.end_ms):
            day = CLOCK.day_at(t)
            assert day.kind not in (DayKind.TET, DayKind.HOLIDAY)
            assert not day.tet_eve
    for spans in by_group.values():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start - end >= GROUP_MARGIN_MS


def test_kinds_follow_the_simulated_domains() -> None:
    found = plan(7, datetime(2026, 11, 1, tzinfo=LOCAL), domains=("traffic",))
    assert {i.kind for i in found} == {Kind.CONGESTION, Kind.SILENCE}
    assert {i.entity_kind for i in found if i.kind == Kind.SILENCE} == {"sensor"}


def test_injections_carry_place_metric_size_and_threshold() -> None:
    for inj in plan(7, datetime(2026, 11, 1, tzinfo=LOCAL)):
        assert inj.end_ms > inj.start_ms
        assert PROFILE.group_of(inj.entity_kind, inj.entity_id) == inj.group
        assert PROFILE.area_of(inj.entity_kind, inj.entity_id) == inj.area_code
        assert inj.metric
        assert inj.threshold > 0
        if inj.kind == Kind.UNDERVOLTAGE:
            assert inj.size < inj.threshold
        if inj.kind in (Kind.CONGESTION, Kind.QR_SURGE, Kind.OVERDUE_SPIKE):
            assert inj.size > inj.threshold
        if inj.kind == Kind.OVERDUE_SPIKE:
            assert CLOCK.day_at(inj.start_ms).working
        if inj.kind == Kind.CONGESTION:
            assert 6 <= CLOCK.hour(inj.start_ms) < 19
