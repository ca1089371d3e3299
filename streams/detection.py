"""The stream's side of anomaly detection: detector state in partition records, sequences.

The maths is :mod:`streams.detect` (another module's, pure). Here: which record holds
which detector state, positions so a replay does not feed a detector twice, and the
per-anomaly sequence (``version = generation·2³² + sequence``) kept in the *same*
record as the state that produced the update — so a crash can never separate them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from schemas.results import Anomaly, AnomalyState
from streams.detect import AnomalyUpdate, DetectorSuite, Observation, table_key
from streams.records import DetectorRecord
from streams.state import PartitionState, position_before

DETECTOR_PREFIX = "det|"
SILENCE_PREFIX = "sil|"
"""One silence record per group (segment, feeder): last seen and silence state of its
entities. Per group, not per partition: a partition's record grew with its entities
(at 100,000 entities past Kafka's 1 MB record limit) and was rewritten on every batch."""


class Detection:
    """Feeds observations to the suite over the records of one partition."""

    def __init__(self, state: PartitionState, suite: DetectorSuite, generation: int) -> None:
        self.state = state
        self.suite = suite
        self.generation = generation

    def _record(self, key: str) -> tuple[DetectorRecord, tuple[int, int]] | None:
        record = self.state.get(key, DetectorRecord)
        pos = self.state.cursor.next()
        if not position_before(record, pos):
            return None  # this step reached the detector before a crash
        if record is None:
            record = {"st": {}, "q": {}, "pos": list(pos)}
        else:
            record["pos"] = list(pos)
        self.state.put(key, record)
        return record, pos

    def _sequence(self, record: DetectorRecord, updates: Iterable[AnomalyUpdate]) -> list[Anomaly]:
        out: list[Anomaly] = []
        sequences: dict[str, int] = record.setdefault("q", {})
        for update in updates:
            sequence = sequences.get(update.anomaly_id, 0) + 1
            if update.state is AnomalyState.RESOLVED:
                sequences.pop(update.anomaly_id, None)
            else:
                sequences[update.anomaly_id] = sequence
            out.append(update.to_anomaly(self.generation, sequence))
        return out

    def observe(self, obs: Observation) -> list[Anomaly]:
        """A KPI-derived point through the suite's rules and seasonal detector."""
        found = self._record(DETECTOR_PREFIX + table_key(obs))
        if found is None:
            return []
        record, _ = found
        states, updates = self.suite.observe(record["st"], obs)
        record["st"] = states
        return self._sequence(record, updates)

    def impossible(self, obs: Observation) -> list[Anomaly]:
        """A per-event point through the impossible-value checks."""
        found = self._record(DETECTOR_PREFIX + table_key(obs))
        if found is None:
            return []
        record, _ = found
        states, updates = self.suite.impossible_value(record["st"], obs)
        record["st"] = states
        return self._sequence(record, updates)

    def seen(self, group_id: str, entities: Iterable[tuple[str, str]], ts_ms: int) -> None:
        """Entities of ``group_id`` alive at event time ``ts_ms`` (for the silence check)."""
        found = self._record(SILENCE_PREFIX + group_id)
        if found is None:
            return
        record, _ = found
        last: dict[str, int] = record.setdefault("last", {})
        for kind, entity_id in entities:
            key = f"{kind}|{entity_id}"
            if ts_ms > last.get(key, -1):
                last[key] = ts_ms

    def silence(
        self,
        expected: Mapping[str, list[tuple[str, str, str, int]]],
        watermark_ms: int,
        lag_high: bool,
    ) -> list[Anomaly]:
        """Open or resolve silence anomalies of this partition's expected entities.

        ``expected`` maps each group to its entities; groups are checked in sorted
        order, so a replay numbers the steps (and the records' positions) the same way.
        """
        out: list[Anomaly] = []
        for group_id in sorted(expected):
            found = self._record(SILENCE_PREFIX + group_id)
            if found is None:
                continue
            record, _ = found
            states, updates = self.suite.check_silence(
                expected[group_id],
                record.get("last", {}),
                watermark_ms,
                lag_high,
                record.setdefault("st", {}),
            )
            record["st"] = states
            out += self._sequence(record, updates)
        return out
