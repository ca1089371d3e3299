"""Retries produce the same event ids, and a recent retry is answered from memory.

The id rule is the durable guarantee (downstream de-duplicates by event_id, so even a
retry after a gateway restart counts once). The in-memory replay cache is an
optimisation on top: a retry of a request answered a moment ago is not written to
Kafka a second time, so the topic itself stays free of most duplicates.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from schemas.base import EVENT_ID_NAMESPACE

IDEMPOTENCY_HEADER = "Idempotency-Key"
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as header values should be


def valid_idempotency_key(value: str) -> bool:
    """1-255 visible ASCII characters."""
    return bool(_VALID_KEY.match(value))


def idempotent_event_id(source: str, stream: str, key: str, index: int) -> uuid.UUID:
    """UUIDv5 of (source, stream, Idempotency-Key, position in the batch).

    Scoped by source so two clients that pick the same key never collide; the
    index gives each item of a batch its own id.
    """
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"http|{source}|{stream}|{key}|{index}")


def body_digest(body: bytes) -> str:
    """What a retry must repeat exactly to be a retry."""
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True)
class CachedResponse:
    digest: str
    status: int
    body: bytes
    items: int


class ReplayCache:
    """A bounded LRU of (source, stream, key) -> the answer given."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[str, str, str], CachedResponse] = OrderedDict()

    def get(self, key: tuple[str, str, str]) -> CachedResponse | None:
        """The cached answer, refreshed as most recently used."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: tuple[str, str, str], entry: CachedResponse) -> None:
        """Remember an answer; the least recently used one goes when full."""
        if self._capacity <= 0:
            return
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
