"""Local time of the province: day kinds, holidays, office hours and office-time arithmetic.

Times are integer epoch milliseconds (UTC) inside the simulator — exact, cheap to
compare, and what Kafka record timestamps use; local dates and hours come from the
profile's time zone. Pure code: no I/O, no wall clock.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from schemas.province.calendar import HolidayKind
from schemas.province.profile import Profile
from schemas.timeutil import to_ms

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
QUARTER_MS = 900_000
TET_EVE_DAYS = 5
"""Days before a Tết break with homecoming travel and Tết shopping."""

OFFICE_HOURS: tuple[tuple[time, time], ...] = (
    (time(7, 30), time(11, 30)),
    (time(13, 30), time(17)),
)
"""One-stop shops: Monday to Friday, 7:30-11:30 and 13:30-17:00 local, except holidays."""
OFFICE_DAY_S = 7.5 * 3600
"""Office seconds in a working day."""


class DayKind(StrEnum):
    WEEKDAY = "weekday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"
    HOLIDAY = "holiday"
    TET = "tet"


@dataclass(frozen=True, slots=True)
class Day:
    """One local calendar day."""

    date: date
    kind: DayKind
    tet_eve: bool
    start_ms: int
    end_ms: int
    office: tuple[tuple[int, int], ...]
    """Office intervals [start, end) in epoch ms; empty on weekends and holidays."""

    @property
    def working(self) -> bool:
        """A day the one-stop shops are open."""
        return bool(self.office)


class Clock:
    """Calendar maths for one profile (its time zone and holidays), with per-day caching."""

    def __init__(self, profile: Profile) -> None:
        self.zone = profile.zone
        self._profile = profile
        self._days: dict[date, Day] = {}
        self._dates: dict[int, date] = {}
        self._origin: date | None = None
        self._cum: list[int] = [0]

    # --- days ---------------------------------------------------------------------------

    def day(self, d: date) -> Day:
        """The local day ``d`` (cached)."""
        found = self._days.get(d)
        if found is None:
            found = self._days[d] = self._make_day(d)
        return found

    def _holiday(self, d: date) -> HolidayKind | None:
        holiday = self._profile.holiday_on(d)
        return None if holiday is None else holiday.kind

    def _make_day(self, d: date) -> Day:
        holiday = self._holiday(d)
        if holiday == HolidayKind.TET:
            kind = DayKind.TET
        elif holiday is not None:
            kind = DayKind.HOLIDAY
        elif self._profile.is_working_day(d):
            kind = DayKind.WEEKDAY  # Monday to Friday, or a notice's make-up Saturday
        elif d.weekday() == 5:
            kind = DayKind.SATURDAY
        else:
            kind = DayKind.SUNDAY
        tet_eve = holiday is None and any(
            self._holiday(d + timedelta(days=k)) == HolidayKind.TET
            for k in range(1, TET_EVE_DAYS + 1)
        )
        office: tuple[tuple[int, int], ...] = ()
        if kind == DayKind.WEEKDAY:
            office = tuple((self._at(d, a), self._at(d, b)) for a, b in OFFICE_HOURS)
        start = self._at(d, time(0))
        end = self._at(d + timedelta(days=1), time(0))
        return Day(d, kind, tet_eve, start, end, office)

    def _at(self, d: date, t: time) -> int:
        return to_ms(datetime.combine(d, t, tzinfo=self.zone))

    def local_date(self, t_ms: int) -> date:
        """The local calendar date at an instant."""
        # Every zone offset is a multiple of 15 min, so a 15-min bucket lies in one date.
        bucket = t_ms // QUARTER_MS
        found = self._dates.get(bucket)
        if found is None:
            found = datetime.fromtimestamp(bucket * QUARTER_MS / 1000, tz=self.zone).date()
            self._dates[bucket] = found
        return found

    def day_at(self, t_ms: int) -> Day:
        """The local day containing an instant."""
        return self.day(self.local_date(t_ms))

    def hour(self, t_ms: int, day: Day | None = None) -> float:
        """Local hour of day as a float in [0, 24)."""
        day = day or self.day_at(t_ms)
        return (t_ms - day.start_ms) / HOUR_MS

    def at_local(self, d: date, hour: float) -> int:
        """Epoch ms of a local date and fractional hour."""
        return self.day(d).start_ms + round(hour * HOUR_MS)

    # --- office time ----------------------------------------------------------------------
    #
    # Office time is indexed as a cumulative counter (office ms before each local day,
    # from a movable origin), so adding, subtracting and measuring office time are a
    # bisection instead of a walk over days: the dossier lifecycle does this a lot.

    def is_office(self, t_ms: int) -> bool:
        """Inside the one-stop shops' opening hours."""
        return any(a <= t_ms < b for a, b in self.day_at(t_ms).office)

    def _index(self, d: date) -> int:
        if self._origin is None or d < self._origin:
            self._origin = d - timedelta(days=62)
            self._cum = [0]
        i = (d - self._origin).days
        while len(self._cum) <= i + 1:
            k = len(self._cum) - 1
            day = self.day(self._origin + timedelta(days=k))
            self._cum.append(self._cum[-1] + sum(b - a for a, b in day.office))
        return i

    def office_ms(self, t_ms: int) -> int:
        """Office milliseconds from the index origin to ``t_ms``."""
        d = self.local_date(t_ms)
        i = self._index(d)  # first: it may move the origin and rebuild the index
        total = self._cum[i]
        for a, b in self.day(d).office:
            total += min(max(t_ms - a, 0), b - a)
        return total

    def _day_of_office(self, c: int, *, later: bool) -> tuple[date, int]:
        # The day holding office instant c, and c's offset inside that day's office time.
        # later=False: the day where c is reached (an interval end counts as inside);
        # later=True: the day where office time continues from c (an interval start).
        assert self._origin is not None
        for _ in range(3660):  # ten years: a bound, never reached in practice
            if self._cum[-1] > c or (not later and self._cum[-1] >= c):
                break
            self._index(self._origin + timedelta(days=len(self._cum)))
        else:
            raise ValueError("office time beyond ten years")
        k = (bisect_right(self._cum, c) if later else bisect_left(self._cum, c)) - 1
        return self._origin + timedelta(days=k), c - self._cum[k]

    def _at_office(self, d: date, offset: int, *, later: bool) -> int:
        for a, b in self.day(d).office:
            if offset < b - a or (not later and offset == b - a):
                return a + offset
            offset -= b - a
        raise AssertionError("office offset outside its day")

    def add_office(self, t_ms: int, seconds: float) -> int:
        """The instant ``seconds`` of office time after ``t_ms`` (closed hours skipped).

        Zero seconds from outside office hours gives the next opening.
        """
        c = self.office_ms(t_ms) + round(seconds * 1000)
        if seconds <= 0:
            if self.is_office(t_ms):
                return t_ms
            d, offset = self._day_of_office(c, later=True)
            return self._at_office(d, offset, later=True)
        d, offset = self._day_of_office(c, later=False)
        return self._at_office(d, offset, later=False)

    def sub_office(self, t_ms: int, seconds: float) -> int:
        """The instant ``seconds`` of office time before ``t_ms``."""
        if seconds <= 0:
            return t_ms
        c = self.office_ms(t_ms) - round(seconds * 1000)
        while c < 0:  # before the origin: move it back and measure again
            assert self._origin is not None
            self._index(self._origin - timedelta(days=1))
            c = self.office_ms(t_ms) - round(seconds * 1000)
        d, offset = self._day_of_office(c, later=True)
        return self._at_office(d, offset, later=True)

    def office_between(self, a_ms: int, b_ms: int) -> float:
        """Office seconds in [a, b)."""
        if b_ms <= a_ms:
            return 0.0
        start = self.office_ms(a_ms)
        return (self.office_ms(b_ms) - start) / 1000
