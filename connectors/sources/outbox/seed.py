"""How the one-stop-shop system records a status change, and a seed of realistic dossiers.

``record_change`` is what the system does in one transaction: append a history row
and update the dossier's current state. The seed script, the tests and the simulator
write through it, so the poller always reads what the real system would produce.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import psycopg

# Illustrative agencies (code, area): Bình Phước's provincial departments and district
# one-stop-shops; district codes are the official 2021 ones (688-698).
DEFAULT_AGENCIES: tuple[tuple[str, str], ...] = (
    ("000.00.21.H10", "70"),
    ("000.00.22.H10", "70"),
    ("000.00.23.H10", "70"),
    ("000.00.31.H10", "689"),
    ("000.00.32.H10", "690"),
    ("000.00.33.H10", "688"),
    ("000.00.34.H10", "697"),
    ("000.00.35.H10", "696"),
)


@dataclass(frozen=True, slots=True)
class StatusChange:
    dossier_id: str
    procedure_code: str
    agency_code: str
    area_code: str
    level: int
    channel: str
    status: str
    changed_at: datetime
    applicant_id: str | None = None
    received_at: datetime | None = None
    due_at: datetime | None = None
    paid_online: bool = False
    digitized: bool = False


_HISTORY = """
INSERT INTO dossier_status_history
    (dossier_id, procedure_code, agency_code, area_code, level, channel, status,
     previous_status, applicant_id, changed_at, received_at, due_at, paid_online, digitized)
VALUES (%(dossier_id)s, %(procedure_code)s, %(agency_code)s, %(area_code)s, %(level)s,
        %(channel)s, %(status)s, %(previous_status)s, %(applicant_id)s, %(changed_at)s,
        %(received_at)s, %(due_at)s, %(paid_online)s, %(digitized)s)
RETURNING id
"""
_CURRENT = """
INSERT INTO dossier
    (dossier_id, procedure_code, agency_code, area_code, level, channel, status, applicant_id,
     received_at, due_at, paid_online, digitized, last_history_id, updated_at)
VALUES (%(dossier_id)s, %(procedure_code)s, %(agency_code)s, %(area_code)s, %(level)s,
        %(channel)s, %(status)s, %(applicant_id)s, %(received_at)s, %(due_at)s,
        %(paid_online)s, %(digitized)s, %(id)s, %(changed_at)s)
ON CONFLICT (dossier_id) DO UPDATE SET
    agency_code = EXCLUDED.agency_code, area_code = EXCLUDED.area_code,
    status = EXCLUDED.status, received_at = EXCLUDED.received_at, due_at = EXCLUDED.due_at,
    paid_online = EXCLUDED.paid_online, digitized = EXCLUDED.digitized,
    last_history_id = EXCLUDED.last_history_id, updated_at = EXCLUDED.updated_at
"""


def record_change(conn: psycopg.Connection[Any], change: StatusChange) -> int:
    """Append the history row and update the dossier, atomically; the new history id.

    Inside a transaction the caller already opened, this joins it (as a savepoint):
    that is how a test holds a commit back to make ids commit out of order.
    """
    with conn.transaction():
        cur = conn.execute(
            "SELECT status FROM dossier WHERE dossier_id = %s FOR UPDATE", (change.dossier_id,)
        )
        found = cur.fetchone()
        params: dict[str, Any] = {
            "dossier_id": change.dossier_id,
            "procedure_code": change.procedure_code,
            "agency_code": change.agency_code,
            "area_code": change.area_code,
            "level": change.level,
            "channel": change.channel,
            "status": change.status,
            "previous_status": found[0] if found else None,
            "applicant_id": change.applicant_id,
            "changed_at": change.changed_at,
            "received_at": change.received_at,
            "due_at": change.due_at,
            "paid_online": change.paid_online,
            "digitized": change.digitized,
        }
        row = conn.execute(_HISTORY, params).fetchone()
        assert row is not None
        history_id = int(row[0])
        params["id"] = history_id
        conn.execute(_CURRENT, params)
    return history_id


def lifecycle(
    rng: random.Random,
    dossier_id: str,
    start: datetime,
    agencies: Sequence[tuple[str, str]] = DEFAULT_AGENCIES,
) -> list[StatusChange]:
    """One dossier's status changes: online >95%, mostly on time, some open, a few moved."""
    agency, area = rng.choice(agencies)
    online = rng.random() < 0.96
    received = start
    base = StatusChange(
        dossier_id=dossier_id,
        procedure_code=f"1.{rng.randrange(1, 1258):06d}",
        agency_code=agency,
        area_code=area,
        level=4 if online else rng.choice((2, 3)),
        channel="online" if online else "in_person",
        status="received",
        changed_at=received,
        applicant_id=f"070{rng.randrange(10**9):09d}",  # illustrative CCCD, province 070
        received_at=received,
        due_at=received + timedelta(days=rng.choice((3, 5, 7, 10))),
        paid_online=online and rng.random() < 0.7,
        digitized=rng.random() < 0.9,
    )
    changes = [base]
    clock = received

    def step(status: str, **kw: Any) -> None:
        nonlocal clock
        clock += timedelta(minutes=rng.randrange(10, 600))
        changes.append(replace(changes[-1], status=status, changed_at=clock, **kw))

    if rng.random() < 0.03:
        step(rng.choice(("rejected", "withdrawn")))
        return changes
    step("processing")
    if rng.random() < 0.08:
        other = rng.choice([a for a in agencies if a[0] != agency])
        step("processing", agency_code=other[0], area_code=other[1])  # moved to another agency
    if rng.random() < 0.1:
        step("supplement_requested")
        step("processing")
    if rng.random() < 0.2:
        return changes  # still open
    step("completed")
    if rng.random() < 0.8:
        step("result_returned")
    return changes


def seed(
    conn: psycopg.Connection[Any],
    *,
    dossiers: int,
    now: datetime,
    rng: random.Random,
    prefix: str = "H21",
    days: int = 5,
) -> int:
    """Write ``dossiers`` lifecycles that end before ``now``; the number of history rows."""
    all_changes: list[StatusChange] = []
    for n in range(dossiers):
        start = now - timedelta(days=days) + timedelta(seconds=rng.randrange(days * 43_200))
        all_changes += lifecycle(rng, f"{prefix}.{n:06d}", start)
    # The system writes changes as they happen: in time order, never in the future.
    ordered = sorted((c for c in all_changes if c.changed_at <= now), key=lambda c: c.changed_at)
    for change in ordered:
        record_change(conn, change)
    return len(ordered)
