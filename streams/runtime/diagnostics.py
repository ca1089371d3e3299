"""What each domain's agent is doing right now: ``kill -USR2 <pid>`` logs it.

faust's own SIGUSR1 dump shows each task's outermost frame, which for every agent is
faust's ``_execute_actor``: it cannot tell an agent waiting for its next batch from one
waiting for the broker or the offset probe. Each :class:`Stage` records the step its
runtime is in and since when; the dump says it per domain.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

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


def dump(stages: Iterable[tuple[str, Stage]]) -> None:
    """Log every domain's step (one record)."""
    now = time.monotonic()
    lines = "\n".join(f"  {name}: {stage.describe(now)}" for name, stage in stages)
    log.warning("where each domain's agent is (SIGUSR2):\n%s", lines)


def install(
    loop: asyncio.AbstractEventLoop, stages: Callable[[], Iterable[tuple[str, Stage]]]
) -> None:
    """``kill -USR2`` logs :func:`dump` of ``stages()`` (the loop's own signal handler)."""
    loop.add_signal_handler(signal.SIGUSR2, lambda: dump(stages()))
