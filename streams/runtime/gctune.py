"""Garbage-collector thresholds for a process that holds a partition's state in memory.

A worker keeps every held window, register chain, event id and detector record as plain
dicts and lists: hundreds of thousands to millions of long-lived containers. With
CPython's default thresholds (700, 10, 10) the cyclic collector took 26 % of the
engines' CPU time on the bench's 150,000 events (8.7 of 33.7 CPU-s): young collections
every 700 net allocations, and 17 full collections walking the whole growing state.
Raising the young threshold to 10,000 and the full-collection one to 1,000 (a full
collection considered every ≈ 100 million net allocations — a few minutes of a busy
worker — and, as always, only once a quarter of the long-lived objects are new) cut that
to ≈ 2 CPU-s at 32,455 entities and 3 CPU-s at 100,495 (from 15.6 s, 19 full collections).
Raising the young threshold alone is not enough: at 100,495 entities (10,000, 10, 10)
still ran 7 full collections, 20 CPU-s. The state holds no reference cycles
(JSON-shaped records, freed by reference counting), so collecting less often only delays
the cyclic garbage of the libraries around it (asyncio, faust).
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
