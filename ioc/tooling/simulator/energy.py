"""Energy readings: one per meter and period, FIWARE ThreePhaseAcMeasurement style.

Power follows the customer's daily load shape with smooth noise; the cumulative
register grows by power × time and wraps at the profile's maximum (a few meters start
close to it, so rollovers happen and are recorded as negative controls); voltage is
the feeder's supply (lower at the evening peak) minus the meter's line drop plus
noise, always inside ±10 % unless an outage or an undervoltage is injected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from random import Random

from ioc.tooling.simulator import rates
from ioc.tooling.simulator.clock import HOUR_MS
from ioc.tooling.simulator.context import Context, Stream
from ioc.tooling.simulator.injections import OUTAGE_MAX_V, RESET_MAX_KWH, UNDERVOLTAGE_RATIO, Kind
from ioc.tooling.simulator.rng import Ar1, stream
from ioc.tooling.simulator.truth import TruthRow
from schemas.events import EnergyReading, PhaseValues
from schemas.province.entities import CustomerClass, EnergyMeter
from schemas.province.profile import Profile
from schemas.timeutil import from_ms

PHASE_NOISE_V = 0.6
ROLLOVER_SHARE = 0.02
"""Meters that start close enough to their register's maximum to wrap during a run."""
MEAN_LOAD = 0.55
"""Rough mean of the load shapes, to place a rollover inside the period."""


def rollover_meters(profile: Profile, seed: int) -> list[str]:
    """Meters whose register wraps naturally during the run (never given a reset)."""
    rng = stream(seed, "rollover-meters")
    count = max(1, round(len(profile.meters) * ROLLOVER_SHARE)) if profile.meters else 0
    return sorted(m.meter_id for m in rng.sample(list(profile.meters), count))


@dataclass
class _Meter:
    spec: EnergyMeter
    rng: Random
    load: Ar1
    peak_kw: float
    offset_v: float
    power_factor: float
    imbalance: tuple[float, float, float]
    register: float
    reset_done: int = -1


def _initial_register(
    ctx: Context, meter: EnergyMeter, peak_kw: float, rng: Random, rollover: bool
) -> float:
    fill = rng.uniform(0.05, 0.6)
    if not rollover:
        return meter.register_max_kwh * fill
    hours = (ctx.end_ms - ctx.start_ms) / HOUR_MS
    expected = peak_kw * MEAN_LOAD * hours
    # Wrap somewhere in the middle of the run, never at once.
    start = meter.register_max_kwh - expected * rng.uniform(0.3, 0.7)
    return max(0.0, start)


def generate(ctx: Context) -> Stream:
    """Readings of every meter of the profile, in time order."""
    p = ctx.profile
    rollovers = set(rollover_meters(p, ctx.seed))
    meters: list[_Meter] = []
    for spec in p.meters:
        rng = stream(ctx.seed, "energy", spec.meter_id)
        low, high = rates.PEAK_KW[spec.customer_class]
        peak = rng.uniform(low, high)
        meters.append(
            _Meter(
                spec=spec,
                rng=rng,
                load=Ar1(rng, phi=0.95, sd=0.10),
                peak_kw=peak,
                offset_v=rng.uniform(*rates.METER_OFFSET_V),
                power_factor=rng.uniform(0.86, 0.97),
                imbalance=(rng.uniform(0.9, 1.1), rng.uniform(0.9, 1.1), rng.uniform(0.9, 1.1)),
                register=_initial_register(ctx, spec, peak, rng, spec.meter_id in rollovers),
            )
        )
    if not meters:
        return
    feeders = {
        f.feeder_id: Ar1(stream(ctx.seed, "feeder", f.feeder_id), phi=0.97, sd=1.2)
        for f in p.feeders
    }
    grid = Ar1(stream(ctx.seed, "grid-frequency"), phi=0.98, sd=0.02)
    step_ms = reduce(math.gcd, (m.spec.period_s for m in meters)) * 1000
    for t in ctx.ticks(step_ms):
        day = ctx.clock.day_at(t)
        hour = ctx.clock.hour(t, day)
        supply = rates.feeder_voltage(day, hour)
        feeder_v = {fid: supply + ar.step() for fid, ar in feeders.items()}
        frequency = round(p.rules.nominal_frequency_hz + max(-0.2, min(0.2, grid.step())), 3)
        fractions = {c: rates.load_fraction(c, day, hour) for c in CustomerClass}
        at = from_ms(t)  # one datetime per tick, shared by its readings
        for m in meters:
            if (t - ctx.start_ms) % (m.spec.period_s * 1000):
                continue
            event = _read(ctx, m, t, at, feeder_v[m.spec.feeder_id], fractions, frequency)
            if event is not None:
                yield t, event


def _read(
    ctx: Context,
    m: _Meter,
    t: int,
    at: datetime,
    feeder_v: float,
    fractions: dict[CustomerClass, float],
    frequency: float,
) -> EnergyReading | None:
    rng = m.rng
    spec = m.spec
    power = m.peak_kw * fractions[spec.customer_class] * math.exp(m.load.step())
    power *= 1.0 + rng.gauss(0.0, 0.03)
    noise = [rng.gauss(0.0, PHASE_NOISE_V) for _ in range(spec.phases)]
    pf = min(0.99, max(0.7, m.power_factor + rng.gauss(0.0, 0.01)))
    dead = rng.uniform(0.0, OUTAGE_MAX_V)
    base = feeder_v * spec.nominal_voltage_v / 220.0 + m.offset_v
    volts = [base + n for n in noise]
    hz: float | None = frequency
    pf_out: float | None = pf
    if ctx.schedule.active(Kind.UNDERVOLTAGE, spec.meter_id, t) is not None:
        volts = [UNDERVOLTAGE_RATIO * spec.nominal_voltage_v + n for n in noise]
    if ctx.schedule.active(Kind.OUTAGE, spec.feeder_id, t) is not None:
        volts = [dead * (0.8 + 0.1 * i) for i in range(spec.phases)]
        power, hz, pf_out = 0.0, 0.0, None
    reset = ctx.schedule.active(Kind.REGISTER_RESET, spec.meter_id, t)
    if reset is not None and m.reset_done != reset.number:
        m.reset_done = reset.number
        m.register = stream(ctx.seed, "reset", str(reset.number)).uniform(0.0, RESET_MAX_KWH)
    m.register += power * spec.period_s / 3600
    if m.register >= spec.register_max_kwh:
        m.register -= spec.register_max_kwh
        ctx.natural.append(_rollover(ctx, spec, t))
    if ctx.schedule.active(Kind.SILENCE, spec.meter_id, t) is not None:
        return None  # the register keeps counting while the meter is silent
    if spec.phases == 1:
        amps = [power * 1000 / (volts[0] * pf)] if pf_out and volts[0] > 1 else [0.0]
    else:
        amps = [
            power * 1000 / (3 * v * pf) * k if pf_out and v > 1 else 0.0
            for v, k in zip(volts, m.imbalance, strict=True)
        ]
    return EnergyReading.model_validate(
        {
            "source": ctx.source,
            "meter_id": spec.meter_id,
            "feeder_id": spec.feeder_id,
            "area_code": spec.area_code,
            "measured_at": at,
            "active_power_kw": round(power, 3),
            "energy_kwh_total": round(m.register, 3),
            # validated models, not dicts: the contract's text normaliser skips them
            "voltage_v": _phases(volts, 1),
            "current_a": _phases(amps, 2),
            "power_factor": None if pf_out is None else round(pf_out, 3),
            "frequency_hz": hz,
        }
    )


def _phases(values: list[float], digits: int) -> PhaseValues:
    if len(values) == 1:
        return PhaseValues(l1=round(values[0], digits))
    l1, l2, l3 = values
    return PhaseValues(l1=round(l1, digits), l2=round(l2, digits), l3=round(l3, digits))


def _rollover(ctx: Context, spec: EnergyMeter, t: int) -> TruthRow:
    return TruthRow(
        record="control",
        kind="rollover",
        domain="energy",
        entity_kind="meter",
        entity_id=spec.meter_id,
        group=spec.feeder_id,
        area_code=spec.area_code,
        metric="energy_kwh_total",
        start_ms=t,
        end_ms=t + spec.period_s * 1000,
        size=spec.register_max_kwh,
        unit="kWh",
        note="register wrapped at its maximum: a rollover, not a reset",
    )
