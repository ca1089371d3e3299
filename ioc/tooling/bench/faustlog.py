"""What a worker's log says about its group and its recovery (pure: text in, events out).

The recovery phase times rebalances and restarts from the workers' own INFO lines, since
they are written at the instant each step happens (a poll of the broker only sees states
it happens to catch):

- aiokafka: ``Revoking previously assigned partitions`` (a rebalance starts for this
  member), ``Joined group '…' (generation N)``, ``Setting newly assigned partitions``;
- faust's recovery: the tables ``Highwater for active changelog partitions`` and ``active
  offsets at start of reading`` (what it is about to replay), ``Restoring state from
  changelog topics``, ``Done reading from changelog topics``, ``Worker ready`` (state
  rebuilt, streams resumed) and, once per process, ``[^Worker]: Ready``;
- aiokafka again as a member stops: ``LeaveGroup request succeeded``;
- the runtime: ``<domain>[<p>]: loaded N state records, watermark W, offset O`` when a
  partition's engine is built from the recovered table (its first batch after assignment).

Log times are local wall-clock times with milliseconds; they are turned into epoch
seconds so they compare with ``time.time()`` on the same machine.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal[
    "revoke", "joined", "assigned", "highwater", "start", "restoring", "done_reading",
    "ready", "app_ready", "loaded", "left",
]  # fmt: skip

_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})\] \[\d+\] \[\w+\] (.*)$")
_LOADED = re.compile(r"(\w+)\[(\d+)\]: loaded (\d+) state records, watermark (\S+), offset (-?\d+)")
_GENERATION = re.compile(r"\(generation (\d+)\)")
_ROW = re.compile(r"^\|\s*(.+?)\s*\|\s*(\d+)\s*\|\s*(-?\d+)\s*\|\s*$")
_SAME = "〃"  # faust's log tables write a repeated topic name as a ditto mark

_MARKERS: tuple[tuple[str, Kind], ...] = (
    ("Revoking previously assigned partitions", "revoke"),
    ("Joined group", "joined"),
    ("Setting newly assigned partitions", "assigned"),
    ("Highwater for active changelog partitions", "highwater"),
    ("active offsets at start of reading", "start"),
    ("Restoring state from changelog topics", "restoring"),
    ("Done reading from changelog topics", "done_reading"),
    ("[^---Recovery]: Worker ready", "ready"),
    ("[^Worker]: Ready", "app_ready"),
    ("LeaveGroup request succeeded", "left"),
)

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Loaded:
    """A partition engine built from the table: what state it found."""

    stream: str
    partition: int
    records: int
    watermark: int | None
    offset: int


@dataclass(slots=True)
class Event:
    at: float
    """Epoch seconds."""
    kind: Kind
    generation: int | None = None
    table: dict[TopicPartition, int] = field(default_factory=dict)
    """highwater / start: offset per changelog partition."""
    loaded: Loaded | None = None


def _epoch(stamp: str, millis: str) -> float:
    # The log's time is the local wall clock (logging's asctime); mktime reads it the same way.
    return time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")) + int(millis) / 1000


def _kind(message: str) -> Kind | None:
    if _LOADED.search(message):
        return "loaded"
    for marker, kind in _MARKERS:
        if marker in message:
            return kind
    return None


def parse(text: str) -> list[Event]:
    """Every event of interest in a worker's log, in order."""
    events: list[Event] = []
    table: Event | None = None  # the event whose table rows follow
    topic = ""
    for line in text.splitlines():
        head = _LINE.match(line)
        if head is None:
            row = _ROW.match(line) if table is not None else None
            if row is not None and table is not None:
                name = row.group(1)
                topic = topic if name == _SAME else name
                table.table[(topic, int(row.group(2)))] = int(row.group(3))
            continue
        table = None
        message = head.group(3)
        kind = _kind(message)
        if kind is None:
            continue
        event = Event(_epoch(head.group(1), head.group(2)), kind)
        if kind == "loaded":
            found = _LOADED.search(message)
            assert found is not None  # _kind matched it
            wm = found.group(4)
            event.loaded = Loaded(
                found.group(1), int(found.group(2)), int(found.group(3)),
                None if wm == "None" else int(wm), int(found.group(5)),
            )  # fmt: skip
        elif kind == "joined":
            generation = _GENERATION.search(message)
            event.generation = int(generation.group(1)) if generation else None
        elif kind in ("highwater", "start"):
            table, topic = event, ""
        events.append(event)
    return events


def since(events: Iterable[Event], at: float) -> list[Event]:
    """Events at or after ``at``."""
    return [e for e in events if e.at >= at]


def first(events: Iterable[Event], kind: Kind) -> Event | None:
    """The first event of a kind."""
    return next((e for e in events if e.kind == kind), None)


def last(events: Iterable[Event], kind: Kind) -> Event | None:
    """The last event of a kind."""
    found = None
    for e in events:
        if e.kind == kind:
            found = e
    return found


def settled(events: Iterable[Event]) -> bool:
    """The member's last rebalance step is a finished recovery (``Worker ready``)."""
    steps = [e for e in events if e.kind in ("revoke", "assigned", "ready")]
    return bool(steps) and steps[-1].kind == "ready"


def replay_plan(events: Iterable[Event]) -> dict[TopicPartition, int]:
    """Changelog records the member's last recovery set out to read, per partition.

    faust logs each partition's highwater (its last offset) and the offset it starts
    after (−1: from the beginning); it reads the offsets in between. Compacted-away
    records leave gaps, so this is an upper bound of the records fetched.
    """
    chosen = list(events)
    high = last(chosen, "highwater")
    start = last(chosen, "start")
    if high is None or start is None:
        return {}
    return {
        tp: max(0, hw - start.table.get(tp, -1))
        for tp, hw in high.table.items()
        if hw - start.table.get(tp, -1) > 0
    }
