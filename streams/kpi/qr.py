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
from streams.kpi.sums import add_count, ratio
from streams.state import Record
from streams.windows import TELEMETRY_SIZES, drop_at, window_bounds

CHECKPOINT = "checkpoint"
SUBJECT_PREFIX = "sub|"


def _empty() -> dict[str, Any]:
    return {}


def add_scan(parts: dict[str, Any], ev: QrScan, new_subject: bool) -> None:
    """Add one scan to a parts dict."""
    add_count(parts, "scans", 1)
    add_count(parts, "scans_in", 1 if ev.direction is Direction.IN else 0)
    add_count(parts, "scans_out", 1 if ev.direction is Direction.OUT else 0)
    add_count(parts, "persons", 1 if ev.subject_kind is SubjectKind.PERSON else 0)
    add_count(parts, "vehicles", 1 if ev.subject_kind is SubjectKind.VEHICLE else 0)
    add_count(parts, "not_green", 0 if ev.declaration_status is DeclarationStatus.GREEN else 1)
    add_count(parts, "distinct_subjects", 1 if new_subject else 0)


def qr_rates(p: QrParts) -> dict[str, float | None]:
    """Derived KPIs of a parts record."""
    return {
        "net_flow": float(p.scans_in - p.scans_out),
        "share_not_green": ratio(p.not_green, p.scans),
        "share_persons": ratio(p.persons, p.scans),
        "share_vehicles": ratio(p.vehicles, p.scans),
    }


class QrLogic(DomainLogic):
    domain: ClassVar[Domain] = Domain.QR

    def _seen(self, ev: QrScan, ts: int, offset: int) -> list[int]:
        """Minutes (starts) the subject was seen here that day, added below ``offset``."""
        zone = self.ctx.topology.timezone
        day_start, day_end = window_bounds(ts, WindowSize.D1, zone)
        key = f"{SUBJECT_PREFIX}{ev.checkpoint_id}|{day_start}|{ev.subject_hash}"
        record = self.state.get(key)
        seen = [int(m) for m, o in (record or {}).get("m", []) if int(o) < offset]
        minute = window_bounds(ts, WindowSize.M1, zone)[0]
        new = record is None
        touched = self.state.touch(key, offset, {"m": []})
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
        seen = self._seen(event, ts, offset)
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
    def parts(self, record: Record) -> QrParts:
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
    def rates(self, parts: Any, record: Record) -> dict[str, float | None]:
        return qr_rates(parts)
