"""The ground truth agrees with the emitted events, rule by rule, both ways.

Every injection crosses its rule in the events; every rule crossing in the events is
inside an injection (or, for register drops, a recorded rollover). Rules are
recomputed naively by tests/unit/simulator/rules.py, not by the simulator's code.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from ioc.tooling.simulator.injections import Injection, Kind
from ioc.tooling.simulator.truth import COLUMNS, read_csv, write_csv
from schemas.events import EnergyReading
from schemas.province.profile import Profile
from schemas.timeutil import to_ms
from schemas.topics import DOSSIER_STATUS, ENERGY_READINGS, QR_SCANS, TRAFFIC_OBS
from tests.unit.simulator import rules
from tests.unit.simulator.conftest import LOCAL, Run, simulate

pytestmark = pytest.mark.unit

HIT_SLACK_MS = 15 * 60_000


def injected(run: Run, kind: Kind) -> list[Injection]:
    found = [i for i in run.sim.injections if i.kind == kind]
    assert found, f"the dense day has no {kind} injection"
    return found


def overlaps(inj: Injection, start: int, end: int, slack: int = 0) -> bool:
    return inj.start_ms <= end and start <= inj.end_ms + slack


def test_the_dense_run_injects_every_kind(dense_day: Run) -> None:
    counts = Counter(i.kind for i in dense_day.sim.injections)
    assert set(counts) == set(Kind), counts
    assert dense_day.summary.injections == Counter({k.value: n for k, n in counts.items()})


def test_undervoltage_and_outage(dense_day: Run) -> None:
    p = dense_day.sim.config.profile
    readings: list[EnergyReading] = dense_day.of(ENERGY_READINGS)
    runs = rules.undervoltage(p, readings)
    outages = injected(dense_day, Kind.OUTAGE)
    under = injected(dense_day, Kind.UNDERVOLTAGE)
    for c in runs:
        feeder = p.group_of("meter", c.entity)
        causes = [i for i in under if i.entity_id == c.entity] + [
            i for i in outages if i.entity_id == feeder
        ]
        assert any(overlaps(i, c.start_ms, c.end_ms) for i in causes), f"unexplained {c}"
    for inj in under:
        assert any(
            c.entity == inj.entity_id and inj.start_ms <= c.start_ms <= inj.end_ms for c in runs
        ), f"no sustained undervoltage for {inj}"
    dead = rules.outage(p, readings)
    by_feeder: dict[str, list[EnergyReading]] = {}
    for r in readings:
        by_feeder.setdefault(r.feeder_id, []).append(r)
    for inj in outages:
        meters = p.members("meter", inj.entity_id)
        inside = {c.start_ms for c in dead if c.entity == inj.entity_id and inj.active(c.start_ms)}
        readings_inside = [r for r in by_feeder[inj.entity_id] if inj.active(to_ms(r.measured_at))]
        assert len(inside) >= 1
        assert {r.meter_id for r in readings_inside} == set(meters)
        assert all(max(r.voltage_v.values()) < 3 for r in readings_inside)
        assert all(r.active_power_kw == 0 for r in readings_inside)
    for c in dead:
        assert any(i.entity_id == c.entity and i.active(c.start_ms) for i in outages)


def test_congestion(dense_day: Run) -> None:
    p = dense_day.sim.config.profile
    runs = rules.congestion(p, dense_day.of(TRAFFIC_OBS))
    jams = injected(dense_day, Kind.CONGESTION)
    for c in runs:
        assert any(i.entity_id == c.entity and overlaps(i, c.start_ms, c.end_ms) for i in jams), c
    for inj in jams:
        assert any(c.entity == inj.entity_id and overlaps(inj, c.start_ms, c.end_ms) for c in runs)


def test_silence(dense_day: Run) -> None:
    p = dense_day.sim.config.profile
    seen: dict[tuple[str, str], list[int]] = {}
    for o in dense_day.of(TRAFFIC_OBS):
        seen.setdefault(("sensor", o.sensor_id), []).append(to_ms(o.observed_at))
    for r in dense_day.of(ENERGY_READINGS):
        seen.setdefault(("meter", r.meter_id), []).append(to_ms(r.measured_at))
    gaps = rules.silences(p, dense_day.sim.start_ms, seen)
    quiet = injected(dense_day, Kind.SILENCE)
    for g in gaps:
        assert any(i.entity_id == g.entity and overlaps(i, g.start_ms, g.end_ms) for i in quiet), g
    for inj in quiet:
        assert any(g.entity == inj.entity_id and overlaps(inj, g.start_ms, g.end_ms) for g in gaps)
    assert {i.entity_kind for i in quiet} == {"sensor", "meter"}


def test_register_drops_are_resets_or_recorded_rollovers(dense_day: Run) -> None:
    p = dense_day.sim.config.profile
    drops = rules.register_drops(dense_day.of(ENERGY_READINGS))
    resets = injected(dense_day, Kind.REGISTER_RESET)
    rollovers = [r for r in dense_day.sim.truth_rows() if r.kind == "rollover"]
    assert rollovers, "a rollover meter of the small profile wraps during the day"
    for d in drops:
        after_kwh = d.end_ms / 1000
        if any(r.entity_id == d.entity and r.start_ms == d.start_ms for r in rollovers):
            continue
        assert any(i.entity_id == d.entity and i.start_ms == d.start_ms for i in resets), d
        assert after_kwh < p.rules.register_reset_max_kwh
    for inj in resets:
        assert any(d.entity == inj.entity_id and d.start_ms == inj.start_ms for d in drops)


def test_qr_surges(dense_day: Run) -> None:
    sim = dense_day.sim
    p = sim.config.profile
    windows = rules.qr_surges(p, sim.clock, dense_day.of(QR_SCANS), sim.start_ms, sim.end_ms)
    surges = injected(dense_day, Kind.QR_SURGE)
    for w in windows:
        assert any(i.entity_id == w.entity and overlaps(i, w.start_ms, w.end_ms) for i in surges), w
    for inj in surges:
        assert any(
            w.entity == inj.entity_id and overlaps(inj, w.start_ms, w.end_ms, HIT_SLACK_MS)
            for w in windows
        ), f"no window over the threshold for {inj}"


def test_overdue_spikes(dense_day: Run) -> None:
    sim = dense_day.sim
    p = sim.config.profile
    counts = rules.overdue(p, sim.clock, dense_day.of(DOSSIER_STATUS), sim.end_ms)
    spikes = injected(dense_day, Kind.OVERDUE_SPIKE)
    spike_days = {(i.entity_id, sim.clock.local_date(i.start_ms)) for i in spikes}
    for key, n in counts.items():
        if key not in spike_days:
            assert n < p.rules.overdue_spike_count, (key, n)
    for key in spike_days:
        assert counts.get(key, 0) >= p.rules.overdue_spike_count, key


def test_truth_file_round_trips(dense_day: Run, tmp_path: Path) -> None:
    rows = dense_day.sim.truth_rows()
    path = tmp_path / "truth.csv"
    assert write_csv(path, rows) == len(rows)
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(COLUMNS)
    back = read_csv(path)
    assert Counter(r["record"] for r in back) == Counter(r.record for r in rows)
    kinds = {r["kind"] for r in back}
    assert {k.value for k in Kind} <= kinds
    assert {"rush_hour", "evening_peak", "rollover"} <= kinds
    assert all(r["start"].endswith("+00:00") and r["start"] <= r["end"] for r in back)
    assert all("e+" not in r["size"] for r in back)


def test_pre_tet_load_is_a_control_not_an_anomaly(small: Profile) -> None:
    """Homecoming traffic and Tết shopping: listed as a control, no rule crossed, no injection."""
    eve = datetime(2027, 2, 2, tzinfo=LOCAL)  # Tết 2027 break starts 4 February
    run = simulate(small, eve, 24, seed=3, domains=("traffic", "qr"), injections_per_week=50.0)
    assert run.sim.injections == []
    tet = [r for r in run.sim.truth_rows() if r.kind == "tet"]
    assert len(tet) == 1
    assert tet[0].domain == "*"
    p = small
    assert rules.congestion(p, run.of(TRAFFIC_OBS)) == []
    sim = run.sim
    assert rules.qr_surges(p, sim.clock, run.of(QR_SCANS), sim.start_ms, sim.end_ms) == []
    assert sum(1 for s in run.of(QR_SCANS) if s.direction == "in") > 1_000
