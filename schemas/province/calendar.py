"""Public holidays and working days of a province: the national calendar plus its notices.

Two sources, one calendar (decision 0019):

- the **national calendar** of any year comes from the ``holidays`` package (pinned in
  the lock): New Year, Tết (the Labour Code's days, from the lunisolar calendar), Hùng
  Kings' day, 30 April, 1 May, 2 September and its adjacent day, days off compensating
  a holiday that falls on a weekend (*nghỉ bù*) and the swaps it knows of;
- the **notices** of a year (the Government's and the province's yearly notice: the
  Tết break joined to weekends, days swapped, make-up working Saturdays, *làm bù*) are
  profile data (``calendar.notices`` in the profile file): an operator adds next year's
  notice to the profile, no code changes.

A notice wins over the package: its Tết break days are Tết, its days off are holidays,
its working days are working days even when the package lists them as holidays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Literal, Self

from pydantic import Field, model_validator

from schemas.base import HandEdited

TET_WINDOW_DAYS = 10
"""National holidays this close to mùng 1 Tết are Tết days (eve, break, its nghỉ bù)."""


class HolidayKind(StrEnum):
    TET = "tet"
    NATIONAL = "national"


class Holiday(HandEdited):
    date: date
    name: str = Field(min_length=1, max_length=200)
    kind: HolidayKind


class TetBreak(HandEdited):
    """The first and last day off (inclusive) around Tết, weekends included."""

    first: date
    last: date

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.first <= self.last <= self.first + timedelta(days=15):
            raise ValueError(f"Tết break {self.first}..{self.last}: first ≤ last ≤ first + 15")
        return self


class HolidayNotice(HandEdited):
    """One year's notice on public holidays, as the province applies it."""

    year: int = Field(ge=1990, le=2199)
    source: str = Field(
        min_length=1,
        max_length=500,
        description="Which notice (number, date, issuer), or why the days are assumed",
    )
    tet_break: TetBreak | None = None
    days_off: list[Holiday] = Field(
        default_factory=list, description="Other days off: a swap, a holiday's adjacent day"
    )
    working_days: list[date] = Field(
        default_factory=list,
        description="Days worked although a weekend (làm bù) or a holiday in the package",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        days = [h.date for h in self.days_off] + list(self.working_days)
        if self.tet_break is not None:
            days += [self.tet_break.first, self.tet_break.last]
        errors = [f"{d} is not in {self.year}" for d in days if d.year != self.year]
        off = {h.date for h in self.days_off}
        if len(off) != len(self.days_off):
            errors.append("a day off is listed twice")
        errors += [
            f"{d} is both a day off and a working day" for d in self.working_days if d in off
        ]
        if errors:
            raise ValueError(f"notice {self.year}: " + "; ".join(errors))
        return self


class HolidayCalendar(HandEdited):
    """The calendar part of a profile: whose national holidays, and the notices applied."""

    country: Literal["VN"] = "VN"
    notices: list[HolidayNotice] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class YearCalendar:
    """Holidays and make-up working days of one year, notices applied."""

    year: int
    holidays: dict[date, Holiday]
    working_days: frozenset[date]
    tet: date
    """Mùng 1 Tết."""


def tet_label(day: date, tet: date) -> str:
    """A Tết day's name: 'Tết Nguyên Đán 2027 (mùng 1)', '… (2 ngày trước Tết)'."""
    offset = (day - tet).days
    label = f"mùng {offset + 1}" if offset >= 0 else f"{-offset} ngày trước Tết"
    return f"Tết Nguyên Đán {tet.year} ({label})"


@lru_cache(maxsize=256)
def national(year: int, country: str = "VN") -> tuple[date, tuple[Holiday, ...]]:
    """Mùng 1 Tết and the national holidays of ``year`` from the ``holidays`` package."""
    import holidays as package  # the PyPI package, not schemas.province.profiles

    vi = package.country_holidays(country, years=year, language="vi")
    en = package.country_holidays(country, years=year, language="en_US")
    new_year = en.get_named("Lunar New Year", lookup="exact")
    if len(new_year) != 1:
        raise ValueError(f"the holidays package finds no single Lunar New Year in {year}")
    tet = new_year[0]
    found = []
    for day, name in sorted(vi.items()):
        if abs((day - tet).days) <= TET_WINDOW_DAYS:
            found.append(Holiday(date=day, name=tet_label(day, tet), kind=HolidayKind.TET))
        else:
            found.append(Holiday(date=day, name=name, kind=HolidayKind.NATIONAL))
    return tet, tuple(found)


def year_calendar(calendar: HolidayCalendar, year: int) -> YearCalendar:
    """The national holidays of ``year`` with the calendar's notices of that year applied."""
    tet, base = national(year, calendar.country)
    days = {h.date: h for h in base}
    working: set[date] = set()
    for notice in calendar.notices:
        if notice.year != year:
            continue
        if notice.tet_break is not None:
            day = notice.tet_break.first
            while day <= notice.tet_break.last:
                days[day] = Holiday(date=day, name=tet_label(day, tet), kind=HolidayKind.TET)
                day += timedelta(days=1)
        days.update({h.date: h for h in notice.days_off})
        working.update(notice.working_days)
    for day in working:
        days.pop(day, None)
    return YearCalendar(year, dict(sorted(days.items())), frozenset(working), tet)
