"""Determinism, contracts, keys and time of the generated streams."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, timedelta
from pathlib import Path

import orjson
import pytest

from ioc.tooling.simulator import JsonlOutput, Simulation, SimulationConfig, run
from ioc.tooling.simulator.injections import Kind
from ioc.tooling.simulator.truth import write_csv
from schemas.codec import decode
from schemas.events import DossierStatus, EnergyReading, TrafficObservation
from schemas.province.profile import Profile
from schemas.timeutil import to_ms
from schemas.topics import DOSSIER_STATUS, ENERGY_READINGS, EVENT_TOPICS, QR_SCANS, TRAFFIC_OBS
from tests.unit.simulator.conftest import HASHER, MONDAY, Run, simulate

pytestmark = pytest.mark.unit

MORNING = MONDAY + timedelta(hours=7)


def write_run(profile: Profile, seed: int, out: Path, **kw: object) -> dict[str, bytes]:
    config = SimulationConfig(
        profile=profile,
        seed=seed,
        start=MORNING,
        end=MORNING + timedelta(hours=2),
        **kw,  # type: ignore[arg-type]
    )
    sim = Simulation(config, HASHER)
    asyncio.run(run(sim, JsonlOutput(out)))
    write_csv(out / "truth.csv", sim.truth_rows())
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_same_seed_same_bytes_other_seed_other_bytes(small: Profile, tmp_path: Path) -> None:
    dense = {"injections_per_week": 1_000.0, "dossier_history_days": 3}
    first = write_run(small, 7, tmp_path / "a", **dense)
    again = write_run(small, 7, tmp_path / "b", **dense)
    other = write_run(small, 8, tmp_path / "c", **dense)
    assert set(first) == {f"{t}.jsonl" for t in EVENT_TOPICS} | {"truth.csv"}
    assert first == again
    for name in first:
        assert first[name] != other[name], name
    assert b"injection" in first["truth.csv"]


def test_every_event_satisfies_its_contract_strictly(dense_day: Run) -> None:
    for topic, event in dense_day.events:
        model = EVENT_TOPICS[topic]
        assert decode(model, event.to_json(), strict=True) == event  # type: ignore[attr-defined]


def test_events_are_keyed_by_group_timed_in_utc_and_ordered(dense_day: Run) -> None:
    p = dense_day.sim.config.profile
    last = 0
    for topic, event in dense_day.events:
        t = event.event_time  # type: ignore[attr-defined]
        assert t.tzinfo is UTC
        assert dense_day.sim.start_ms <= to_ms(t) < dense_day.sim.end_ms
        assert to_ms(t) >= last, "merged in event-time order"
        last = to_ms(t)
        if topic == TRAFFIC_OBS:
            assert event.key == p.group_of("sensor", event.sensor_id)  # type: ignore[attr-defined]
        elif topic == ENERGY_READINGS:
            assert event.key == p.group_of("meter", event.meter_id)  # type: ignore[attr-defined]
        elif topic == QR_SCANS:
            assert event.key == event.checkpoint_id  # type: ignore[attr-defined]
        else:
            assert event.key == event.agency_code  # type: ignore[attr-defined]
    ids = [e.event_id for _, e in dense_day.events]  # type: ignore[attr-defined]
    assert len(set(ids)) == len(ids), "derived event ids are unique"


def test_dossier_outbox_ids_increase_and_lifecycles_are_consistent(dense_day: Run) -> None:
    changes = dense_day.of(DOSSIER_STATUS)
    assert [c.outbox_id for c in changes] == list(range(1, len(changes) + 1))
    by_dossier: dict[str, list] = {}  # type: ignore[type-arg]
    for c in changes:
        by_dossier.setdefault(c.dossier_id, []).append(c)
    for history in by_dossier.values():
        for before, after in itertools.pairwise(history):
            assert after.previous_status == before.status
            assert after.changed_at > before.changed_at
        if history[0].status == DossierStatus.REGISTERED:
            assert history[0].previous_status is None
            assert history[0].channel == "online"
    staff = [c for c in changes if c.status != DossierStatus.REGISTERED]
    clock = dense_day.sim.clock
    assert all(clock.is_office(to_ms(c.changed_at)) or c.changed_at == c.received_at for c in staff)
    moved = [c for c in changes if c.status == DossierStatus.TRANSFERRED_OUT]
    for c in moved:
        following = by_dossier[c.dossier_id]
        later = following[following.index(c) + 1 :]
        assert all(x.agency_code != c.agency_code for x in later)


def test_anomalies_change_nothing_outside_their_windows(small: Profile) -> None:
    kw = {"seed": 5, "domains": ("traffic", "energy"), "injections_per_week": 300.0}
    with_them = simulate(small, MORNING, 2, **kw)
    without = simulate(small, MORNING, 2, anomalies=False, **kw)
    windows = [(i.group, i.entity_id, i.start_ms, i.end_ms) for i in with_them.sim.injections]
    assert {i.kind for i in with_them.sim.injections} >= {Kind.CONGESTION, Kind.OUTAGE}

    def touched(e: TrafficObservation | EnergyReading) -> bool:
        t = to_ms(e.event_time)
        ids = (
            {e.segment_id, e.sensor_id}
            if isinstance(e, TrafficObservation)
            else {e.feeder_id, e.meter_id}
        )
        return any(g in ids or x in ids for g, x, a, b in windows if a <= t < b)

    def untouched(r: Run) -> list[bytes]:
        # a reset changes the register for good: compare everything but energy totals
        out = []
        for _, e in r.events:
            if touched(e):  # type: ignore[arg-type]
                continue
            data = orjson.loads(e.to_json())  # type: ignore[attr-defined]
            data.pop("energy_kwh_total", None)
            out.append(orjson.dumps(data))
        return out

    assert untouched(with_them) == untouched(without)
    assert len(without.events) > len(untouched(with_them))
