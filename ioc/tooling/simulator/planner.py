"""The deterministic planner of injected anomalies (their kinds and sizes: injections).

It spreads injections evenly over the period (after the seasonal warm-up when the
period is long enough), never on a holiday or a pre-Tết day (those are negative
controls), and never two at once in one group (segment, feeder, check-point, agency) —
one anomaly, one place, one cause.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ioc.tooling.simulator import rates
from ioc.tooling.simulator.clock import HOUR_MS, MINUTE_MS, Clock, DayKind
from ioc.tooling.simulator.injections import (
    CONGESTION_INDEX,
    CONGESTION_PLATEAU_MIN,
    CONGESTION_RAMP_MIN,
    DOMAIN_OF,
    OUTAGE_MAX_V,
    OUTAGE_MIN,
    OVERDUE_DOSSIERS,
    OVERDUE_SPACING_S,
    RESET_MAX_KWH,
    SILENCE_PERIODS,
    SURGE_FACTOR,
    SURGE_MIN,
    SURGE_MIN_EXPECTED_PER_15MIN,
    UNDERVOLTAGE_MIN,
    UNDERVOLTAGE_RATIO,
    Injection,
    Kind,
    overdue_schedule,
)
from ioc.tooling.simulator.rng import stream
from schemas.province.entities import EnergyMeter, EntityKind, TrafficSensor
from schemas.province.profile import Profile

DEFAULT_PER_WEEK = 12.0
"""Injections per kind per week of the injection window: 24 in the 14 days after warm-up."""
GROUP_MARGIN_MS = 2 * HOUR_MS
"""Quiet time around an injection in its group, so each detection has one cause."""
END_MARGIN_MS = 15 * MINUTE_MS
"""An injection ends this long before the period does, so its whole hit window is simulated."""


@dataclass
class _Busy:
    spans: dict[tuple[str, str], list[tuple[int, int]]]

    def free(self, domain: str, group: str, start: int, end: int) -> bool:
        return all(
            end + GROUP_MARGIN_MS <= a or start - GROUP_MARGIN_MS >= b
            for a, b in self.spans.get((domain, group), [])
        )

    def take(self, domain: str, group: str, start: int, end: int) -> None:
        self.spans.setdefault((domain, group), []).append((start, end))


class Planner:
    """Chooses injections for one profile, seed and period."""

    def __init__(
        self,
        profile: Profile,
        clock: Clock,
        seed: int,
        start_ms: int,
        end_ms: int,
        *,
        domains: Iterable[str],
        per_week: float = DEFAULT_PER_WEEK,
        exclude_meters: Iterable[str] = (),
    ) -> None:
        self.p = profile
        self.clock = clock
        self.seed = seed
        self.domains = set(domains)
        self.per_week = per_week
        self.exclude_meters = set(exclude_meters)
        self.busy = _Busy({})
        self.start_ms = start_ms
        # candidates, computed once: the planner tries many times per slot
        sensed = {s.segment_id for s in profile.sensors}
        metered = {m.feeder_id for m in profile.meters}
        self._segments = [s for s in profile.segments if s.segment_id in sensed]
        self._feeders = [f for f in profile.feeders if f.feeder_id in metered]
        self._meters = [m for m in profile.meters if m.meter_id not in self.exclude_meters]
        self._nominal = {
            f: min(m.nominal_voltage_v for m in profile.meters if m.feeder_id == f) for f in metered
        }
        warmup = profile.rules.seasonal_warmup_days * 24 * HOUR_MS
        # A seasonal detector learns for the warm-up first; short runs inject throughout.
        self.window = (start_ms + warmup if end_ms - start_ms >= 2 * warmup else start_ms, end_ms)

    def plan(self) -> list[Injection]:
        """Every injection, sorted by start."""
        out: list[Injection] = []
        makers: dict[Kind, Callable[[random.Random, int, int], Injection | None]] = {
            Kind.CONGESTION: self._congestion,
            Kind.OUTAGE: self._outage,
            Kind.UNDERVOLTAGE: self._undervoltage,
            Kind.SILENCE: self._silence,
            Kind.REGISTER_RESET: self._reset,
            Kind.QR_SURGE: self._surge,
            Kind.OVERDUE_SPIKE: self._overdue,
        }
        for kind, make in makers.items():
            if not self._enabled(kind):
                continue
            out += self._spread(kind, make)
        return sorted(out, key=lambda i: (i.start_ms, i.kind, i.entity_id))

    def count(self) -> int:
        """Injections per kind for this window."""
        days = (self.window[1] - self.window[0]) / (24 * HOUR_MS)
        return max(0, math.floor(self.per_week * days / 7 + 0.5))

    def _enabled(self, kind: Kind) -> bool:
        if kind == Kind.SILENCE:
            return bool(self.domains & {"traffic", "energy"})
        return DOMAIN_OF[kind] in self.domains

    def _spread(
        self, kind: Kind, make: Callable[[random.Random, int, int], Injection | None]
    ) -> list[Injection]:
        rng = stream(self.seed, "plan", kind.value)
        n = self.count()
        lo, hi = self.window[0], self.window[1] - END_MARGIN_MS
        if n == 0 or hi <= lo:
            return []
        slot = (hi - lo) / n
        found = []
        for i in range(n):
            # Its own slot first (an even spread), then anywhere: a slot can be all
            # weekend (no office hours) or all holiday.
            for attempt in range(160):
                offset = (
                    slot * i + rng.random() * slot if attempt < 60 else rng.random() * (hi - lo)
                )
                t = lo + int(offset)
                t -= (t - self.window[0]) % MINUTE_MS  # on the minute grid of the telemetry
                candidate = make(rng, t, i)
                if candidate is None or candidate.end_ms > self.window[1] - END_MARGIN_MS:
                    continue
                if not self._calm_days(candidate):
                    continue
                if not self.busy.free(candidate.domain, candidate.group, *_span(candidate)):
                    continue
                self.busy.take(candidate.domain, candidate.group, *_span(candidate))
                found.append(candidate)
                break
            else:
                # Not even anywhere in the window: it is full (or too short) for this
                # kind; later slots would only repeat the same failed search.
                break
        return found

    def _calm_days(self, inj: Injection) -> bool:
        # Holidays and pre-Tết days are negative controls: keep injections off them.
        for t in (inj.start_ms, inj.end_ms):
            day = self.clock.day_at(t)
            if day.kind in (DayKind.HOLIDAY, DayKind.TET) or day.tet_eve:
                return False
        return True

    # --- one maker per kind -------------------------------------------------------------

    def _new(
        self,
        kind: Kind,
        entity_kind: EntityKind,
        entity_id: str,
        start: int,
        end: int,
        *,
        metric: str,
        size: float,
        unit: str,
        threshold: float,
        number: int,
        note: str,
        domain: str | None = None,
    ) -> Injection:
        return Injection(
            kind=kind,
            domain=domain or DOMAIN_OF[kind],
            entity_kind=entity_kind.value,
            entity_id=entity_id,
            group=self.p.group_of(entity_kind, entity_id),
            area_code=self.p.area_of(entity_kind, entity_id),
            metric=metric,
            start_ms=start,
            end_ms=end,
            size=size,
            unit=unit,
            threshold=threshold,
            note=note,
            number=number,
        )

    def _congestion(self, rng: random.Random, t: int, i: int) -> Injection | None:
        if not self._segments or not 6 <= self.clock.hour(t) < 19:
            return None
        seg = rng.choice(self._segments)
        minutes = 2 * CONGESTION_RAMP_MIN + CONGESTION_PLATEAU_MIN
        return self._new(
            Kind.CONGESTION, EntityKind.SEGMENT, seg.segment_id, t, t + minutes * MINUTE_MS,
            metric="congestion_index", size=CONGESTION_INDEX, unit="index",
            threshold=self.p.rules.congestion_index, number=i,
            note=f"speed held at {1 - CONGESTION_INDEX:.0%} of free flow for "
            f"{CONGESTION_PLATEAU_MIN} min, {CONGESTION_RAMP_MIN}-min ramps",
        )  # fmt: skip

    def _outage(self, rng: random.Random, t: int, i: int) -> Injection | None:
        if not self._feeders:
            return None
        feeder = rng.choice(self._feeders)
        nominal = self._nominal[feeder.feeder_id]
        return self._new(
            Kind.OUTAGE, EntityKind.FEEDER, feeder.feeder_id, t, t + OUTAGE_MIN * MINUTE_MS,
            metric="voltage_v", size=0.0, unit="V",
            threshold=self.p.rules.outage_voltage_ratio * nominal, number=i,
            note=f"every meter of the feeder reads 0-{OUTAGE_MAX_V:g} V and 0 kW "
            f"for {OUTAGE_MIN} min",
        )  # fmt: skip

    def _undervoltage(self, rng: random.Random, t: int, i: int) -> Injection | None:
        if not self._meters:
            return None
        meter = rng.choice(self._meters)
        return self._new(
            Kind.UNDERVOLTAGE, EntityKind.METER, meter.meter_id, t,
            t + UNDERVOLTAGE_MIN * MINUTE_MS,
            metric="voltage_v", size=UNDERVOLTAGE_RATIO * meter.nominal_voltage_v, unit="V",
            threshold=self.p.rules.undervoltage_ratio * meter.nominal_voltage_v, number=i,
            note=f"every phase at {UNDERVOLTAGE_RATIO:g}×nominal ± 0.6 V "
            f"for {UNDERVOLTAGE_MIN} min",
        )  # fmt: skip

    def _silence(self, rng: random.Random, t: int, i: int) -> Injection | None:
        use_sensor = "traffic" in self.domains and (i % 2 == 0 or "energy" not in self.domains)
        kind = EntityKind.SENSOR if use_sensor else EntityKind.METER
        entity: TrafficSensor | EnergyMeter
        if use_sensor and self.p.sensors:
            entity = rng.choice(self.p.sensors)
        elif not use_sensor and self.p.meters:
            entity = rng.choice(self.p.meters)
        else:
            return None
        entity_id = self.p.id_of(kind, entity)
        period_s = entity.period_s
        return self._new(
            Kind.SILENCE, kind, entity_id, t, t + SILENCE_PERIODS * period_s * 1000,
            domain="traffic" if use_sensor else "energy",
            metric="last_seen", size=SILENCE_PERIODS * period_s, unit="s",
            threshold=self.p.rules.silence_periods * period_s, number=i,
            note=f"no reading for {SILENCE_PERIODS} periods of {period_s} s",
        )  # fmt: skip

    def _reset(self, rng: random.Random, t: int, i: int) -> Injection | None:
        if not self._meters:
            return None
        meter = rng.choice(self._meters)
        period = meter.period_s * 1000
        t += -(t - self.start_ms) % period  # on the meter's own reading grid
        return self._new(
            Kind.REGISTER_RESET, EntityKind.METER, meter.meter_id, t,
            t + meter.period_s * 1000,
            metric="energy_kwh_total", size=RESET_MAX_KWH, unit="kWh",
            threshold=self.p.rules.register_reset_max_kwh, number=i,
            note=f"register restarts between 0 and {RESET_MAX_KWH:g} kWh at the reading at start",
        )  # fmt: skip

    def _surge(self, rng: random.Random, t: int, i: int) -> Injection | None:
        if not self.p.checkpoints:
            return None
        cp = rng.choice(self.p.checkpoints)
        end = t + SURGE_MIN * MINUTE_MS
        for probe in range(t, end + 1, 15 * MINUTE_MS):
            day = self.clock.day_at(probe)
            expected = rates.qr_in_scans_per_h(cp.kind, day, self.clock.hour(probe, day)) / 4
            if expected < SURGE_MIN_EXPECTED_PER_15MIN:
                return None
        return self._new(
            Kind.QR_SURGE, EntityKind.CHECKPOINT, cp.checkpoint_id, t, end,
            metric="scans_in", size=SURGE_FACTOR, unit="× expected",
            threshold=self.p.rules.qr_surge_factor, number=i,
            note=f"in-scans at {SURGE_FACTOR:g}× the expected rate for {SURGE_MIN} min",
        )  # fmt: skip

    def _overdue(self, rng: random.Random, t: int, i: int) -> Injection | None:
        if not self.p.agencies:
            return None
        day = self.clock.day_at(t)
        if not day.working:
            return None
        agency = rng.choice(self.p.agencies)
        # The first dossier falls due between 8:00 and 9:00 local on a working day.
        start = self.clock.at_local(day.date, 8 + rng.random())
        schedule = overdue_schedule(self.clock, start)
        if any(not self.clock.day_at(due).working for due, _ in schedule):
            return None
        return self._new(
            Kind.OVERDUE_SPIKE, EntityKind.AGENCY, agency.agency_code, start,
            max(done for _, done in schedule),
            metric="overdue", size=OVERDUE_DOSSIERS, unit="dossiers",
            threshold=self.p.rules.overdue_spike_count, number=i,
            note=f"{OVERDUE_DOSSIERS} dossiers fall due within "
            f"{(OVERDUE_DOSSIERS - 1) * OVERDUE_SPACING_S // 60} office minutes and are "
            "finished one working day late",
        )  # fmt: skip


def _span(inj: Injection) -> tuple[int, int]:
    return inj.start_ms, inj.end_ms
