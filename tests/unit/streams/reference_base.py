"""The reference's ground: the expected row, window bounds, and which events are applied.

Per partition log, :func:`applied` decides which events the stream must apply
(duplicates by event id; late events are applied too, as corrections — docs/decisions/0023); :mod:`tests.unit.streams.reference` computes the windows from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from schemas.base import Event
from schemas.timeutil import to_ms

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
MIN = 60_000


@dataclass
class Expected:
    domain: str
    kind: str
    entity: str
    group: str
    window: str
    start_ms: int
    end_ms: int
    parts: dict[str, Any]
    rates: dict[str, float | None] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.kind, self.entity, self.window, self.start_ms)


def ms(dt: datetime) -> int:
    return to_ms(dt)


def local_midnight(d: date) -> int:
    return ms(datetime(d.year, d.month, d.day, tzinfo=LOCAL))


def local_day(ts: int) -> date:
    return datetime.fromtimestamp(ts / 1000, UTC).astimezone(LOCAL).date()


def bounds(ts: int, window: str) -> tuple[int, int]:
    if window in ("1m", "15m", "1h"):
        size = {"1m": MIN, "15m": 15 * MIN, "1h": 60 * MIN}[window]
        return ts // size * size, ts // size * size + size
    d = local_day(ts)
    if window in ("1d", "day"):
        return local_midnight(d), local_midnight(d + timedelta(days=1))
    first = d.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return local_midnight(first), local_midnight(nxt)


# --- which events the stream applies -----------------------------------------------------


@dataclass
class Applied:
    """Per partition: events applied (with their log index) and the final watermark."""

    events: list[tuple[int, Event]]
    final_wm: int | None
    first_wm: int | None
    drop_index: dict[int, int]
    """For a day/month end E: index of the first record whose watermark reached E + lateness."""
    watermarks: list[int | None] = field(default_factory=list)
    """The watermark before each record, then the final one."""


def applied(log: list[tuple[str, Any]], lateness_ms: int, dossier: bool) -> Applied:
    seen: set[str] = set()
    late_seen: set[str] = set()
    top: int | None = None
    first_wm: int | None = None
    out: list[tuple[int, Event]] = []
    wms: list[int | None] = []
    for index, (kind, item) in enumerate(log):
        wm = None if top is None else top - lateness_ms
        wms.append(wm)
        if kind == "tick":
            t = int(item)
        else:
            event: Event = item
            t = ms(event.event_time)
            eid = str(event.event_id)
            minute_end = t // MIN * MIN + MIN
            late = wm is not None and wm >= minute_end + lateness_ms
            # Telemetry: a late event is applied (as corrections where its windows are
            # dropped), once among the late copies; an in-time copy is dropped once
            # its id was seen in time. A late copy of an event applied in time is
            # applied again: the known gap of docs/decisions/0023.
            first = late_seen if late and not dossier else seen
            if eid in first:
                continue
            first.add(eid)
            out.append((index, event))
        top = t if top is None else max(top, t)
        if first_wm is None:
            first_wm = top - lateness_ms
    final_wm = None if top is None else top - lateness_ms
    wms.append(final_wm)

    def first_index_at(level: int) -> int:
        for i, w in enumerate(wms):
            if w is not None and w >= level:
                return i
        return len(log) + 1

    return Applied(out, final_wm, first_wm, _Lazy(first_index_at, lateness_ms), wms)  # type: ignore[arg-type]


class _Lazy(dict):  # type: ignore[type-arg]
    def __init__(self, fn: Any, lateness_ms: int) -> None:
        super().__init__()
        self.fn, self.lateness_ms = fn, lateness_ms

    def __missing__(self, end: int) -> int:
        self[end] = self.fn(end + self.lateness_ms)
        return self[end]
