"""Independent checks of emitted events (test helpers): rule crossings and leaked PII.

Deliberately naive (lists and loops, straight from the rule definitions in
docs/architecture.md, "Anomalies and detectors"), so the ground-truth tests do not share
code with the generators they check.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from ioc.tooling.simulator import rates
from ioc.tooling.simulator.clock import Clock
from schemas.events import DossierStatus, DossierStatusChange, EnergyReading, QrScan
from schemas.events import TrafficObservation as Obs
from schemas.province.profile import Profile
from schemas.timeutil import to_ms


@dataclass(frozen=True)
class Crossing:
    kind: str
    entity: str
    start_ms: int
    end_ms: int


def _runs(points: list[tuple[int, bool]], step_ms: int) -> list[tuple[int, int]]:
    """[first, last] times of consecutive True points (consecutive = at most one step apart)."""
    runs: list[tuple[int, int]] = []
    first = last = None
    for t, on in sorted(points):
        if on and first is not None and t - last <= step_ms:  # type: ignore[operator]
            last = t
        elif on:
            if first is not None:
                runs.append((first, last))  # type: ignore[arg-type]
            first = last = t
        elif first is not None:
            runs.append((first, last))  # type: ignore[arg-type]
            first = last = None
    if first is not None:
        runs.append((first, last))  # type: ignore[arg-type]
    return runs


def undervoltage(p: Profile, readings: list[EnergyReading]) -> list[Crossing]:
    """Meters below 0.9·nominal on some phase for ≥ 3 min (outages included)."""
    by_meter: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for r in readings:
        nominal = p.entity("meter", r.meter_id).nominal_voltage_v  # type: ignore[union-attr]
        low = min(r.voltage_v.values()) < p.rules.undervoltage_ratio * nominal
        by_meter[r.meter_id].append((to_ms(r.measured_at), low))
    out = []
    for meter, points in by_meter.items():
        period = p.entity("meter", meter).period_s * 1000  # type: ignore[union-attr]
        for a, b in _runs(points, period):
            if b - a + period >= p.rules.undervoltage_for_s * 1000:
                out.append(Crossing("undervoltage", meter, a, b))
    return out


def outage(p: Profile, readings: list[EnergyReading]) -> list[Crossing]:
    """Readings with no supply (every phase below 10 % of nominal), one crossing each."""
    out = []
    for r in readings:
        nominal = p.entity("meter", r.meter_id).nominal_voltage_v  # type: ignore[union-attr]
        if max(r.voltage_v.values()) < p.rules.outage_voltage_ratio * nominal:
            t = to_ms(r.measured_at)
            out.append(Crossing("outage", r.feeder_id, t, t))
    return out


def congestion(p: Profile, observations: list[Obs]) -> list[Crossing]:
    """Segments whose intensity-weighted congestion index stays > 0.6 for ≥ 10 min."""
    sums: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for o in observations:
        acc = sums[(o.segment_id, to_ms(o.observed_at))]
        acc[0] += o.average_speed_kmh * o.intensity
        acc[1] += o.intensity
    by_segment: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for (segment, t), (speed_x_n, n) in sums.items():
        if n:
            free = p.segment(segment).free_flow_kmh
            index = max(0.0, 1 - speed_x_n / n / free)
            by_segment[segment].append((t, index > p.rules.congestion_index))
    out = []
    for segment, points in by_segment.items():
        step = max(s.period_s for s in p.sensors if s.segment_id == segment) * 1000
        for a, b in _runs(points, step):
            if b - a + step >= p.rules.congestion_for_s * 1000:
                out.append(Crossing("congestion", segment, a, b))
    return out


def silences(p: Profile, start_ms: int, times: dict[tuple[str, str], list[int]]) -> list[Crossing]:
    """Gaps longer than silence_periods × the expected period, per (kind, entity)."""
    out = []
    for (kind, entity), ts in times.items():
        period = p.entity(kind, entity).period_s * 1000  # type: ignore[union-attr]
        ts = sorted(ts)
        for a, b in zip([start_ms, *ts], ts, strict=False):
            if b - a > p.rules.silence_periods * period:
                out.append(Crossing("silence", entity, a, b))
    return out


def register_drops(readings: list[EnergyReading]) -> list[Crossing]:
    """Every decrease of a meter's register, with the value after it in ``end_ms`` (kWh·1000)."""
    last: dict[str, float] = {}
    out = []
    for r in sorted(readings, key=lambda r: (r.meter_id, r.measured_at)):
        before = last.get(r.meter_id)
        if before is not None and r.energy_kwh_total < before:
            t = to_ms(r.measured_at)
            out.append(Crossing("register_drop", r.meter_id, t, round(r.energy_kwh_total * 1000)))
        last[r.meter_id] = r.energy_kwh_total
    return out


def qr_surges(
    p: Profile, clock: Clock, scans: list[QrScan], start_ms: int, end_ms: int
) -> list[Crossing]:
    """15-min windows whose in-scans exceed factor × the expected count and the minimum."""
    window = p.rules.qr_surge_window_s * 1000
    counts: dict[tuple[str, int], int] = defaultdict(int)
    for s in scans:
        if s.direction == "in":
            t = to_ms(s.scanned_at)
            counts[(s.checkpoint_id, t - t % window)] += 1
    out = []
    for cp in p.checkpoints:
        for w in range(start_ms - start_ms % window, end_ms, window):
            expected = 0.0
            for minute in range(w, w + window, 60_000):
                day = clock.day_at(minute)
                expected += rates.qr_in_scans_per_h(cp.kind, day, clock.hour(minute, day)) / 60
            n = counts.get((cp.checkpoint_id, w), 0)
            if n > p.rules.qr_surge_factor * expected and n >= p.rules.qr_surge_min_scans:
                out.append(Crossing("qr_surge", cp.checkpoint_id, w, w + window))
    return out


def overdue(
    p: Profile, clock: Clock, changes: list[DossierStatusChange], end_ms: int
) -> dict[tuple[str, object], int]:
    """Dossiers going past due, per (agency, local due date)."""
    last: dict[str, DossierStatusChange] = {}
    finished: dict[str, datetime] = {}
    for c in sorted(changes, key=lambda c: c.outbox_id):
        last[c.dossier_id] = c
        if c.status in (DossierStatus.COMPLETED, DossierStatus.RESULT_RETURNED):
            finished.setdefault(c.dossier_id, c.changed_at)
    counts: dict[tuple[str, object], int] = defaultdict(int)
    excluded = {DossierStatus.WITHDRAWN, DossierStatus.REJECTED, DossierStatus.STOPPED}
    for dossier, c in last.items():
        if c.due_at is None or c.status in excluded:
            continue
        done = finished.get(dossier)
        due = to_ms(c.due_at)
        late = to_ms(done) > due if done is not None else due < end_ms
        if late:
            counts[(c.agency_code, clock.local_date(due))] += 1
    return counts


def leaked(blob: bytes, values: set[bytes]) -> set[bytes]:
    """The values found anywhere in ``blob`` (overlaps included).

    A plain ``in`` per value rescans the blob thousands of times; instead visit each
    occurrence of a value's first two bytes once and look its slices up in a set.
    """
    lengths = sorted({len(v) for v in values})
    found = set()
    for head in {v[:2] for v in values}:
        at = blob.find(head)
        while at >= 0:
            found.update(blob[at : at + n] for n in lengths if blob[at : at + n] in values)
            at = blob.find(head, at + 1)
    return found
