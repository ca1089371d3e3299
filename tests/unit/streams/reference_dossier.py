"""The reference for dossiers: closed days and months to date per agency, from scratch.

Per docs/architecture.md, "Dossier definitions"; see :mod:`tests.unit.streams.reference`.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from datetime import timedelta
from typing import Any

from schemas.events import DossierStatusChange
from tests.unit.streams.reference_base import (
    Applied,
    Expected,
    bounds,
    local_day,
    local_midnight,
    ms,
)

OPEN = {"received", "processing", "supplement_requested", "payment_requested"}


def dossier_period(
    changes: list[DossierStatusChange], start: int, end: int
) -> tuple[dict[str, int], float]:
    """One dossier's counts for [start, end), per docs/architecture.md, "Dossier definitions"."""
    c = dict.fromkeys(
        ("received", "received_online", "finished", "finished_late", "open_at_end",
         "open_late_at_end", "paid_online", "digitized", "excluded"), 0,
    )  # fmt: skip
    by_outbox = sorted(changes, key=lambda x: x.outbox_id)
    receipt = next((x for x in by_outbox if x.received_at is not None), None)
    before_end = [x for x in by_outbox if ms(x.changed_at) < end]
    latest = before_end[-1] if before_end else None
    if receipt is not None and start <= ms(receipt.received_at) < end:  # type: ignore[arg-type]
        c["received"] = 1
        c["received_online"] = int(receipt.channel == "online")
        c["digitized"] = int(latest is not None and latest.digitized)
    finishing = sorted(
        (x for x in changes if x.status in ("completed", "result_returned")),
        key=lambda x: (x.changed_at, x.outbox_id),
    )
    hours = 0.0
    if finishing and start <= ms(finishing[0].changed_at) < end:
        f = finishing[0]
        c["finished"] = 1
        c["finished_late"] = int(f.due_at is not None and f.changed_at > f.due_at)
        c["paid_online"] = int(f.paid_online)
        if receipt is not None:
            hours = max(0, ms(f.changed_at) - ms(receipt.received_at)) / 3_600_000  # type: ignore[arg-type]
    excluded = sorted(
        (x for x in changes if x.status in ("withdrawn", "rejected")),
        key=lambda x: (x.changed_at, x.outbox_id),
    )
    if excluded and start <= ms(excluded[0].changed_at) < end:
        c["excluded"] = 1
    if latest is not None and latest.status in OPEN:
        c["open_at_end"] = 1
        c["open_late_at_end"] = int(latest.due_at is not None and ms(latest.due_at) < end)
    return c, hours


def agency_period(changes: list[DossierStatusChange], start: int, end: int) -> dict[str, Any]:
    by_dossier: dict[str, list[DossierStatusChange]] = defaultdict(list)
    for x in changes:
        by_dossier[x.dossier_id].append(x)
    total: dict[str, Any] = defaultdict(int)
    hours = []
    for dossier_changes in by_dossier.values():
        counts, h = dossier_period(dossier_changes, start, end)
        for k, v in counts.items():
            total[k] += v
        if counts["finished"]:
            hours.append(h)
    total["processing_hours_sum"] = math.fsum(hours)
    return dict(total)


MAX_CATCH_UP_DAYS = 62
"""One watermark step closes at most this many days: the earlier ones are not emitted
(a partition silent for months does not emit a row per agency per day on waking up)."""


def skipped_midnights(watermarks: list[int | None]) -> set[int]:
    """Midnights closed by a step that closed more than MAX_CATCH_UP_DAYS, beyond the last."""
    skipped: set[int] = set()
    for before, after in itertools.pairwise(watermarks):
        if before is None or after is None or after <= before:
            continue
        midnights = []
        d = local_day(before) + timedelta(days=1)
        while local_midnight(d) <= after:
            midnights.append(local_midnight(d))
            d += timedelta(days=1)
        skipped.update(midnights[:-MAX_CATCH_UP_DAYS])
    return skipped


def dossiers(ap: Applied, lateness_ms: int) -> list[Expected]:
    """Closed days, and months to date, per agency (see the module docs of streams.kpi.dossier)."""
    if ap.final_wm is None or ap.first_wm is None:
        return []
    agencies: dict[str, list[tuple[int, DossierStatusChange]]] = defaultdict(list)
    for index, e in ap.events:
        assert isinstance(e, DossierStatusChange)
        agencies[e.agency_code].append((index, e))
    out = []
    closed_days = []
    d = local_day(ap.first_wm)
    while local_midnight(d + timedelta(days=1)) <= ap.final_wm:
        closed_days.append(d)
        d += timedelta(days=1)
    skipped = skipped_midnights(ap.watermarks)
    months: dict[tuple[int, int], int] = {}
    for d in closed_days:
        end = local_midnight(d + timedelta(days=1))
        if end not in skipped:  # as of the last closed day of the month
            months[bounds(end - 1, "month")] = end
    for agency, indexed in agencies.items():
        for d in closed_days:
            start, end = local_midnight(d), local_midnight(d + timedelta(days=1))
            if end in skipped:
                continue
            cut = ap.drop_index[end]  # changes logged before the day was dropped
            parts = agency_period([e for i, e in indexed if i < cut], start, end)
            if any(parts.values()):
                out.append(_dossier_expected(agency, "day", start, end, parts))
        for (m_start, m_end), as_of in months.items():
            cut = ap.drop_index[m_end]
            parts = agency_period([e for i, e in indexed if i < cut], m_start, as_of)
            if any(parts.values()):
                out.append(_dossier_expected(agency, "month", m_start, m_end, parts))
    return out


def _dossier_expected(agency: str, w: str, start: int, end: int, parts: dict[str, Any]) -> Expected:
    base = parts["finished"] + parts["open_at_end"]
    rates = {
        "on_time_rate": 1 - (parts["finished_late"] + parts["open_late_at_end"]) / base
        if base
        else None,
        "online_receipt_rate": parts["received_online"] / parts["received"]
        if parts["received"]
        else None,
        "mean_processing_hours": parts["processing_hours_sum"] / parts["finished"]
        if parts["finished"]
        else None,
    }
    return Expected("dossier", "agency", agency, agency, w, start, end, parts, rates)
