"""Dossier KPIs of one period, from the status history of each dossier (pure functions).

Definitions (docs/architecture.md, "Dossier definitions"; this project's own choices are
marked *):

- received: the dossier's ``received_at`` (from its first change that carries one)
  falls in the period; online when that change's channel is ``online``; digitized*
  when the latest status changed before the period's end says so;
- finished: the first ``completed`` or ``result_returned`` falls in the period;
  late-finished: that first finishing change is after its ``due_at`` (the latest due
  date the system set, carried by the event); paid online*: its ``paid_online``;
  processing hours: finished − received;
- open at the period's end*: the latest status changed before the end is one of
  received, processing, supplement_requested, payment_requested (registered is not yet
  received; stopped, transferred_out, finished and excluded are not open);
  late-open: open with ``due_at`` before the end;
- excluded: withdrawn or rejected in the period — never counted as finished or open;
- on-time rate = 1 − (late-finished + late-open) / (finished + open at end).

A month is reported *to date*: its parts are computed as of the end of its last
closed day, and the final month at its end. Every function takes ``as_of_offset``:
only status changes applied at or below it count, so a record written ahead of a
crash cannot leak the future into a replayed emission.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.events import EXCLUDED_STATUSES, FINISHED_STATUSES, DossierStatus, DossierStatusChange
from schemas.results import WindowSize
from schemas.timeutil import to_ms
from streams.records import ChangeRow, DossierPartsRecord
from streams.windows import drop_at, window_bounds

OPEN_STATUSES = frozenset(
    {
        DossierStatus.RECEIVED,
        DossierStatus.PROCESSING,
        DossierStatus.SUPPLEMENT_REQUESTED,
        DossierStatus.PAYMENT_REQUESTED,
    }
)
TERMINAL_STATUSES = (
    FINISHED_STATUSES
    | EXCLUDED_STATUSES
    | {
        DossierStatus.STOPPED,
        DossierStatus.TRANSFERRED_OUT,
    }
)
HOUR_MS = 3_600_000
MAX_CATCH_UP_DAYS = 62
"""Days closed by one watermark jump beyond this are skipped (a months-long gap)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One status change as stored in a dossier record."""

    outbox_id: int
    status: DossierStatus
    changed_ms: int
    received_ms: int | None
    due_ms: int | None
    online: bool
    paid_online: bool
    digitized: bool
    offset: int

    @classmethod
    def of(cls, event: DossierStatusChange, offset: int) -> Change:
        """The change an event makes, applied at ``offset`` (the stream's; a counter offline)."""
        return cls(
            outbox_id=event.outbox_id,
            status=event.status,
            changed_ms=to_ms(event.changed_at),
            received_ms=None if event.received_at is None else to_ms(event.received_at),
            due_ms=None if event.due_at is None else to_ms(event.due_at),
            online=event.channel.value == "online",
            paid_online=event.paid_online,
            digitized=event.digitized,
            offset=offset,
        )

    def to_row(self) -> ChangeRow:
        """JSON form."""
        return [
            self.outbox_id,
            self.status.value,
            self.changed_ms,
            self.received_ms,
            self.due_ms,
            self.online,
            self.paid_online,
            self.digitized,
            self.offset,
        ]

    @classmethod
    def from_row(cls, row: ChangeRow) -> Change:
        """From the JSON form."""
        return cls(
            int(row[0]),
            DossierStatus(row[1]),
            int(row[2]),
            None if row[3] is None else int(row[3]),
            None if row[4] is None else int(row[4]),
            bool(row[5]),
            bool(row[6]),
            bool(row[7]),
            int(row[8]),
        )


COUNTS = (
    "received",
    "received_online",
    "finished",
    "finished_late",
    "open_at_end",
    "open_late_at_end",
    "paid_online",
    "digitized",
    "excluded",
)


def parts_of(counts: Mapping[str, int], hours: float) -> DossierPartsRecord:
    """Dossier parts from the :data:`COUNTS` and the processing hours (in the stored order)."""
    return {
        "received": counts["received"],
        "received_online": counts["received_online"],
        "finished": counts["finished"],
        "finished_late": counts["finished_late"],
        "open_at_end": counts["open_at_end"],
        "open_late_at_end": counts["open_late_at_end"],
        "paid_online": counts["paid_online"],
        "digitized": counts["digitized"],
        "excluded": counts["excluded"],
        "processing_hours_sum": hours,
    }


def _latest(changes: list[Change], before_ms: int) -> Change | None:
    known = [c for c in changes if c.changed_ms < before_ms]
    return max(known, key=lambda c: c.outbox_id) if known else None


def _first(changes: list[Change], statuses: frozenset[DossierStatus]) -> Change | None:
    found = [c for c in changes if c.status in statuses]
    return min(found, key=lambda c: (c.changed_ms, c.outbox_id)) if found else None


def dossier_parts(
    changes: list[Change], start_ms: int, end_ms: int, as_of_offset: int
) -> tuple[dict[str, int], float]:
    """(counts, processing hours) of one dossier for the period [start, end)."""
    known = [c for c in changes if c.offset <= as_of_offset]
    counts = dict.fromkeys(COUNTS, 0)
    if not known:
        return counts, 0.0
    receipt = next(
        (c for c in sorted(known, key=lambda c: c.outbox_id) if c.received_ms is not None),
        None,
    )
    received_ms = None if receipt is None else receipt.received_ms
    latest_at_end = _latest(known, end_ms)
    if receipt is not None and received_ms is not None and start_ms <= received_ms < end_ms:
        counts["received"] = 1
        counts["received_online"] = int(receipt.online)
        counts["digitized"] = int(latest_at_end is not None and latest_at_end.digitized)
    hours = 0.0
    finished = _first(known, FINISHED_STATUSES)
    if finished is not None and start_ms <= finished.changed_ms < end_ms:
        counts["finished"] = 1
        counts["finished_late"] = int(
            finished.due_ms is not None and finished.changed_ms > finished.due_ms
        )
        counts["paid_online"] = int(finished.paid_online)
        if received_ms is not None:
            hours = max(0, finished.changed_ms - received_ms) / HOUR_MS
    excluded = _first(known, EXCLUDED_STATUSES)
    if excluded is not None and start_ms <= excluded.changed_ms < end_ms:
        counts["excluded"] = 1
    if latest_at_end is not None and latest_at_end.status in OPEN_STATUSES:
        counts["open_at_end"] = 1
        due = latest_at_end.due_ms
        counts["open_late_at_end"] = int(due is not None and due < end_ms)
    return counts, hours


def agency_parts(
    dossiers: list[list[Change]], start_ms: int, end_ms: int, as_of_offset: int
) -> DossierPartsRecord:
    """Parts of an agency for a period, summed over its dossiers (hours summed exactly)."""
    totals = dict.fromkeys(COUNTS, 0)
    hours: list[float] = []
    for changes in dossiers:
        counts, h = dossier_parts(changes, start_ms, end_ms, as_of_offset)
        for name, n in counts.items():
            totals[name] += n
        if counts["finished"]:
            hours.append(h)
    return parts_of(totals, math.fsum(hours))


def is_empty(parts: Mapping[str, object]) -> bool:
    """No dossier touched the period."""
    return not any(parts.get(name) for name in (*COUNTS, "processing_hours_sum"))


def terminal_ms(changes: list[Change]) -> int | None:
    """When the dossier left this agency's books for good (None while it may be open)."""
    latest = max(changes, key=lambda c: c.outbox_id) if changes else None
    if latest is None or latest.status not in TERMINAL_STATUSES:
        return None
    return latest.changed_ms


def forget_at(changes: list[Change], zone: str, lateness_ms: int, retention_ms: int) -> int | None:
    """Watermark from which a finished dossier is forgotten (None while it may be open).

    Not before its month is dropped, nor before ``retention_ms`` after it ended (so a
    late duplicate finish is not counted again).
    """
    ended = terminal_ms(changes)
    if ended is None:
        return None
    month_end = window_bounds(ended, WindowSize.MONTH, zone)[1]
    return max(drop_at(month_end, lateness_ms), ended + retention_ms)


def on_time_rate(parts: dict[str, Any]) -> float | None:
    """1 − (late-finished + late-open) / (finished + open at end)."""
    base = int(parts["finished"]) + int(parts["open_at_end"])
    if not base:
        return None
    return 1.0 - (int(parts["finished_late"]) + int(parts["open_late_at_end"])) / base
