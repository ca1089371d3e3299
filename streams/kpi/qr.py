"""QR check-point KPIs (docs/architecture.md, "KPIs").

Scans in and out, net flow, distinct subjects (exact per check-point), share not
green, persons vs vehicles.

Distinct subjects need memory of who was seen: one record per (check-point, local
day, subject) lists the minutes the subject was seen there, each with the offset that
added it. A subject is new in a window when none of its minutes inside the window was
added below the current offset — so the decision is the same when the record was
written ahead of a crash and the event is replayed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from typing_extensions import override

from schemas.base import Event
from schemas.events import DeclarationStatus, Direction, QrScan, SubjectKind
from schemas.results import Domain, QrParts, WindowSize
from schemas.timeutil import to_ms
from streams.kpi.base import DomainLogic
from streams.kpi.sums import ratio
from streams.records import KpiWindow, QrPartsRecord, SubjectRecord
from streams.windows import TELEMETRY_SIZES, drop_at, is_dropped, window_bounds

CHECKPOINT = "checkpoint"
SUBJECT_PREFIX = "sub|"


def _empty() -> QrPartsRecord:
    return {}


def add_scan(parts: QrPartsRecord, ev: QrScan, new_subject: bool) -> None:
    """Add one scan to a window's parts."""
    direction, subject = ev.direction, ev.subject_kind
    parts["scans"] = parts.get("scans", 0) + 1
    parts["scans_in"] = parts.get("scans_in", 0) + (1 if direction is Direction.IN else 0)
    parts["scans_out"] = parts.get("scans_out", 0) + (1 if direction is Direction.OUT else 0)
    parts["persons"] = parts.get("persons", 0) + (1 if subject is SubjectKind.PERSON else 0)
    parts["vehicles"] = parts.get("vehicles", 0) + (1 if subject is SubjectKind.VEHICLE else 0)
    green = ev.declaration_status is DeclarationStatus.GREEN
    parts["not_green"] = parts.get("not_green", 0) + (0 if green else 1)
    new = 1 if new_subject else 0
    parts["distinct_subjects"] = parts.get("distinct_subjects", 0) + new


def qr_rates(p: QrParts) -> dict[str, float | None]:
    """Derived KPIs of a parts record."""
    return {
        "net_flow": float(p.scans_in - p.scans_out),
        "share_not_green": ratio(p.not_green, p.scans),
        "share_persons": ratio(p.persons, p.scans),
        "share_vehicles": ratio(p.vehicles, p.scans),
    }


class QrLogic(DomainLogic[QrPartsRecord]):
    domain: ClassVar[Domain] = Domain.QR

    def _seen(self, ev: QrScan, ts: int, offset: int, wm: int | None) -> list[int]:
        """Minutes (starts) the subject was seen here that day, added below ``offset``.

        A day the watermark has dropped remembers no one: a late scan from it counts its
        subject as new in each window it corrects (docs/decisions/0023).
        """
        zone = self.ctx.topology.timezone
        day_start, day_end = window_bounds(ts, WindowSize.D1, zone)
        if is_dropped(day_end, wm, self.ctx.lateness_ms):
            return []
        key = f"{SUBJECT_PREFIX}{ev.checkpoint_id}|{day_start}|{ev.subject_hash}"
        record = self.state.get(key, SubjectRecord)
        rows = [] if record is None else record.get("m", [])
        seen = [int(m) for m, o in rows if int(o) < offset]
        minute = window_bounds(ts, WindowSize.M1, zone)[0]
        new = record is None
        empty: SubjectRecord = {"m": [], "o": offset}
        touched = self.state.touch(key, offset, empty)
        if touched is not None:
            if minute not in {int(m) for m, _ in touched["m"]}:
                touched["m"].append([minute, offset])
            if new:
                self.state.delete_after(key, drop_at(day_end, self.ctx.lateness_ms))
        return seen

    @override
    def _apply(self, event: Event, offset: int, wm: int | None) -> None:
        assert isinstance(event, QrScan)
        zone = self.ctx.topology.timezone
        ts = to_ms(event.scanned_at)
        seen = self._seen(event, ts, offset, wm)
        for size in TELEMETRY_SIZES:
            start, end = window_bounds(ts, size, zone)
            record = self.book.window(
                CHECKPOINT, event.checkpoint_id, event.checkpoint_id, size, ts, offset, _empty, wm
            )
            if record is None:
                continue
            new_subject = not any(start <= m < end for m in seen)
            add_scan(record["p"], event, new_subject)

    @override
    def parts(self, record: KpiWindow[QrPartsRecord]) -> QrParts:
        p = record["p"]
        return QrParts.model_construct(
            scans=p.get("scans", 0),
            scans_in=p.get("scans_in", 0),
            scans_out=p.get("scans_out", 0),
            persons=p.get("persons", 0),
            vehicles=p.get("vehicles", 0),
            not_green=p.get("not_green", 0),
            distinct_subjects=p.get("distinct_subjects", 0),
        )

    @override
    def rates(self, parts: Any, record: KpiWindow[QrPartsRecord]) -> dict[str, float | None]:
        return qr_rates(parts)
