"""Dossier KPIs per agency, per local day and month to date (docs/architecture.md, "KPIs").

Unlike telemetry, a dossier's contribution to a period is a function of its whole
status history (is it open at the period's end? overdue?), so the state is one record
per dossier (its changes) and a period's parts are *recomputed* from those records —
never accumulated — when the watermark closes the period, and again when a late change
lands in a period that is closed but still held. Recomputing cannot double count.

Status changes are facts: a change behind the watermark is still applied to its
dossier (the backlog must be right tomorrow), only the dropped periods stay as emitted.
"""

from __future__ import annotations

from typing import Any, ClassVar

from typing_extensions import override

from schemas.base import Event
from schemas.events import DossierStatusChange
from schemas.results import Domain, DossierParts, KpiRecord, WindowSize
from schemas.timeutil import to_ms
from streams.kpi import dossier_facts as facts
from streams.kpi.base import DomainLogic
from streams.kpi.sums import ratio
from streams.records import DossierPartsRecord, DossierRecord, KpiWindow, PeriodRecord
from streams.state import position_before
from streams.windows import DAY_MS, drop_at, is_closed, is_dropped, window_bounds

AGENCY = "agency"
DOSSIER_PREFIX = "dos|"
PERIOD_PREFIX = "per|"
MAX_CATCH_UP_DAYS = facts.MAX_CATCH_UP_DAYS


def dossier_rates(p: DossierParts) -> dict[str, float | None]:
    """Derived KPIs of a parts record."""
    return {
        "on_time_rate": facts.on_time_rate(p.model_dump()),
        "online_receipt_rate": ratio(p.received_online, p.received),
        "online_payment_rate": ratio(p.paid_online, p.finished),
        "digitization_rate": ratio(p.digitized, p.received),
        "mean_processing_hours": ratio(p.processing_hours_sum, p.finished),
    }


class DossierLogic(DomainLogic[DossierPartsRecord]):
    domain: ClassVar[Domain] = Domain.DOSSIER

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._by_agency: dict[str, set[str]] = {}

    # --- helpers -----------------------------------------------------------------

    def _zone(self) -> str:
        return self.ctx.topology.timezone

    def _changes(self, key: str) -> list[facts.Change]:
        record = self.state.get(key, DossierRecord)
        rows = [] if record is None else record.get("ev", [])
        return [facts.Change.from_row(r) for r in rows]

    def _agency_dossiers(self, agency: str) -> list[list[facts.Change]]:
        keys = self._by_agency.get(agency, set())
        keys &= set(self.state.records)  # deleted records leave the index lazily
        return [self._changes(k) for k in sorted(keys)]

    def _schedule_forget(self, key: str, changes: list[facts.Change]) -> None:
        ctx = self.ctx
        at = facts.forget_at(changes, self._zone(), ctx.lateness_ms, ctx.dossier_retention_ms)
        if at is not None:
            self.state.delete_after(key, at)

    def _period(
        self, agency: str, size: WindowSize, start: int, end: int, as_of: int, offset: int
    ) -> KpiRecord | None:
        """Recompute one period of one agency; the record to emit when it changed."""
        key = f"{PERIOD_PREFIX}{agency}|{size.value}|{start}"
        record = self.state.get(key, PeriodRecord)
        pos = self.state.cursor.next()
        if not position_before(record, pos):
            return None  # computed at or after this step before a crash
        parts = facts.agency_parts(self._agency_dossiers(agency), start, as_of, offset)
        if record is None and facts.is_empty(parts):
            return None
        if record is not None and record.get("p") == parts:
            return None
        if record is None:
            record = {
                "k": AGENCY,
                "e": agency,
                "g": agency,
                "z": size.value,
                "s": start,
                "end": end,
                "q": 1,
                "p": parts,
                "asof": as_of,
                "pos": list(pos),
            }
            self.state.delete_after(key, drop_at(end, self.ctx.lateness_ms))
        else:
            record.update({"p": parts, "asof": as_of, "pos": list(pos), "q": record["q"] + 1})
        self.state.put(key, record)
        return self.to_kpi(record)

    def _held(self, wm: int | None) -> list[tuple[WindowSize, int, int, int]]:
        """(size, start, end, as-of) of the closed periods a late change can still alter."""
        if wm is None:
            return []
        zone = self._zone()
        last_midnight = window_bounds(wm, WindowSize.DAY, zone)[0]
        held: list[tuple[WindowSize, int, int, int]] = []
        if not is_dropped(last_midnight, wm, self.ctx.lateness_ms):
            day_start, day_end = window_bounds(last_midnight - 1, WindowSize.DAY, zone)
            held.append((WindowSize.DAY, day_start, day_end, day_end))
            m_start, m_end = window_bounds(last_midnight - 1, WindowSize.MONTH, zone)
            held.append((WindowSize.MONTH, m_start, m_end, min(m_end, last_midnight)))
        m_start, m_end = window_bounds(wm, WindowSize.MONTH, zone)
        if last_midnight > m_start:
            held.append((WindowSize.MONTH, m_start, m_end, last_midnight))
        return list(dict.fromkeys(held))

    # --- engine hooks ------------------------------------------------------------

    @override
    def load(self, wm: int | None) -> list[KpiRecord]:
        out: list[KpiRecord] = []
        for key, _ in self.state.items(DOSSIER_PREFIX):
            self._by_agency.setdefault(key.split("|")[1], set()).add(key)
            self._schedule_forget(key, self._changes(key))
        for key, record in sorted(self.state.items(PERIOD_PREFIX, PeriodRecord)):
            end = int(record["end"])
            self.state.delete_after(key, drop_at(end, self.ctx.lateness_ms))
            if int(record.get("q", 0)) > 0 and not is_dropped(end, wm, self.ctx.lateness_ms):
                out.append(self.to_kpi(record))
        return out

    @override
    def is_late(self, event: Event, wm: int | None) -> bool:
        end = window_bounds(to_ms(event.event_time), WindowSize.DAY, self._zone())[1]
        return is_dropped(end, wm, self.ctx.lateness_ms)

    @override
    def apply(
        self, event: Event, offset: int, wm: int | None, late: bool = False
    ) -> list[KpiRecord]:
        assert isinstance(event, DossierStatusChange)
        key = f"{DOSSIER_PREFIX}{event.agency_code}|{event.dossier_id}"
        new: DossierRecord = {"ev": [], "o": offset}
        record = self.state.touch(key, offset, new)
        if record is not None:
            if all(int(row[0]) != event.outbox_id for row in record["ev"]):
                record["ev"].append(facts.Change.of(event, offset).to_row())
            self._schedule_forget(key, self._changes(key))
        self._by_agency.setdefault(event.agency_code, set()).add(key)
        out: list[KpiRecord] = []
        for size, start, end, as_of in self._held(wm):
            emitted = self._period(event.agency_code, size, start, end, as_of, offset)
            if emitted is not None:
                out.append(emitted)
        return out

    @override
    def advance(self, old_wm: int | None, wm: int | None, offset: int) -> list[KpiRecord]:
        if old_wm is None or wm is None or wm <= old_wm:
            return []
        zone = self._zone()
        midnights: list[int] = []
        midnight = window_bounds(old_wm, WindowSize.DAY, zone)[1]
        while is_closed(midnight, wm):
            midnights.append(midnight)
            midnight = window_bounds(midnight, WindowSize.DAY, zone)[1]
            if len(midnights) > MAX_CATCH_UP_DAYS:
                midnights.pop(0)
        out: list[KpiRecord] = []
        agencies = sorted(self._by_agency)
        months: dict[tuple[int, int], int] = {}
        for midnight in midnights:
            day_start = window_bounds(midnight - 1, WindowSize.DAY, zone)[0]
            for agency in agencies:
                emitted = self._period(
                    agency, WindowSize.DAY, day_start, midnight, midnight, offset
                )
                if emitted is not None:
                    out.append(emitted)
            months[window_bounds(midnight - 1, WindowSize.MONTH, zone)] = midnight
        for (m_start, m_end), as_of in sorted(months.items()):
            for agency in agencies:
                emitted = self._period(agency, WindowSize.MONTH, m_start, m_end, as_of, offset)
                if emitted is not None:
                    out.append(emitted)
        return out

    @override
    def parts(self, record: KpiWindow[DossierPartsRecord]) -> DossierParts:
        return DossierParts.model_construct(**record["p"])

    @override
    def rates(self, parts: Any, record: KpiWindow[DossierPartsRecord]) -> dict[str, float | None]:
        return dossier_rates(parts)


__all__ = ["DAY_MS", "DossierLogic", "dossier_rates"]
