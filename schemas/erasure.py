"""Erased subjects: which stored hashes must never be written again, and up to when.

``ioc db erase`` records each erased subject hash in ClickHouse's ``erased_subjects``
register (decision 0041) before it deletes the rows. Kafka cannot delete one record in
place, so the hashed events stay in the source topics (30 days) and in replay copies
(unlimited); whoever reads them back into storage — the sink, ``ioc replay copy`` —
asks an :class:`ErasedSet` first and drops what it names.

An erasure covers events *up to* the moment it was made (plus the clock skew the
connectors accept): a person who scans again afterwards, or a plate given to another
vehicle, is new data. Dead letters have no reliable event time: one naming an erased
hash is dropped whatever its time.

Pure code: the sink and the replay tools load the set, this module only decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

HASH_TOKEN = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
"""A stored subject hash (HMAC-SHA256, lowercase hex) standing alone in free text."""
HASH_TOKEN_BYTES = re.compile(rb"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")

REGISTER_TABLE = "erased_subjects"
"""The ClickHouse table of the register (deploy/clickhouse/migrations/0010)."""


@dataclass(frozen=True, slots=True)
class ErasedSet:
    """Erased hashes and, for each, the last event time (ms) the erasure covers."""

    until_ms: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Iterable[tuple[str, int]]) -> ErasedSet:
        """From (hash, until_ms) rows; a hash erased twice keeps its latest cover."""
        until: dict[str, int] = {}
        for digest, ms in rows:
            until[digest] = max(int(ms), until.get(digest, 0))
        return cls(until)

    def __len__(self) -> int:
        return len(self.until_ms)

    def covers(self, digest: str | None, event_ms: int) -> bool:
        """True when ``digest`` was erased and the event is not newer than the erasure."""
        if digest is None:
            return False
        until = self.until_ms.get(digest)
        return until is not None and event_ms <= until

    def named_in(self, text: str) -> bool:
        """True when free text (a dead letter's payload) names an erased hash."""
        return bool(self.until_ms) and any(
            m.group(0) in self.until_ms for m in HASH_TOKEN.finditer(text)
        )

    def names_in_record(self, value: bytes | None, timestamp_ms: int) -> bool:
        """True when a raw Kafka record names an erased hash the erasure covers.

        Used on records not decoded (``ioc replay copy``): any standalone 64-hex token of
        the value, against the record's timestamp (connectors stamp it with the event
        time).
        """
        if not self.until_ms or not value:
            return False
        return any(
            self.covers(m.group(0).decode(), timestamp_ms) for m in HASH_TOKEN_BYTES.finditer(value)
        )
