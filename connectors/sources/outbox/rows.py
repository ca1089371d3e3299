"""Status-history rows -> dossier events (pure: no database, no Kafka)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from connectors.sources.edge import STREAMS, EdgeValidator
from connectors.sources.outbox.sql import HistoryRow
from schemas.base import Event, derive_event_id
from schemas.errors import ContractError
from schemas.events import DossierStatus
from schemas.results import DeadLetter

SOURCE = "one-stop-shop"
"""The ``source`` of outbox events; part of their derived ids, so never change it."""


@dataclass(slots=True)
class RowOutput:
    """What one row becomes: its events (transfer first), or a dead letter."""

    row_id: int
    events: list[Event] = field(default_factory=list)
    letter: DeadLetter | None = None


def _fields(row: HistoryRow) -> dict[str, Any]:
    data = dataclasses.asdict(row)
    for internal in ("id", "previous_agency", "previous_area"):
        del data[internal]
    if data["applicant_id"] is None:
        del data["applicant_id"]
    data["outbox_id"] = row.id
    return data


def transfer_event_id(row: HistoryRow) -> str:
    """Its own id: the main event of the same row already has the derived one."""
    entity = f"{row.dossier_id}/{DossierStatus.TRANSFERRED_OUT}"
    return str(derive_event_id(SOURCE, entity, row.changed_at, row.id))


def _transfer_id(row: HistoryRow) -> str:
    try:
        return transfer_event_id(row)
    except ValueError as exc:  # a naive changed_at (a "timestamp without time zone" column)
        raise ContractError("validation", f"changed_at: {exc}", ("changed_at",)) from None


def map_row(row: HistoryRow, validator: EdgeValidator, topic: str, *, snapshot: bool) -> RowOutput:
    """The events of one row. A move to another agency also yields ``transferred_out``.

    Snapshot rows are current states, not changes: no transfer event, and no age limit
    (a dossier open for longer than the replay horizon is still open).
    """
    spec = STREAMS["dossier"]
    out = RowOutput(row.id)
    data = _fields(row)
    try:
        moved = (
            not snapshot
            and row.previous_agency is not None
            and row.previous_agency != row.agency_code
        )
        if moved:
            transfer = {
                **data,
                "agency_code": row.previous_agency,
                "area_code": row.previous_area or row.area_code,
                "status": DossierStatus.TRANSFERRED_OUT.value,
                "event_id": _transfer_id(row),
            }
            out.events.append(validator.validate(spec, transfer, source=SOURCE))
        out.events.append(validator.validate(spec, data, source=SOURCE, check_age=not snapshot))
    except ContractError as exc:
        out.events.clear()
        out.letter = validator.dead_letter(
            source_topic=topic,
            reason=exc.reason,
            error=f"status-history row {row.id}: {exc}",
            payload=data,
            producer=SOURCE,
            key=row.dossier_id,
            # The row id is this source's offset; a hand-inserted negative id is not one.
            offset=row.id if row.id >= 0 else None,
        )
    return out
