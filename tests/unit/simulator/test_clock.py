"""Local days, holidays and office-time arithmetic of the simulator's clock."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest

from ioc.tooling.simulator.clock import Clock, DayKind
from schemas.province.loading import load_profile
from schemas.timeutil import to_ms
from tests.unit.simulator.conftest import LOCAL

pytestmark = pytest.mark.unit

CLOCK = Clock(load_profile())


def local_ms(*args: int) -> int:
    return to_ms(datetime(*args, tzinfo=LOCAL))  # type: ignore[misc]


def test_day_kinds_follow_weekdays_and_the_holiday_calendar() -> None:
    assert CLOCK.day(date(2026, 11, 2)).kind == DayKind.WEEKDAY
    assert CLOCK.day(date(2026, 11, 7)).kind == DayKind.SATURDAY
    assert CLOCK.day(date(2026, 11, 8)).kind == DayKind.SUNDAY
    assert CLOCK.day(date(2027, 2, 6)).kind == DayKind.TET  # mùng 1 Tết Đinh Mùi
    assert CLOCK.day(date(2027, 1, 1)).kind == DayKind.HOLIDAY
    assert CLOCK.day(date(2027, 2, 1)).tet_eve
    assert not CLOCK.day(date(2027, 1, 25)).tet_eve
    assert not CLOCK.day(date(2027, 2, 6)).working


def test_local_dates_and_hours_use_the_profile_zone() -> None:
    midnight = local_ms(2026, 11, 2)
    assert CLOCK.local_date(midnight) == date(2026, 11, 2)
    assert CLOCK.local_date(midnight - 1) == date(2026, 11, 1)
    assert CLOCK.hour(local_ms(2026, 11, 2, 7, 30)) == 7.5
    assert CLOCK.at_local(date(2026, 11, 2), 17.0) == local_ms(2026, 11, 2, 17)


def test_office_hours() -> None:
    assert CLOCK.is_office(local_ms(2026, 11, 2, 7, 30))
    assert not CLOCK.is_office(local_ms(2026, 11, 2, 12))
    assert not CLOCK.is_office(local_ms(2026, 11, 2, 17))
    assert not CLOCK.is_office(local_ms(2026, 11, 7, 9))  # Saturday
    friday_late = local_ms(2026, 11, 6, 16, 30)
    # half an hour on Friday, the rest from Monday 7:30
    assert CLOCK.add_office(friday_late, 3600) == local_ms(2026, 11, 9, 8)
    assert CLOCK.add_office(local_ms(2026, 11, 7, 10), 0) == local_ms(2026, 11, 9, 7, 30)
    assert CLOCK.office_between(local_ms(2026, 11, 2), local_ms(2026, 11, 3)) == 7.5 * 3600
    # Tết 2027: closed from 4 to 10 February
    assert CLOCK.add_office(local_ms(2027, 2, 3, 16), 7200) == local_ms(2027, 2, 11, 8, 30)


def _walk_add(t: int, seconds: float) -> int:
    left = round(seconds * 1000)
    d = CLOCK.local_date(t)
    while True:
        for a, b in CLOCK.day(d).office:
            a = max(a, t)
            if b > a:
                if left <= b - a:
                    return a + left
                left -= b - a
        d += timedelta(days=1)


def _walk_sub(t: int, seconds: float) -> int:
    left = round(seconds * 1000)
    d = CLOCK.local_date(t)
    while True:
        for a, b in reversed(CLOCK.day(d).office):
            b = min(b, t)
            if b > a:
                if left <= b - a:
                    return b - left
                left -= b - a
        d -= timedelta(days=1)


def test_indexed_office_arithmetic_matches_a_day_by_day_walk() -> None:
    rng = random.Random(3)
    base = local_ms(2027, 1, 15)
    for _ in range(1_500):
        t = base + rng.randrange(40 * 86_400_000)
        seconds = rng.choice([0.0, 27_000.0, 14_400.0, rng.uniform(0, 10 * 27_000)])
        assert CLOCK.add_office(t, seconds) == _walk_add(t, seconds), (t, seconds)
        if seconds:
            assert CLOCK.sub_office(t, seconds) == _walk_sub(t, seconds), (t, seconds)
        u = base + rng.randrange(40 * 86_400_000)
        later = CLOCK.add_office(min(t, u), seconds)
        assert CLOCK.office_between(min(t, u), later) == pytest.approx(seconds, abs=1e-3)
