"""In-stream smoke test, one per anomaly kind: the real ``ioc worker`` over simulated
events with injections opens each kind on the injected entity, and nothing else.

docs/architecture.md ("Detection quality"): detection quality is measured offline
(``ioc quality``); the in-stream path gets one smoke test per kind. Here the seeded
simulator (profile ``dong-nai-2025``, the small one) makes a short stretch of each
domain with its fixed injections; the events go through Kafka — keyed by group,
stamped with their event time — into one ``ioc worker`` subprocess, and control ticks
at the end of each stretch close its windows. The anomalies topic is then scored
against the simulator's truth with the hit rule of docs/architecture.md (opens on the
injected entity and metric between the injection's start and its end + 15 min).

Each stretch is as short as its detectors allow:

- traffic and energy: rules need no history — Monday 6:00-10:00 local, two injections
  of each telemetry kind (silence once on a sensor, once on a meter), the morning rush
  hour as negative control, and a meter's natural register rollover;
- QR and dossiers, Monday 00:00 to Wednesday noon: a QR surge is scored against the same
  hour of earlier days (a check-point's baseline is trusted after one or two days,
  depending on the tuning), so it falls on Wednesday; an overdue spike is the change
  since the day before, and its dossiers must be received inside the run (the worker
  knows nothing of earlier dossiers) — received Monday, due and overdue Tuesday (found
  at the midnight that closes it), finished late Wednesday morning.

The seed and the fixed date are chosen so that every injection falls where its detector
can see it (the offline harness finds each one); a QR surge without a baseline day, or
an overdue spike of dossiers received before the run, would be an expected miss. About
65,000 events; the module takes 35-45 s on a shared two-core machine.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from ioc.settings import Settings
from ioc.tooling.quality import METRIC_ALIASES, kind_of, truth_of
from ioc.tooling.simulator import Simulation, SimulationConfig
from ioc.tooling.simulator.injections import Kind
from ioc.tooling.simulator.truth import TruthRow
from schemas.base import Event
from schemas.privacy import PiiHasher
from schemas.province.loading import load_profile
from schemas.results import Domain
from schemas.timeutil import from_ms, to_ms
from schemas.topics import ANOMALIES
from streams.detect.params import SEASONAL
from streams.detect.quality import GRACE_MS, Detection, score
from tests.integration.streams.conftest import SOURCES, StreamStack, open_stack

pytestmark = pytest.mark.integration

PROFILE = "dong-nai-2025"
SEED = 12
MONDAY = date(2026, 11, 2)
"""A fixed, ordinary week (no holiday): the same injections and noise on every run.

Pinned on purpose, not taken from tests/clock.py: the seed's injections were placed for
this week. The run does not depend on the day it runs: retention is off for its topics
(``replay_horizon_days`` below) and nothing in the worker compares event time with the
wall clock."""
LATENESS_MS = 120_000
DONE_TIMEOUT_S = 120

DETECTOR_OF = {
    Kind.CONGESTION: "congestion",
    Kind.OUTAGE: "outage",
    Kind.UNDERVOLTAGE: "undervoltage",
    Kind.SILENCE: "silence",
    Kind.REGISTER_RESET: "register_reset",
    Kind.QR_SURGE: SEASONAL,
    Kind.OVERDUE_SPIKE: "overdue_spike",
}
"""The detector whose opening stands for each injected kind."""

WORKER_SETTINGS: dict[str, object] = {
    "province_profile": PROFILE,
    # The run replays days-old history as fast as it can, so every record is "lagging":
    # the lag gate would rightly keep silences closed. This test is about detection.
    "silence_lag_threshold_s": 10**10,
    # Records carry their (fixed, past) event time as timestamp: under the registry's
    # 30-day retention the broker would delete them once that date is a month old.
    "replay_horizon_days": 36_500,
}
"""Passed to the worker through its environment, like every other setting of the stack."""


@dataclass(frozen=True)
class Part:
    """One stretch of simulation: its domains, local start on MONDAY, length, injections."""

    domains: tuple[str, ...]
    start_hour: int
    hours: int
    per_kind: int

    def simulation(self) -> Simulation:
        profile = load_profile(PROFILE)
        start = datetime.combine(MONDAY, datetime.min.time(), tzinfo=profile.zone)
        start += timedelta(hours=self.start_hour)
        config = SimulationConfig(
            profile=profile,
            seed=SEED,
            start=start,
            end=start + timedelta(hours=self.hours),
            domains=self.domains,
            # The planner places round(per_week × days / 7) of each kind.
            injections_per_week=self.per_kind * 7 * 24 / self.hours,
        )
        return Simulation(config, PiiHasher(b"ioc-worker-anomalies", "smoke"))


PARTS = (
    Part(("traffic", "energy"), start_hour=6, hours=4, per_kind=2),
    Part(("qr", "dossier"), start_hour=0, hours=60, per_kind=1),
)
DOMAIN_OF_TOPIC = {topic: domain for domain, topic in SOURCES.items()}


@dataclass
class Smoke:
    """What one worker run over every part produced."""

    truth: list[TruthRow]
    detections: list[Detection]
    """One per anomaly id on the anomalies topic: where and when it opened."""
    dead_letters: list[dict[str, Any]]


def detections_of(records: list[dict[str, Any]]) -> list[Detection]:
    """Each anomaly's opening (its first record: the open one carries the detection time)."""
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_id[record["anomaly_id"]].append(record)
    out = []
    for anomaly_id, rows in by_id.items():
        first = min(rows, key=lambda r: r["sequence"])
        out.append(
            Detection(
                detector=first["detector"],
                domain=first["domain"],
                entity_kind=first["entity_kind"],
                entity_id=first["entity_id"],
                metric=first["metric"],
                detected_ms=to_ms(datetime.fromisoformat(first["updated_at"])),
                anomaly_id=anomaly_id,
                severity=first["severity"],
            )
        )
    return out


def run_worker(stack: StreamStack) -> Smoke:
    began = time.monotonic()
    stack.start_worker()  # it starts up while the simulator runs
    truth: list[TruthRow] = []
    for part in PARTS:
        sim = part.simulation()
        events: dict[Domain, list[Event]] = defaultdict(list)
        for _, topic, event in sim.events():
            events[DOMAIN_OF_TOPIC[topic]].append(event)
        truth += sim.truth_rows()  # after generation: natural rollovers included
        for domain, stream in events.items():
            stack.produce(domain, stream)
            # Closes every window up to the end of the stretch, and no further: a
            # watermark beyond the data would see every sensor silent, and a day whose
            # dossier changes were cut off half way.
            stack.produce_ticks(domain, sim.end_ms + LATENESS_MS)
    print(f"simulated and produced in {time.monotonic() - began:.1f}s")
    ends = stack.end_offsets()

    def done() -> bool:
        committed = stack.committed()
        return all(committed.get(tp, 0) >= end for tp, end in ends.items())

    stack.wait_for(done, DONE_TIMEOUT_S, "the worker to commit every source record", 0.5)
    print(f"worker done after {time.monotonic() - began:.1f}s")
    # Results are acknowledged before the source records are committed: all are there.
    records = [orjson.loads(r.value) for r in stack.read_all(stack.topic(ANOMALIES)) if r.value]
    return Smoke(truth, detections_of(records), stack.deadletters())


@pytest.fixture(scope="module")
def smoke(kafka_ready: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Smoke]:
    """One worker run over every part, shared by the tests of this module."""
    log_dir: Path = tmp_path_factory.mktemp("worker-anomalies")
    stack = open_stack(uuid.uuid4().hex[:10], log_dir, **WORKER_SETTINGS)
    try:
        yield run_worker(stack)
    finally:
        stack.stop_all()
        stack.delete_topics()


def _same_metric(truth: str, detected: str) -> bool:
    return detected == truth or detected in METRIC_ALIASES.get(truth, ())


def _opens_on(d: Detection, row: TruthRow, detector: str) -> bool:
    return (
        d.detector == detector
        and (d.entity_kind, d.entity_id) == (row.entity_kind, row.entity_id)
        and _same_metric(row.metric, d.metric)
        and row.start_ms <= d.detected_ms <= row.end_ms + GRACE_MS
    )


@pytest.mark.parametrize("kind", list(Kind), ids=str)
def test_an_anomaly_opens_on_every_injection(smoke: Smoke, kind: Kind) -> None:
    injected = [r for r in smoke.truth if r.record == "injection" and r.kind == kind.value]
    assert injected, f"the plan has no {kind} injection: did the simulator's placement change?"
    detector = DETECTOR_OF[kind]
    missed = [r for r in injected if not any(_opens_on(d, r, detector) for d in smoke.detections)]
    assert not missed, (
        f"no {detector} anomaly opened in time on "
        + "; ".join(f"{r.entity_kind} {r.entity_id} from {from_ms(r.start_ms)}" for r in missed)
        + f"; openings of {detector}: {[d for d in smoke.detections if d.detector == detector]}"
    )
    if kind is Kind.SILENCE:  # both kinds of silent entity were exercised
        assert {r.entity_kind for r in injected} == {"sensor", "meter"}


def test_nothing_opens_without_an_injection(smoke: Smoke) -> None:
    injections, controls = truth_of(smoke.truth)
    # The negative controls the stretches hold: the morning rush hour (traffic) and a
    # meter's natural register rollover (energy).
    assert {"rush_hour", "rollover"} <= {c.kind for c in controls}
    report = score(
        injections, controls, smoke.detections, kind_of=kind_of, metric_aliases=METRIC_ALIASES
    )
    unexplained = Counter(
        (d["detector"], d["entity_kind"], d["entity_id"]) for d in report.false_positive_examples
    )
    assert report.overall.false_positives == 0, (
        f"{report.overall.false_positives} openings no injection explains, e.g. {unexplained}"
    )
    assert not any(report.control_alerts.values()), report.control_alerts
    # Every event was applied (none dead-lettered: keyed, partitioned and stamped right).
    assert not smoke.dead_letters, smoke.dead_letters[:3]
