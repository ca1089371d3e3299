"""No raw personal data leaves the simulator; the streams look like a Vietnamese province."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from ioc.tooling.simulator import lifecycle
from ioc.tooling.simulator.clock import Clock
from schemas.events import DossierStatus, QrScan
from schemas.privacy import normalise_identifier
from schemas.province.loading import load_profile
from schemas.timeutil import to_ms
from schemas.topics import DOSSIER_STATUS, ENERGY_READINGS, QR_SCANS, TRAFFIC_OBS
from tests.unit.simulator.conftest import HASHER, LOCAL, Run
from tests.unit.simulator.rules import leaked

pytestmark = pytest.mark.unit


def test_raw_identifiers_never_reach_the_output(dense_day: Run) -> None:
    book = dense_day.sim.identities
    raw = book.raw_values_used()
    assert len(raw) > 1_000
    assert any(len(r) == 12 and r.isdigit() for r in raw), "citizen ID numbers"
    assert any(r.startswith("93") and not r.isdigit() for r in raw), "licence plates"
    blob = b"\n".join(e.to_json() for _, e in dense_day.events)  # type: ignore[attr-defined]
    spellings = {s.encode() for value in raw for s in (value, normalise_identifier(value))}
    assert not leaked(blob, spellings), "a raw identifier was emitted"
    assert leaked(blob + b" " + raw[0].encode(), spellings) == {raw[0].encode()}
    # and the hashes of those very subjects are there instead: the check is not vacuous
    hashes = {s.subject_hash for s in dense_day.of(QR_SCANS)}
    assert HASHER.hash(raw[0]) in hashes | {c.applicant_hash for c in dense_day.of(DOSSIER_STATUS)}
    scans: list[QrScan] = dense_day.of(QR_SCANS)
    assert {s.pii_key_id for s in scans} == {HASHER.key_id}


def test_traffic_is_motorcycle_heavy_and_rush_hours_are_busy(dense_day: Run) -> None:
    obs = dense_day.of(TRAFFIC_OBS)
    counts = Counter()  # type: ignore[var-annotated]
    for o in obs:
        counts.update(o.vehicle_counts.model_dump())
    share = counts["motorcycle"] / sum(counts.values())
    assert 0.75 <= share <= 0.85, share
    clock = dense_day.sim.clock

    def flow(hours: tuple[float, float]) -> float:
        chosen = [
            o.intensity for o in obs if hours[0] <= clock.hour(to_ms(o.observed_at)) < hours[1]
        ]
        return sum(chosen) / len(chosen)

    assert flow((7, 8)) > 5 * flow((2, 4))
    assert flow((17, 18)) > 5 * flow((2, 4))
    # speed and occupancy agree with intensity: busier minutes are slower and fuller
    busy = [o for o in obs if o.intensity > 0]
    busy.sort(key=lambda o: o.intensity / o.period_s)
    quiet, heavy = busy[: len(busy) // 4], busy[-len(busy) // 4 :]
    assert sum(o.occupancy for o in heavy) > 3 * sum(o.occupancy for o in quiet)
    free = dense_day.sim.config.profile.segment

    def ratio(group: list) -> float:  # type: ignore[type-arg]
        return sum(o.average_speed_kmh / free(o.segment_id).free_flow_kmh for o in group) / len(
            group
        )

    assert ratio(heavy) < ratio(quiet)


def test_energy_peaks_in_the_evening_with_voltage_near_220(dense_day: Run) -> None:
    readings = [
        r for r in dense_day.of(ENERGY_READINGS) if r.active_power_kw > 0 or r.voltage_v.l1 > 50
    ]
    clock = dense_day.sim.clock

    def power(hours: tuple[float, float]) -> float:
        chosen = [
            r.active_power_kw
            for r in readings
            if hours[0] <= clock.hour(to_ms(r.measured_at)) < hours[1]
        ]
        return sum(chosen) / len(chosen)

    assert power((19, 21)) > 1.3 * power((2.5, 3.5))
    volts = [v for r in readings for v in r.voltage_v.values() if v > 150]
    mean = sum(volts) / len(volts)
    assert 214 < mean < 222
    assert max(volts) < 242


def test_dossiers_are_online_and_on_time() -> None:
    """Lifecycles of 3,000 commune dossiers (pure planning, no events needed)."""
    clock = Clock(load_profile())
    rng = random.Random(4)
    procs, weights = lifecycle.procedures("leaf")
    finished = late = 0
    statuses: Counter[DossierStatus] = Counter()
    start = to_ms(datetime(2026, 11, 2, 8, tzinfo=LOCAL))
    for n in range(3_000):
        steps = lifecycle.plan(
            rng,
            clock,
            rng.choices(procs, weights)[0],
            online=True,
            arrival_ms=clock.add_office(start, n * 60.0),
            agency="A",
            transfer_to="B",
            may_be_late=lambda agency, due: True,
        )
        statuses.update(s.status for s in steps)
        done = [s for s in steps if s.status == DossierStatus.COMPLETED]
        if done:
            finished += 1
            late += done[0].t_ms > (done[0].due_ms or 0)
    on_time = 1 - late / finished
    assert 0.97 <= on_time <= 0.99, on_time
    assert statuses[DossierStatus.SUPPLEMENT_REQUESTED] > 100
    assert 10 < statuses[DossierStatus.REJECTED] < 100
    assert 0 < statuses[DossierStatus.WITHDRAWN] < statuses[DossierStatus.REJECTED]
    assert statuses[DossierStatus.TRANSFERRED_OUT] > 5


def test_online_share_and_office_hours(dense_day: Run) -> None:
    changes = dense_day.of(DOSSIER_STATUS)
    received = [c for c in changes if c.status == DossierStatus.RECEIVED]
    online = sum(c.channel == "online" for c in received) / len(received)
    assert online > 0.95
    clock = dense_day.sim.clock
    registered = [c for c in changes if c.status == DossierStatus.REGISTERED]
    in_office = sum(clock.is_office(to_ms(c.changed_at)) for c in registered) / len(registered)
    assert 0.6 < in_office < 0.95, "most online submissions in office hours, some at night"
    # nothing is done by staff at the weekend
    saturday = to_ms(datetime.combine(date(2026, 11, 7), datetime.min.time(), tzinfo=LOCAL))
    assert all(not clock.is_office(saturday + h * 3_600_000) for h in range(48))
    assert timedelta(0) < max(c.changed_at for c in changes) - min(c.changed_at for c in changes)
