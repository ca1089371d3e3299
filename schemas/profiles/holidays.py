"""Vietnamese public holidays 2021-2027, written as data (they are public facts).

Lunar dates (Tết, Hùng Kings' day) do not follow the Gregorian calendar, so they are
listed, not computed. Tết is the official break of public servants (the Labour Code's
five days joined to weekends by the yearly government notice). Compensation days
for a holiday falling on a weekend are not listed.
"""

from __future__ import annotations

from datetime import date, timedelta

from schemas.profile import Holiday, HolidayKind

TET_NEW_YEAR_DAY: dict[int, date] = {
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
}
"""Mùng 1 Tết, the first day of the lunar year."""

TET_BREAK: dict[int, tuple[date, date]] = {
    2021: (date(2021, 2, 10), date(2021, 2, 16)),
    2022: (date(2022, 1, 29), date(2022, 2, 6)),
    2023: (date(2023, 1, 20), date(2023, 1, 26)),
    2024: (date(2024, 2, 8), date(2024, 2, 14)),
    2025: (date(2025, 1, 25), date(2025, 2, 2)),
    2026: (date(2026, 2, 14), date(2026, 2, 22)),
    # Not yet announced when this was written: the usual shape (28 Tết to mùng 5).
    2027: (date(2027, 2, 4), date(2027, 2, 10)),
}
"""First and last day off (inclusive) around Tết."""

HUNG_KINGS_DAY: dict[int, date] = {
    2021: date(2021, 4, 21),
    2022: date(2022, 4, 10),
    2023: date(2023, 4, 29),
    2024: date(2024, 4, 18),
    2025: date(2025, 4, 7),
    2026: date(2026, 4, 26),
    2027: date(2027, 4, 16),
}
"""Giỗ Tổ Hùng Vương, the 10th day of the 3rd lunar month."""

NATIONAL_DAY_ADJACENT: dict[int, date] = {
    2021: date(2021, 9, 3),
    2022: date(2022, 9, 1),
    2023: date(2023, 9, 1),
    2024: date(2024, 9, 3),
    2025: date(2025, 9, 1),
    # Chosen yearly by the government; these two follow the weekday pattern.
    2026: date(2026, 9, 1),
    2027: date(2027, 9, 3),
}
"""The day before or after 2 September that joins National Day."""


def holidays(years: range = range(2021, 2028)) -> list[Holiday]:
    """Tết and national holidays of the given years, sorted by date."""
    found: dict[date, Holiday] = {}
    for year in years:
        first, last = TET_BREAK[year]
        day = first
        while day <= last:
            offset = (day - TET_NEW_YEAR_DAY[year]).days
            label = f"mùng {offset + 1}" if offset >= 0 else f"{-offset} ngày trước Tết"
            found[day] = Holiday(date=day, name=f"Tết Nguyên Đán {year} ({label})", kind="tet")
            day += timedelta(days=1)
        national = [
            (date(year, 1, 1), "Tết Dương lịch"),
            (HUNG_KINGS_DAY[year], "Giỗ Tổ Hùng Vương"),
            (date(year, 4, 30), "Ngày Giải phóng miền Nam, thống nhất đất nước"),
            (date(year, 5, 1), "Ngày Quốc tế Lao động"),
            (date(year, 9, 2), "Quốc khánh"),
            (NATIONAL_DAY_ADJACENT[year], "Quốc khánh (ngày liền kề)"),
        ]
        for day, name in national:
            found.setdefault(day, Holiday(date=day, name=name, kind=HolidayKind.NATIONAL))
    return [found[d] for d in sorted(found)]
