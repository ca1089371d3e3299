"""Pure maths of the recovery phase: intervals, replayed bytes, the state check.

Definitions (docs/performance.md, "Scaling and recovery"):

- a step *starts* at the instant the group is disturbed: the rebalance's first revoke in
  the old member's log (a join), the SIGTERM (a leave), the restarted process's spawn (a
  restart — its kill and the deleted state come before);
- it is *done* at the first poll where, at once, the group is ``Stable`` with the expected
  members, every member's last rebalance step in its log is faust's ``Worker ready``, and
  the group has committed every source partition to its end — probe records produced
  after the step started included, so every partition's new owner has rebuilt its state
  and processed new records (their results are delivered before the commit).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ioc.tooling.bench.faustlog import Loaded

K = TypeVar("K")


@dataclass
class Marks:
    """Instants (epoch seconds) first seen during a step; None until seen."""

    start: float
    stable: float | None = None
    """Poll that first saw the group Stable with the expected members."""
    recovered: float | None = None
    """The latest ``Worker ready`` among the members (log time)."""
    caught_up: float | None = None
    """Poll that first saw every source partition committed to its end."""
    done: float | None = None
    """Poll where all three held at once."""
    partitions: dict[str, float] = field(default_factory=dict)
    """Poll that first saw each source partition (``<stream>[<p>]``) committed to its end:
    which new owner was last to process again."""

    def seconds(self) -> dict[str, Any]:
        """Each mark as seconds after the start."""
        return {
            "group_stable_s": after(self.start, self.stable),
            "recovered_s": after(self.start, self.recovered),
            "caught_up_s": after(self.start, self.caught_up),
            "processing_s": after(self.start, self.done),
            "partition_caught_up_s": {
                name: after(self.start, at) for name, at in sorted(self.partitions.items())
            },
        }


def after(start: float, at: float | None) -> float | None:
    """``at − start`` in seconds (2 decimals), None when ``at`` was never seen."""
    return None if at is None else round(at - start, 2)


def per(amount: float | None, count: float | None, digits: int = 1) -> float | None:
    """``amount / count`` rounded; None when either is missing or ``count`` is 0."""
    if amount is None or not count:
        return None
    return round(amount / count, digits)


def bytes_read(plan: Mapping[K, int], spans: Mapping[K, int], sizes: Mapping[K, int]) -> int | None:
    """Bytes a replay of ``plan`` (records per partition) fetches, pro rata to each log.

    ``spans``: offsets each partition's log holds (end − beginning); ``sizes``: its bytes
    on the broker. A whole-log replay reads its size; a partial one its share. None when a
    planned partition's size or span is unknown.
    """
    total = 0.0
    for tp, records in plan.items():
        span, size = spans.get(tp), sizes.get(tp)
        if span is None or size is None:
            return None
        if span > 0:
            total += size * min(1.0, records / span)
    return round(total)


def changelog_figures(
    spans: Mapping[Any, int],
    sizes: Mapping[Any, int],
    events: int | None = None,
    entities: int | None = None,
) -> dict[str, float | int | None]:
    """What the changelogs hold after ``events`` over ``entities``: totals and ratios."""
    records = sum(spans.values())
    size = sum(sizes.values())
    return {
        "partitions": len(spans),
        "records": records,
        "bytes": size,
        "records_per_event": per(records, events, 2),
        "bytes_per_event": per(size, events),
        "records_per_entity": per(records, entities, 2),
        "bytes_per_entity": per(size, entities),
        "bytes_per_record": per(size, records),
    }


def state_check(
    loaded: Iterable[Loaded], expected: Mapping[tuple[str, int], int]
) -> dict[str, Any]:
    """Whether each partition engine built after the step started where its state stood.

    ``expected``: per (stream, partition), the last source offset applied before the step
    (the log's end − 1: everything before was processed and committed). An engine loaded
    at a lower offset lost state (it would re-read the source from there); a higher one is
    right too — a leaving member may process part of the probe while it stops. One
    loaded twice counts once, its last load.
    """
    last: dict[tuple[str, int], Loaded] = {}
    for item in loaded:
        last[(item.stream, item.partition)] = item
    mismatches = [
        {"partition": f"{s}[{p}]", "loaded_offset": item.offset, "expected": expected.get((s, p))}
        for (s, p), item in sorted(last.items())
        if item.offset < expected.get((s, p), item.offset + 1)
    ]
    return {
        "partitions_loaded": len(last),
        "state_records_loaded": sum(i.records for i in last.values()),
        "offsets_match": not mismatches,
        "mismatches": mismatches[:20],
    }
