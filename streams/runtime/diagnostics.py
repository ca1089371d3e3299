"""What each domain's agent is doing right now: ``kill -USR2 <pid>`` logs it.

faust's own SIGUSR1 dump shows each task's outermost frame, which for every agent is
faust's ``_execute_actor``: it cannot tell an agent waiting for its next batch from one
waiting for the broker or the offset probe. Each :class:`Stage` records the step its
runtime is in and since when; the dump says it per domain, then what the consumer
holds for every source partition (:func:`consumer_lines`): an idle agent whose
partition faust has paused, dropped from its fetch or moved past the records the state
awaits is told apart from one that simply has nothing to read.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Stage:
    """The step a domain's runtime is in (``idle`` between batches) and since when."""

    name: str = "idle"
    since: float = field(default_factory=time.monotonic)
    detail: str = ""

    @contextmanager
    def step(self, name: str, detail: str = "") -> Iterator[None]:
        """Within the block the runtime is in step ``name``; idle again after it."""
        self.name, self.detail, self.since = name, detail, time.monotonic()
        try:
            yield
        finally:
            self.name, self.detail, self.since = "idle", "", time.monotonic()

    def describe(self, now: float) -> str:
        """``deliver for 12.3 s (…)``."""
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.name} for {now - self.since:.1f} s{extra}"


def dump(stages: Iterable[tuple[str, Stage]], extra: Iterable[str] = ()) -> None:
    """Log every domain's step, then the ``extra`` lines (one record)."""
    now = time.monotonic()
    lines = [f"  {name}: {stage.describe(now)}" for name, stage in stages]
    lines += [f"  {line}" for line in extra]
    log.warning("where each domain's agent is (SIGUSR2):\n%s", "\n".join(lines))


def install(
    loop: asyncio.AbstractEventLoop,
    stages: Callable[[], Iterable[tuple[str, Stage]]],
    extra: Callable[[], Iterable[str]] = tuple,
) -> None:
    """``kill -USR2`` logs :func:`dump` of ``stages()`` and ``extra()`` (by the loop)."""
    loop.add_signal_handler(signal.SIGUSR2, lambda: dump(stages(), extra()))


def consumer_lines(app: Any, topics: Iterable[str]) -> list[str]:
    """What faust's consumer and aiokafka's hold for each assigned partition of ``topics``.

    Reads private attributes of both (a diagnostic, never a decision): faust's paused,
    active and buffer-full sets, its read and committed offsets, aiokafka's position and
    pause flag, the highwater; then the app's flow flags and the fetcher's state. Read
    from the event loop while the consumer thread runs: a value may be a moment old.
    """
    try:
        consumer = app.consumer
        wanted = set(topics)
        assignment = sorted(tp for tp in consumer.assignment() if tp.topic in wanted)
        states = consumer._thread._consumer._subscription.subscription.assignment
        lines = [
            f"app: in_recovery={app.in_recovery} flow_active={consumer.flow_active} "
            f"suspend_flow={consumer.suspend_flow.is_set()} "
            f"fetcher={app._fetcher.state} consumer={consumer.state}"
        ]
        for tp in assignment:
            state = states.state_value(tp)
            position = state.position if state is not None and state.has_valid_position else None
            lines.append(
                f"{tp.topic}[{tp.partition}]: position={position} "
                f"paused={tp in consumer._paused_partitions}/"
                f"{state.paused if state is not None else None} "
                f"active={tp in consumer._get_active_partitions()} "
                f"buffer_full={tp in consumer._buffered_partitions} "
                f"read={consumer._read_offset.get(tp)} "
                f"committed={consumer._committed_offset.get(tp)} "
                f"highwater={consumer.highwater(tp)}"
            )
        return lines
    except Exception as exc:  # a diagnostic must never be the failure
        return [f"consumer state unavailable: {exc!r}"]
