"""What Alertmanager should know, and what it still has to be told (pure state, no I/O).

The book keeps the latest record of every anomaly (per generation, from the live one
up, so a promoted rebuild takes over without re-reading the topic) and derives:

- *firing* alerts: open anomalies of the live generation with severity ≥ warning,
  one label set each. They are re-posted every ``repost_interval`` with
  ``endsAt = now + 4 × repost_interval``, so Alertmanager resolves them by itself if
  the alerter dies (the alerter being down is alerted by Prometheus before that).
- *resolves*: label sets that were firing and are no longer wanted — the anomaly
  resolved (``endsAt = min(ended_at, now)``), its severity changed (the old label set
  ends now; the new one opens) or its generation is no longer live.

Posting is two-phase: :meth:`AlertBook.take_due` hands out a batch, :meth:`ack`
records it once Alertmanager accepted it. A batch that failed is simply not acked:
what it carried is still due at the next attempt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from typing import Any

from connectors.sinks.alerter.alerts import Renderer, is_paged, label_key, labels
from schemas.results import Anomaly, AnomalyState

REPOST_LEAD = 4
"""endsAt of a firing alert = now + REPOST_LEAD × repost interval.

See docs/architecture.md, "Alerts".
"""

_tokens = count(1)


@dataclass(slots=True)
class Firing:
    anomaly: Anomaly
    labels: dict[str, str]
    posted_at: datetime | None = None
    token: int = field(default_factory=lambda: next(_tokens))


@dataclass(slots=True)
class Resolve:
    anomaly: Anomaly
    labels: dict[str, str]
    ends_at: datetime
    token: int = field(default_factory=lambda: next(_tokens))


@dataclass(frozen=True, slots=True)
class Batch:
    """Alerts to post together, and how to recognise them when acknowledging."""

    payloads: list[dict[str, Any]]
    firing: list[tuple[str, int]]
    resolves: list[tuple[tuple[tuple[str, str], ...], int]]

    def __bool__(self) -> bool:
        return bool(self.payloads)

    @property
    def firing_count(self) -> int:
        """Firing alerts in the batch."""
        return len(self.firing)

    @property
    def resolved_count(self) -> int:
        """Resolved alerts in the batch."""
        return len(self.resolves)


class AlertBook:
    """Anomaly records in, Alertmanager payloads out."""

    def __init__(
        self, renderer: Renderer, *, live_generation: int, repost_interval: timedelta
    ) -> None:
        self.renderer = renderer
        self.live_generation = live_generation
        self.repost_interval = repost_interval
        self.records: dict[int, dict[str, Anomaly]] = {}
        self.firing: dict[str, Firing] = {}
        self.resolves: dict[tuple[tuple[str, str], ...], Resolve] = {}

    # --- records in -------------------------------------------------------------------

    def store(self, anomaly: Anomaly) -> bool:
        """Remember a record without deciding anything (the start-up replay); False = ignored.

        Older generations than the live one are never needed again; within a
        generation a lower sequence than the one held is an out-of-order copy.
        """
        if anomaly.generation < self.live_generation:
            return False
        held = self.records.setdefault(anomaly.generation, {})
        previous = held.get(anomaly.anomaly_id)
        if previous is not None and previous.sequence > anomaly.sequence:
            return False
        held[anomaly.anomaly_id] = anomaly
        return True

    def apply(self, anomaly: Anomaly, now: datetime) -> bool:
        """A live record: store it and reconcile its alert; False = not for Alertmanager."""
        if not self.store(anomaly) or anomaly.generation != self.live_generation:
            return False
        self._reconcile(anomaly.anomaly_id, now)
        return True

    def forget(self, anomaly_id: str, now: datetime) -> None:
        """A tombstone on the compacted topic: the anomaly is gone; resolve what fired."""
        for held in self.records.values():
            held.pop(anomaly_id, None)
        self._reconcile(anomaly_id, now)

    def start(self, now: datetime, resolved_horizon: timedelta) -> None:
        """After the start-up replay: final states only (no history is re-sent).

        Open alerts are posted (Alertmanager de-duplicates what it already has, so no
        one is paged again); resolves only when they ended within the horizon, since
        Alertmanager may still show them firing — older ones it has long forgotten.
        """
        for anomaly in self.records.get(self.live_generation, {}).values():
            if not is_paged(anomaly.severity):
                continue
            if anomaly.state is AnomalyState.OPEN:
                self.firing[anomaly.anomaly_id] = Firing(anomaly, labels(anomaly))
                continue
            ended = anomaly.ended_at or anomaly.updated_at
            if now - ended <= resolved_horizon:
                label_set = labels(anomaly)
                self.resolves[label_key(label_set)] = Resolve(anomaly, label_set, min(ended, now))

    def set_live_generation(self, generation: int, now: datetime) -> bool:
        """A rebuild was promoted (or rolled back): the new generation's records decide."""
        if generation == self.live_generation:
            return False
        self.live_generation = generation
        for old in [g for g in self.records if g < generation]:
            del self.records[old]
        ids = set(self.firing) | set(self.records.get(generation, {}))
        for anomaly_id in ids:
            self._reconcile(anomaly_id, now)
        return True

    def _reconcile(self, anomaly_id: str, now: datetime) -> None:
        record = self.records.get(self.live_generation, {}).get(anomaly_id)
        wanted = (
            record
            if record is not None
            and record.state is AnomalyState.OPEN
            and is_paged(record.severity)
            else None
        )
        current = self.firing.get(anomaly_id)
        wanted_labels = labels(wanted) if wanted is not None else None
        if current is not None and current.labels != wanted_labels:
            # The record ends these very labels only when it resolved them; otherwise
            # (severity change, generation switch, tombstone) they end now.
            if (
                record is not None
                and record.state is AnomalyState.RESOLVED
                and labels(record) == current.labels
            ):
                source, ended = record, record.ended_at or record.updated_at
            else:
                source, ended = current.anomaly, now
            key = label_key(current.labels)
            self.resolves[key] = Resolve(source, current.labels, min(ended, now))
            del self.firing[anomaly_id]
            current = None
        if wanted is None or wanted_labels is None:
            return
        if current is None:
            self.resolves.pop(label_key(wanted_labels), None)  # re-opened before it was sent
            self.firing[anomaly_id] = Firing(wanted, wanted_labels)
        elif current.anomaly != wanted:
            # Same alert, newer text (score, observed value): post it at the next flush.
            self.firing[anomaly_id] = Firing(wanted, wanted_labels)

    # --- payloads out -----------------------------------------------------------------

    def pending(self, now: datetime) -> int:
        """How many alerts are due (never posted, changed, or due for a re-post)."""
        return len(self.resolves) + sum(1 for f in self.firing.values() if self._due(f, now))

    def next_due(self, now: datetime) -> datetime | None:
        """When the next re-post falls due (None: nothing fires)."""
        times = [
            f.posted_at + self.repost_interval
            for f in self.firing.values()
            if f.posted_at is not None
        ]
        if self.resolves or any(f.posted_at is None for f in self.firing.values()):
            return now
        return min(times) if times else None

    def _due(self, firing: Firing, now: datetime) -> bool:
        return firing.posted_at is None or now - firing.posted_at >= self.repost_interval

    def take_due(self, now: datetime) -> Batch:
        """Everything due now, as Alertmanager payloads (resolves first)."""
        payloads: list[dict[str, Any]] = []
        resolves = []
        for key, resolve in self.resolves.items():
            payloads.append(self.renderer.payload(resolve.anomaly, resolve.labels, resolve.ends_at))
            resolves.append((key, resolve.token))
        firing = []
        ends_at = now + REPOST_LEAD * self.repost_interval
        for anomaly_id, alert in self.firing.items():
            if self._due(alert, now):
                payloads.append(self.renderer.payload(alert.anomaly, alert.labels, ends_at))
                firing.append((anomaly_id, alert.token))
        return Batch(payloads, firing, resolves)

    def ack(self, batch: Batch, now: datetime) -> None:
        """Alertmanager accepted the batch; entries changed meanwhile stay due."""
        for key, token in batch.resolves:
            resolve = self.resolves.get(key)
            if resolve is not None and resolve.token == token:
                del self.resolves[key]
        for anomaly_id, token in batch.firing:
            alert = self.firing.get(anomaly_id)
            if alert is not None and alert.token == token:
                alert.posted_at = now

    def firing_labels(self) -> Iterable[dict[str, str]]:
        """Label sets currently firing (for tests and status)."""
        return (f.labels for f in self.firing.values())
