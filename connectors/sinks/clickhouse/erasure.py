"""The sink never writes a row of an erased subject back (decision 0041).

``ioc db erase`` records the hash in ``erased_subjects`` before it deletes. Kafka still
holds the hashed events (the source topics for the replay horizon, replay copies for
good), so a group reset, a replayed copy or a redelivery would bring the rows back:
before each write the sink checks the register and drops those rows.

Cost: the register is read whole at start and again only when it changed; the check
before each batch is one small query (``count()`` and ``max(erased_at_ms)`` of a table
of a few rows per erasure). Dropping is a set look-up per row of the three tables that
carry a hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.sinks.clickhouse.corrections import Query
from connectors.sinks.clickhouse.rows import COLUMNS, Origin, Row
from schemas.erasure import REGISTER_TABLE, ErasedSet

# Tables whose rows name a subject: (column holding the hash, column of the event time).
_BY_HASH = {
    "events_qr": ("subject_hash", "event_time_ms"),
    "events_dossier": ("applicant_hash", "event_time_ms"),
}
_PAYLOAD = COLUMNS["deadletter"].index("payload")
ERASABLE = (*_BY_HASH, "deadletter")
"""Tables the sink filters; KPIs, data quality, anomalies and dossier_state name no one."""


class ErasureRegister:
    """The erased set as of the last :meth:`refresh`."""

    def __init__(self, client: Query, database: str) -> None:
        self.client = client
        self.database = database
        self.erased = ErasedSet()
        self._fingerprint: tuple[Any, ...] | None = None
        self.reloads = 0

    def refresh(self) -> ErasedSet:
        """Re-read the register if it changed since the last call (one small query if not)."""
        table = f"{self.database}.{REGISTER_TABLE}"
        rows = self.client.execute(f"SELECT count(), max(erased_at_ms) FROM {table}")
        fingerprint = tuple(rows[0]) if rows else ()
        if fingerprint != self._fingerprint:
            found = self.client.execute(
                f"SELECT subject_hash, max(until_ms) FROM {table} GROUP BY subject_hash"
            )
            self.erased = ErasedSet.of((str(h), int(u)) for h, u in found)
            self._fingerprint = fingerprint
            self.reloads += 1
        return self.erased


def keep(
    erased: ErasedSet, table: str, rows: Sequence[Row], origins: Sequence[Origin]
) -> tuple[list[Row], list[Origin], int]:
    """The rows (and their origins) that name no erased subject, and how many were dropped."""
    if not erased or table not in ERASABLE:
        return list(rows), list(origins), 0
    if table == "deadletter":
        wanted = [not erased.named_in(str(row[_PAYLOAD])) for row in rows]
    else:
        columns = COLUMNS[table]
        at, when = (columns.index(c) for c in _BY_HASH[table])
        wanted = [not erased.covers(row[at], row[when]) for row in rows]
    kept_rows = [r for r, ok in zip(rows, wanted, strict=True) if ok]
    kept_origins = [o for o, ok in zip(origins, wanted, strict=True) if ok]
    return kept_rows, kept_origins, len(rows) - len(kept_rows)
