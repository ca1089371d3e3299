"""What every domain's KPI logic offers the partition engine, and the shared telemetry part.

A domain logic is created per (domain, partition) over that partition's state. The
engine calls it in a fixed order for every accepted event (apply, then advance the
watermark), so emissions are a function of the partition's event sequence alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from schemas.base import Event
from schemas.domains import CONTRACTS
from schemas.results import Domain, KpiParts, KpiRecord, WindowSize
from schemas.timeutil import from_ms, to_ms
from streams.book import WindowBook
from streams.detect import Observation
from streams.records import KpiWindow
from streams.state import PartitionState
from streams.topology import Topology
from streams.windows import DAY_MS, accepts


@dataclass(frozen=True)
class KpiContext:
    """Per-deployment inputs of the KPI maths."""

    topology: Topology
    lateness_ms: int
    generation: int
    now: Callable[[], datetime]
    dossier_retention_ms: int = 45 * DAY_MS
    """How long a finished dossier is remembered (a late duplicate finish is not counted)."""


P = TypeVar("P")
"""The domain's parts as stored in its windows (a ``*PartsRecord`` of :mod:`streams.records`)."""


class DomainLogic(Generic[P]):
    """Base of the four domains; telemetry domains use the window book as is."""

    domain: ClassVar[Domain]
    model: ClassVar[type[Event]]
    """The domain's contract (:data:`schemas.domains.CONTRACTS`), set from ``domain``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.model = CONTRACTS[cls.domain].model

    def __init__(self, ctx: KpiContext, state: PartitionState) -> None:
        self.ctx = ctx
        self.state = state
        self.book = WindowBook(state, ctx.lateness_ms, ctx.topology.timezone)

    # --- engine hooks ------------------------------------------------------------

    def load(self, wm: int | None) -> list[KpiRecord]:
        """After recovery: closed windows to (re-)emit."""
        again, fresh = self.book.load(wm)
        return [self.to_kpi(r) for r in again + fresh]

    def apply(
        self, event: Event, offset: int, wm: int | None, late: bool = False
    ) -> list[KpiRecord]:
        """Apply an accepted event: re-emissions of closed windows, then corrections.

        Corrections are of the dropped windows a ``late`` event fell into (see
        :mod:`streams.book`); the engine has already decided lateness (:meth:`is_late`).
        """
        self.book.begin(str(event.event_id) if late else None)
        self._apply(event, offset, wm)
        out = [self.to_kpi(r) for r in self.book.emit_touched(wm)]
        return out + [self.to_kpi(r, event.event_id) for r in self.book.corrections()]

    def advance(self, old_wm: int | None, wm: int | None, offset: int) -> list[KpiRecord]:
        """The watermark moved from ``old_wm`` to ``wm``: emit what it closed."""
        return [self.to_kpi(r) for r in self.book.close(wm)]

    def is_late(self, event: Event, wm: int | None) -> bool:
        """The event's smallest window is dropped (:mod:`streams.windows`): corrections."""
        return not accepts(to_ms(event.event_time), wm, self.ctx.lateness_ms)

    def observations(self, event: Event) -> list[Observation]:
        """Per-event detection points (impossible values); none by default."""
        return []

    def reporters(self, event: Event) -> list[tuple[str, str]]:
        """(kind, id) of the entities this event proves alive (for silence)."""
        return []

    # --- per domain --------------------------------------------------------------

    def _apply(self, event: Event, offset: int, wm: int | None) -> None:
        raise NotImplementedError

    def parts(self, record: KpiWindow[P]) -> KpiParts:
        """The contract's parts of a window record."""
        raise NotImplementedError

    def rates(self, parts: Any, record: KpiWindow[P]) -> dict[str, float | None]:
        """Derived rates (a convenience; readers recompute them from parts)."""
        return {}

    def to_kpi(self, record: KpiWindow[P], correction: uuid.UUID | None = None) -> KpiRecord:
        """The result record of one emission of a window (a correction by that event)."""
        parts = self.parts(record)
        late = [uuid.UUID(i) for i in record.get("l", ())]
        if correction is not None:
            late = [correction]
        # Built without validation: every field comes from our own arithmetic, and the
        # validator (NFC normalisation of every nested string included) was a third of
        # the cost of a closing minute. The tests parse every emitted record back.
        return KpiRecord.model_construct(
            domain=self.domain,
            entity_kind=record["k"],
            entity_id=record["e"],
            group_id=record["g"],
            window=WindowSize(record["z"]),
            window_start=from_ms(int(record["s"])),
            window_end=from_ms(int(record["end"])),
            parts=parts,
            rates=self.rates(parts, record),
            computed_at=self.ctx.now(),
            generation=self.ctx.generation,
            sequence=int(record["q"]),
            members=sorted(record.get("m") or ()),
            correction=correction is not None,
            event_id=correction,
            late_events=len(late) + int(record.get("lx", 0)),
            late_ids=late,
        )
