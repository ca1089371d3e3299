"""Event-time windows and the watermark, as plain integer arithmetic (no Kafka, no faust).

Times are epoch milliseconds. Minute, quarter-hour and hour windows are aligned to the
epoch (Asia/Ho_Chi_Minh is UTC+7 all year, so they are aligned to local time too); day
windows (``1d`` for telemetry, ``day`` for dossiers) start at local midnight and
``month`` at the first local day of the month — not at 07:00 local, which is where a
24 h window aligned to the epoch would start.

Watermark rules (docs/architecture.md, "Event time and the watermark"):

- the watermark of a partition is the maximum event time seen there (events and
  control ticks) minus the allowed lateness;
- a window *closes* (is emitted) when the watermark reaches its end;
- a closed window is *held* for one more allowed lateness, and an event that still
  lands in it re-emits it with a higher sequence;
- once the watermark reaches ``end + lateness`` the window is *dropped*; an event
  that would land in a dropped window is late and is counted, not applied.

An event is accepted only while its *smallest* window is still held, so every window
size sees exactly the same events and the 1 h and 1 d rollups always equal the sum of
their minutes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from schemas.results import WindowSize

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

FIXED_MS: dict[WindowSize, int] = {
    WindowSize.M1: MINUTE_MS,
    WindowSize.M15: 15 * MINUTE_MS,
    WindowSize.H1: HOUR_MS,
}
TELEMETRY_SIZES: tuple[WindowSize, ...] = (
    WindowSize.M1,
    WindowSize.M15,
    WindowSize.H1,
    WindowSize.D1,
)
CALENDAR_SIZES: tuple[WindowSize, ...] = (WindowSize.DAY, WindowSize.MONTH)
LOCAL_DAY_SIZES = frozenset({WindowSize.D1, WindowSize.DAY})

QUARTER_MS = 15 * MINUTE_MS
SIZE_TEXT: dict[WindowSize, str] = {size: size.value for size in WindowSize}
"""``size.value`` without the enum's property lookup (a hot path: eight keys per event)."""

DEFAULT_ZONE = "Asia/Ho_Chi_Minh"


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local_midnight_ms(day: date, zone: ZoneInfo) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp() * 1000)


@lru_cache(maxsize=4096)
def _day_bounds(day: date, zone_name: str) -> tuple[int, int]:
    zone = _zone(zone_name)
    return _local_midnight_ms(day, zone), _local_midnight_ms(day + timedelta(days=1), zone)


@lru_cache(maxsize=512)
def _month_bounds(year: int, month: int, zone_name: str) -> tuple[int, int]:
    zone = _zone(zone_name)
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return _local_midnight_ms(date(year, month, 1), zone), _local_midnight_ms(nxt, zone)


def local_date(ts_ms: int, zone_name: str = DEFAULT_ZONE) -> date:
    """The local calendar date an instant falls on."""
    return datetime.fromtimestamp(ts_ms / 1000, _zone(zone_name)).date()


def window_bounds(ts_ms: int, size: WindowSize, zone_name: str = DEFAULT_ZONE) -> tuple[int, int]:
    """(start, end) in epoch ms of the window of ``size`` that contains ``ts_ms``."""
    fixed = FIXED_MS.get(size)
    if fixed is not None:
        start = ts_ms - ts_ms % fixed
        return start, start + fixed
    bounds = _quarter_bounds(ts_ms // QUARTER_MS, size, zone_name)
    return bounds if bounds is not None else _calendar_bounds(ts_ms, size, zone_name)


@lru_cache(maxsize=8_192)
def _quarter_bounds(quarter: int, size: WindowSize, zone_name: str) -> tuple[int, int] | None:
    # Local midnights fall on quarter-hours in every zone in use today (offsets are
    # multiples of 15 min), so one lookup serves every event of a quarter-hour. A
    # quarter a window boundary cuts (historic local mean time) gets None: its events
    # compute their own bounds.
    first = quarter * QUARTER_MS
    bounds = _calendar_bounds(first, size, zone_name)
    return bounds if bounds[0] <= first and first + QUARTER_MS <= bounds[1] else None


def _calendar_bounds(ts_ms: int, size: WindowSize, zone_name: str) -> tuple[int, int]:
    day = local_date(ts_ms, zone_name)
    if size in LOCAL_DAY_SIZES:
        return _day_bounds(day, zone_name)
    if size is WindowSize.MONTH:
        return _month_bounds(day.year, day.month, zone_name)
    raise ValueError(f"unknown window size {size!r}")


def window_end(start_ms: int, size: WindowSize, zone_name: str = DEFAULT_ZONE) -> int:
    """End of the window of ``size`` that starts at ``start_ms``."""
    return window_bounds(start_ms, size, zone_name)[1]


def watermark(max_event_ms: int | None, lateness_ms: int) -> int | None:
    """Max event time seen − allowed lateness; None until something was seen."""
    return None if max_event_ms is None else max_event_ms - lateness_ms


def is_closed(end_ms: int, wm: int | None) -> bool:
    """The watermark reached the window's end: it is emitted."""
    return wm is not None and wm >= end_ms


def drop_at(end_ms: int, lateness_ms: int) -> int:
    """Watermark at which a closed window stops accepting late events."""
    return end_ms + lateness_ms


def is_dropped(end_ms: int, wm: int | None, lateness_ms: int) -> bool:
    """The window is gone; events for it are late."""
    return wm is not None and wm >= drop_at(end_ms, lateness_ms)


def accepts(ts_ms: int, wm: int | None, lateness_ms: int) -> bool:
    """An event is applied only while its minute window is not dropped (see module doc)."""
    return not is_dropped(window_bounds(ts_ms, WindowSize.M1)[1], wm, lateness_ms)


def oldest_accepted_ms(wm: int | None, lateness_ms: int) -> int | None:
    """Smallest event time :func:`accepts` takes at this watermark (None: any)."""
    if wm is None:
        return None
    # A minute [s, s+60 s) is held while wm < s + 60 s + lateness, i.e. s > wm − lateness − 60 s.
    bound = wm - lateness_ms - MINUTE_MS + 1
    start = bound - bound % MINUTE_MS
    return start if start >= bound else start + MINUTE_MS


def window_key(kind: str, entity_id: str, size: WindowSize, start_ms: int) -> str:
    """Record key of one window of one entity (or group): primitives only."""
    return f"w|{kind}|{entity_id}|{SIZE_TEXT[size]}|{start_ms}"
