"""The offline detection path feeds the detectors what the stream's engine feeds them.

``ioc backtest --events`` and ``ioc quality`` score the detectors on
:class:`~streams.detect.runner.OfflineDetection`, whose KPI windows come from
:mod:`streams.detect.offline` — a second, faster implementation of the KPIs detection
reads. The stream feeds the detectors from :class:`~streams.engine.PartitionEngine`.
Here both run on the same simulated events (in event-time order, as the simulator
writes them), domain by domain, and every point either path hands to the detectors is
recorded: the same windows of the same entities must give the same metric values.

Sums are exact in the engine (:mod:`streams.kpi.sums`) and plain in the offline
aggregation, so values are compared to 1e-12, relative; everything else is exact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest

from ioc.tooling.simulator import Simulation, SimulationConfig
from schemas.base import Event
from schemas.privacy import PiiHasher
from schemas.province.loading import load_profile
from schemas.province.profile import Profile
from schemas.results import WindowSize
from schemas.topics import CONTROL_HEADER
from streams.detect import DetectorSuite, Observation
from streams.detect.model import States
from streams.detect.offline import OfflineTopology
from streams.detect.profile import params_from_profile
from streams.detect.runner import OfflineDetection
from streams.engine import TICK, EngineConfig, PartitionEngine, SourceRecord
from streams.kpi.base import KpiContext
from streams.kpi.dossier import DossierLogic
from streams.kpi.energy import EnergyLogic
from streams.kpi.qr import QrLogic
from streams.kpi.traffic import TrafficLogic
from streams.murmur import partitioner
from streams.topology import Topology
from streams.windows import window_bounds

pytestmark = pytest.mark.unit

LATENESS_MS = 120_000
PARTITIONS = 3
LOGIC = {"traffic": TrafficLogic, "energy": EnergyLogic, "qr": QrLogic, "dossier": DossierLogic}
MONDAY = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 08:00 local
FRIDAY = datetime(2026, 11, 19, 17, 0, tzinfo=UTC)  # Friday 00:00 local
DOSSIER_MINUTES = (3 * 24 + 12) * 60  # to Monday noon

Key = tuple[str, str, str, str, str | None, str, int]
"""(domain, kind, entity, group, area, metric, window end): one point of one window."""


class Recording(DetectorSuite):
    """A detector suite that keeps every point it is fed."""

    def __init__(self, profile: Profile) -> None:
        super().__init__(params_from_profile(profile))
        self.windows: list[Observation] = []
        self.events: list[Observation] = []

    def observe_scored(
        self, states: States, obs: Observation, only: str | None = None
    ) -> tuple[list[Any], float]:
        self.windows.append(obs)
        return super().observe_scored(states, obs, only)

    def impossible_value(self, states: States, obs: Observation) -> tuple[States, list[Any]]:
        self.events.append(obs)
        return super().impossible_value(states, obs)


@cache
def profile(domain: str) -> Profile:
    """The shipped profile; for dossiers a fifth of its agencies (every level), for speed."""
    full = load_profile()
    if domain != "dossier":
        return full
    return full.model_copy(update={"agencies": full.agencies[::5]})


def simulated(domain: str, start: datetime, minutes: int) -> list[tuple[int, Event]]:
    config = SimulationConfig(
        profile=profile(domain),
        seed=5,
        start=start,
        end=start + timedelta(minutes=minutes),
        domains=(domain,),
        dossier_history_days=7,
    )
    sim = Simulation(config, PiiHasher(b"offline-vs-engine", "k1"))
    return [(t, event) for t, _, event in sim.events()]


def engine_points(domain: str, events: Sequence[tuple[int, Event]]) -> Recording:
    """The stream's engines, one per partition as the worker runs them, then a closing tick."""
    suite = Recording(profile(domain))
    topology = Topology.from_profile(profile(domain))
    config = EngineConfig(
        kpi=KpiContext(topology, LATENESS_MS, 1, lambda: MONDAY),
        producer="test",
        max_skew_ms=300_000,
        replay_horizon_ms=400 * 86_400_000,
        suite=suite,
    )
    part = partitioner(PARTITIONS)
    logs: dict[int, list[tuple[int, Event]]] = defaultdict(list)
    for t, event in events:
        logs[part(event.key)].append((t, event))
    # Past the end of the last local day, as the offline run's close_all() goes.
    last_day_end = window_bounds(max(t for t, _ in events), WindowSize.DAY, topology.timezone)[1]
    for partition, log in sorted(logs.items()):
        engine = PartitionEngine(LOGIC[domain], config, partition, partition_of=part)
        topic = f"ioc.{domain}"
        for offset, (t, event) in enumerate(log):
            value = event.to_json()
            out = engine.process(SourceRecord(topic, partition, offset, None, value, t))
            assert not out.dead_letters
        tick = ((CONTROL_HEADER, TICK),)
        close = last_day_end + LATENESS_MS
        engine.process(SourceRecord(topic, partition, len(log), None, b"", close, tick))
    return suite


def offline_points(domain: str, events: Sequence[tuple[int, Event]]) -> Recording:
    """``ioc quality``'s path: one offline run per domain, events in event-time order."""
    run = OfflineDetection(
        params_from_profile(profile(domain)),
        OfflineTopology.from_profile(profile(domain)),
        lateness_ms=LATENESS_MS,
    )
    suite = run.suite = Recording(profile(domain))
    for _, event in events:
        run.feed(event)
    run.finish()
    return suite


@cache
def both(
    domain: str, start: datetime, minutes: int
) -> tuple[list[tuple[int, Event]], Recording, Recording]:
    """The simulated events, and what each path fed the detectors."""
    events = simulated(domain, start, minutes)
    return events, engine_points(domain, events), offline_points(domain, events)


def by_window(points: list[Observation]) -> dict[Key, list[float]]:
    found: dict[Key, list[float]] = defaultdict(list)
    for o in points:
        key = (o.domain, o.entity_kind, o.entity_id, o.group_id, o.area_code, o.metric, o.ts_ms)
        found[key].append(o.value)
    return dict(found)


CASES = [
    pytest.param("traffic", MONDAY, 120, {"mean_speed_kmh", "congestion_index"}, id="traffic"),
    pytest.param(
        "energy",
        MONDAY,
        30,
        {"voltage_min_v", "power_kw_mean", "voltage_max_v", "meters_reporting_ratio"},
        id="energy",
    ),
    pytest.param("qr", MONDAY, 180, {"scans_in"}, id="qr"),
    # Friday to Monday noon: working days and a weekend where most agencies change nothing.
    pytest.param("dossier", FRIDAY, DOSSIER_MINUTES, {"overdue", "on_time_rate"}, id="dossier"),
]


@pytest.mark.parametrize(("domain", "start", "minutes", "metrics"), CASES)
def test_offline_detection_is_fed_what_the_engine_feeds(
    domain: str, start: datetime, minutes: int, metrics: set[str]
) -> None:
    _, engine, offline = both(domain, start, minutes)

    want, got = by_window(engine.windows), by_window(offline.windows)
    assert {k[5] for k in want} == metrics  # the case exercises every metric of the domain
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert (missing[:5], extra[:5]) == ([], []), f"{len(missing)} missing, {len(extra)} extra"
    differ = [
        (k, want[k], got[k])
        for k in sorted(want)
        if got[k] != pytest.approx(want[k], rel=1e-12, abs=1e-12)
    ]
    assert differ[:5] == [], f"{len(differ)} of {len(want)} points differ"

    # Per-event points (impossible values) are the events' own values on both paths.
    assert by_window(offline.events) == by_window(engine.events)


def test_the_dossier_case_has_agency_days_without_a_change() -> None:
    # Such days (weekends) feed the detectors too: the case above must include some.
    events, engine, _ = both("dossier", FRIDAY, DOSSIER_MINUTES)
    zone = Topology.from_profile(profile("dossier")).timezone
    changed = {(e.key, window_bounds(t, WindowSize.DAY, zone)[1]) for t, e in events}
    assert any((k[2], k[6]) not in changed for k in by_window(engine.windows))
