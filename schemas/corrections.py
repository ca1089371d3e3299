"""How a correction merges into the stored row of its window: pure, no I/O.

A late event whose window the worker no longer holds arrives as a *correction*
(``KpiRecord.correction``): the parts of that one event alone. Parts are additive by
design (docs/decisions/0002), so the stored row plus the delta is the row the window
would have had if the event had come in time:

- sums and counts add;
- minima and maxima merge (``MIN``/``MAX`` in the parts' ``MERGE`` table);
- a group's reporting count is the size of the union of its members (a sensor already
  counted in the segment's minute is not counted twice; a row stored before rows listed
  their members keeps at least its own count);
- the expected count is the newest one (the profile may have changed since).

A correction is merged once: its event id is kept on the row (``late_ids``), so a
redelivered correction, or a second copy of the late event, changes nothing. The merged
row's sequence is one above the stored one, so ClickHouse keeps it.

Floats add in a different order than in the worker's exact sums (``streams.kpi.sums``):
a corrected sum is within a few ulps of the in-order one, not always bit-equal.
"""

from __future__ import annotations

from typing import Any

from schemas.results import LATEST, MAX, MEMBERS, MIN, KpiRecord


def merge(stored: KpiRecord | None, correction: KpiRecord) -> KpiRecord | None:
    """The row after ``correction``, or None when the row has already merged its event."""
    if not correction.correction or correction.event_id is None:
        raise ValueError("merge() takes a correction")
    if stored is None:
        return correction.model_copy(
            update={
                "correction": False,
                "event_id": None,
                "late_events": 1,
                "late_ids": [correction.event_id],
                "sequence": max(correction.sequence, 1),
            }
        )
    if correction.event_id in stored.late_ids:
        return None
    members = sorted(set(stored.members) | set(correction.members))
    parts = merge_parts(stored.parts, correction.parts, len(members))
    return stored.model_copy(
        update={
            "parts": parts,
            "rates": {},  # derived: readers recompute them from the parts
            "members": members,
            "computed_at": correction.computed_at,
            "sequence": stored.sequence + 1,
            "late_events": stored.late_events + 1,
            "late_ids": [*stored.late_ids, correction.event_id],
        }
    )


def merge_parts(stored: Any, delta: Any, members: int) -> Any:
    """``stored`` + ``delta`` field by field, by the parts class's ``MERGE`` rules."""
    if type(stored) is not type(delta):
        raise ValueError(f"cannot merge {type(delta).__name__} into {type(stored).__name__}")
    rules: dict[str, str] = type(stored).MERGE
    merged: dict[str, Any] = {}
    for name in type(stored).model_fields:
        a, b = getattr(stored, name), getattr(delta, name)
        rule = rules.get(name)
        if name == "domain":
            merged[name] = a
        elif rule == LATEST:
            merged[name] = b
        elif rule == MEMBERS:
            # A member row (a sensor's own row) has no members: it reports or not. A row
            # written before rows listed their members keeps at least its own count.
            merged[name] = max(a, members) if members else max(a, b)
        elif a is None or b is None:
            merged[name] = b if a is None else a
        elif rule == MIN:
            merged[name] = min(a, b)
        elif rule == MAX:
            merged[name] = max(a, b)
        else:
            merged[name] = a + b
    return type(stored).model_construct(**merged)
