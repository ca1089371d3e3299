"""Holidays: the holidays package's national calendar plus the profiles' notices."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from schemas.province.calendar import (
    HolidayCalendar,
    HolidayKind,
    HolidayNotice,
    TetBreak,
    national,
    year_calendar,
)
from schemas.province.loading import load_profile

pytestmark = pytest.mark.unit

BP = load_profile("binh-phuoc-2021")

# The table the profiles carried before issue 21 (schemas/province/profiles/holidays.py, 2021-2027):
# Tết breaks as announced (2027 assumed), Hùng Kings' day, National Day's adjacent day.
OLD_TET_BREAK = {
    2021: (date(2021, 2, 10), date(2021, 2, 16)),
    2022: (date(2022, 1, 29), date(2022, 2, 6)),
    2023: (date(2023, 1, 20), date(2023, 1, 26)),
    2024: (date(2024, 2, 8), date(2024, 2, 14)),
    2025: (date(2025, 1, 25), date(2025, 2, 2)),
    2026: (date(2026, 2, 14), date(2026, 2, 22)),
    2027: (date(2027, 2, 4), date(2027, 2, 10)),
}
OLD_HUNG_KINGS = [
    date(2021, 4, 21), date(2022, 4, 10), date(2023, 4, 29), date(2024, 4, 18),
    date(2025, 4, 7), date(2026, 4, 26), date(2027, 4, 16),
]  # fmt: skip
OLD_NATIONAL_DAY_ADJACENT = [
    date(2021, 9, 3), date(2022, 9, 1), date(2023, 9, 1), date(2024, 9, 3),
    date(2025, 9, 1), date(2026, 9, 1), date(2027, 9, 3),
]  # fmt: skip

# What the old table lacked: days off compensating a holiday on a weekend (nghỉ bù), the
# swapped days off, and Vietnam Culture Day (24 November, a day off from 2026).
ADDED = {
    date(2021, 5, 3), date(2022, 1, 3), date(2022, 4, 11), date(2022, 5, 2), date(2022, 5, 3),
    date(2023, 1, 2), date(2023, 5, 2), date(2023, 5, 3), date(2023, 9, 4), date(2024, 4, 29),
    date(2025, 5, 2), date(2026, 4, 27), date(2026, 8, 31), date(2026, 11, 24),
    date(2027, 5, 3), date(2027, 11, 24),
}  # fmt: skip


def _old_table() -> dict[date, HolidayKind]:
    days: dict[date, HolidayKind] = {}
    for first, last in OLD_TET_BREAK.values():
        days.update({first + timedelta(n): HolidayKind.TET for n in range((last - first).days + 1)})
    for year in range(2021, 2028):
        for day in (date(year, 1, 1), date(year, 4, 30), date(year, 5, 1), date(year, 9, 2)):
            days.setdefault(day, HolidayKind.NATIONAL)
    for day in OLD_HUNG_KINGS + OLD_NATIONAL_DAY_ADJACENT:
        days.setdefault(day, HolidayKind.NATIONAL)
    return days


def test_2021_to_2027_keep_every_day_of_the_old_table_and_add_only_compensation_days() -> None:
    new = {h.date: h.kind for h in BP.holidays_in(range(2021, 2028))}
    old = _old_table()
    assert {d: new.get(d) for d in old} == old
    assert set(new) - set(old) == ADDED
    assert all(new[d] == HolidayKind.NATIONAL for d in ADDED)


@pytest.mark.parametrize(
    ("year", "tet"),
    [(2028, date(2028, 1, 26)), (2030, date(2030, 2, 2)), (2045, date(2045, 2, 17))],
)
def test_years_after_the_old_table_have_tet_and_the_fixed_holidays(year: int, tet: date) -> None:
    mung_1 = BP.holiday_on(tet)
    assert mung_1 is not None
    assert mung_1.kind == HolidayKind.TET
    assert mung_1.name == f"Tết Nguyên Đán {year} (mùng 1)"
    tet_days = [h.date for h in BP.holidays_in([year]) if h.kind == HolidayKind.TET]
    assert len(tet_days) >= 5
    assert min(tet_days) < tet < max(tet_days)
    for month, day in ((1, 1), (4, 30), (5, 1), (9, 2)):
        holiday = BP.holiday_on(date(year, month, day))
        assert holiday is not None, (year, month, day)
        assert holiday.kind == HolidayKind.NATIONAL


def test_2028_compensation_days_are_off_and_working_days_follow() -> None:
    # 1 January 2028 is a Saturday: Monday 3 January is off; 30 April a Sunday: 2 May.
    assert BP.holiday_on(date(2028, 1, 3)) is not None
    assert BP.holiday_on(date(2028, 5, 2)) is not None
    assert not BP.is_working_day(date(2028, 1, 3))
    assert BP.is_working_day(date(2028, 1, 4))
    assert not BP.is_working_day(date(2028, 1, 8))  # a Saturday


def test_a_notice_adds_a_break_swaps_days_and_wins_over_the_package() -> None:
    notice = HolidayNotice(
        year=2030,
        source="test notice",
        tet_break=TetBreak(first=date(2030, 1, 30), last=date(2030, 2, 9)),
        days_off=[{"date": date(2030, 9, 4), "name": "Nghỉ thêm", "kind": "national"}],  # type: ignore[list-item]
        working_days=[date(2030, 1, 26), date(2030, 9, 3)],
    )
    base = year_calendar(HolidayCalendar(), 2030)
    applied = year_calendar(HolidayCalendar(notices=[notice]), 2030)
    assert date(2030, 1, 30) not in base.holidays
    assert applied.holidays[date(2030, 1, 30)].kind == HolidayKind.TET
    assert applied.holidays[date(2030, 2, 9)].name == "Tết Nguyên Đán 2030 (mùng 8)"
    assert applied.holidays[date(2030, 9, 4)].name == "Nghỉ thêm"
    assert date(2030, 9, 3) in base.holidays
    assert date(2030, 9, 3) not in applied.holidays  # worked, by the notice
    assert applied.working_days == {date(2030, 1, 26), date(2030, 9, 3)}


def test_shipped_notices_make_the_swapped_saturdays_working_days() -> None:
    for saturday in (date(2024, 5, 4), date(2025, 4, 26), date(2026, 8, 22)):
        assert saturday.weekday() == 5
        assert BP.is_working_day(saturday)
    assert BP.holiday_on(date(2026, 2, 14)).kind == HolidayKind.TET  # type: ignore[union-attr]


def test_package_tet_matches_the_lunisolar_new_year() -> None:
    for year, tet in (
        (2021, date(2021, 2, 12)),
        (2027, date(2027, 2, 6)),
        (2030, date(2030, 2, 2)),
    ):
        assert national(year)[0] == tet


def test_a_notice_refuses_days_of_another_year() -> None:
    with pytest.raises(ValueError, match="is not in 2030"):
        HolidayNotice(year=2030, source="x", working_days=[date(2031, 1, 4)])
