"""Garbage-collector thresholds for a process that holds a partition's state in memory.

A worker keeps every held window, register chain, event id and detector record as plain
dicts and lists: hundreds of thousands to millions of long-lived containers. CPython's
default thresholds (700, 10, 10) run a young collection every 700 net allocations and,
as the state grows, full collections that walk all of it — 26 % of the engines' CPU
time on the bench's 150,000 events (8.7 of 33.7 CPU-s, 17 full collections). The state
holds no reference cycles (JSON-shaped records, freed by reference counting), so
collecting less often only delays the cyclic garbage of the libraries around it
(asyncio, faust), a few thousand objects at a time.
"""

from __future__ import annotations

import gc

YOUNG = 10_000
"""Net container allocations between young collections (CPython default 700)."""
MIDDLE = 10
"""Young collections per middle collection (the default)."""
OLD = 1_000
"""Middle collections before a full one is considered (default 10); CPython also waits
until the survivors pending a full collection are a quarter of the long-lived objects."""


def tune_gc() -> None:
    """Collect less often (see the module doc); call once at process start."""
    gc.set_threshold(YOUNG, MIDDLE, OLD)
