"""The one place the tests take "today" and "now" from.

Every scenario whose dates follow the day the suite runs is dated from :func:`today`
(local, Asia/Ho_Chi_Minh) and :func:`now`. ``IOC_TEST_TODAY=YYYY-MM-DD`` moves all of
them to another day, so a run can prove that the suite does not depend on the day it
runs: month ends, a Sunday, Tết, 1 January (docs/testing.md, "Moving the scenario
date"). It moves the scenarios, not the machine's clock, so it may not lie after the
real today: a scenario in the past is a backfill the pipeline must take, one in the
future is data no connector accepts.

Scenarios that must be the same on every run (a detection smoke test whose injections
were placed for one ordinary week) pin their own date instead and say why.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

from schemas.timeutil import LOCAL_TZ

TODAY_ENV = "IOC_TEST_TODAY"


def real_today() -> date:
    """The local date of the machine's clock."""
    return datetime.now(tz=LOCAL_TZ).date()


def today() -> date:
    """The local day the scenarios are built around: ``IOC_TEST_TODAY`` or the real one."""
    raw = os.environ.get(TODAY_ENV, "").strip()
    if not raw:
        return real_today()
    try:
        day = date.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"{TODAY_ENV}={raw!r} is not a date (YYYY-MM-DD)") from exc
    if day > real_today():
        raise ValueError(f"{TODAY_ENV}={raw} is after the real today ({real_today()})")
    return day


def now() -> datetime:
    """The scenario's "now" (UTC): the real time of day on :func:`today`."""
    real = datetime.now(tz=LOCAL_TZ)
    moved = real + timedelta(days=(today() - real.date()).days)
    return moved.astimezone(UTC)


def local_midnight(day: date) -> datetime:
    """00:00 local of ``day``, timezone-aware."""
    return datetime.combine(day, datetime.min.time(), tzinfo=LOCAL_TZ)
