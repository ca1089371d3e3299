"""``ioc db erase``: record the subject in the erasure register, then delete its rows.

Order matters (decision 0041). The register row goes first: from then on the sink
drops the subject's rows before every write (it re-reads the register at each batch),
and ``ioc replay copy`` skips its records. Then the rows already stored are deleted.
A sink write that read the register just before it changed can still land after the
delete, so after ``settle_s`` (longer than the sink's insert timeout) the rows are
counted again and deleted again if any came back.
"""

from __future__ import annotations

import getpass
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ioc.errors import MigrationError
from ioc.ops.db.executors import SqlExecutor
from ioc.ops.db.maintenance import erase_subject
from schemas.erasure import REGISTER_TABLE, ErasedSet
from schemas.privacy import mask_text
from schemas.timeutil import to_ms, utcnow

_HASH = re.compile(r"^[0-9a-f]{64}$")
REGISTER_COLUMNS = (
    "subject_hash", "key_id", "erased_at", "erased_at_ms", "until_ms", "reason", "erased_by",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Erasure:
    """One hash to erase: the key id that made it (or ``given``), why, by whom."""

    subject_hash: str
    key_id: str
    reason: str
    erased_by: str = ""


def clean_reason(reason: str, identifier: str | None = None) -> str:
    """The reason as stored: never the raw identifier, ids and plates masked, one line."""
    text = " ".join(reason.split())
    if not text:
        raise MigrationError("--reason is required: the request it answers (a reference)")
    if identifier and identifier.strip() and identifier.strip() in text:
        raise MigrationError("the reason must not contain the identifier itself")
    return mask_text(text)[:500]


def record(
    executor: SqlExecutor, database: str, erasures: list[Erasure], skew_s: int, now: datetime
) -> None:
    """Write the register rows (before any delete)."""
    at_ms = to_ms(now)
    rows = []
    for e in erasures:
        if not _HASH.match(e.subject_hash):
            raise MigrationError("a subject hash is 64 lowercase hex characters")
        rows.append((e.subject_hash, e.key_id, now, at_ms, at_ms + skew_s * 1_000, e.reason,
                     e.erased_by or getpass.getuser()))  # fmt: skip
    executor.insert(f"{database}.{REGISTER_TABLE}", REGISTER_COLUMNS, rows)


def load(executor: SqlExecutor, database: str) -> ErasedSet:
    """The register as the sink and the replay tools use it."""
    rows = executor.execute(
        f"SELECT subject_hash, max(until_ms) FROM {database}.{REGISTER_TABLE} GROUP BY subject_hash"
    )
    return ErasedSet.of((str(h), int(u)) for h, u in rows)


def erase(
    executor: SqlExecutor,
    database: str,
    erasures: list[Erasure],
    *,
    skew_s: int,
    settle_s: float,
    report: Callable[[str], None] = lambda line: None,
    cluster: str = "",
) -> dict[str, dict[str, int]]:
    """Register, delete, wait ``settle_s``, delete what came back; {key id: {table: rows}}."""
    record(executor, database, erasures, skew_s, utcnow())
    report(f"{len(erasures)} hash(es) recorded in {database}.{REGISTER_TABLE}")
    found = {
        e.key_id: erase_subject(executor, database, e.subject_hash, cluster=cluster)
        for e in erasures
    }
    if settle_s > 0:
        time.sleep(settle_s)  # a sink insert begun before the register row was written
    for e in erasures:
        late = erase_subject(executor, database, e.subject_hash, cluster=cluster)
        for table, n in late.items():
            if n:
                report(f"{table}: {n} more rows landed during the erasure (key {e.key_id})")
            found[e.key_id][table] += n
    return found
