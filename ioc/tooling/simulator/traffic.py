"""Traffic observations: one per sensor and period, FIWARE TrafficFlowObserved style.

Demand follows the hour of the day (rush hours, quieter weekends, Tết), with smooth
per-sensor noise; speed follows demand through :func:`rates.speed_ratio`; occupancy
follows flow and speed. An injected congestion holds a segment's speed at 30 % of free
flow; an injected silence drops a sensor's observations. Draws never depend on
injections, so everything outside them is identical with ``--no-anomalies``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from random import Random

from ioc.tooling.simulator import rates
from ioc.tooling.simulator.context import Context, Stream
from ioc.tooling.simulator.injections import (
    CONGESTION_FLOW_FACTOR,
    CONGESTION_INDEX,
    CONGESTION_RAMP_MIN,
    Injection,
    Kind,
)
from ioc.tooling.simulator.rng import Ar1, poisson, split, stream
from schemas.events import TrafficObservation, VehicleCounts
from schemas.province.entities import RoadSegment, TrafficSensor
from schemas.timeutil import from_ms

SPEED_COMMON_SD = 0.04
"""Minute-to-minute relative speed wobble shared by all vehicles (weather, a slow truck)."""
SPEED_SAMPLE_SD = 0.12
"""Relative spread of single vehicles' speeds; the mean of n has 0.12/√n."""


@dataclass
class _Sensor:
    spec: TrafficSensor
    segment: RoadSegment
    rng: Random
    demand: Ar1
    scale: float
    capacity_h: float
    mix: tuple[float, float, float, float]


def congestion_target(inj: Injection, natural: float, t_ms: int) -> float:
    """The congestion index an injection imposes at ``t_ms``: ramps in, holds, ramps out."""
    ramp = CONGESTION_RAMP_MIN * 60_000
    frac = min(1.0, (t_ms - inj.start_ms) / ramp, (inj.end_ms - t_ms) / ramp)
    return natural + (max(CONGESTION_INDEX, natural) - natural) * max(0.0, frac)


def generate(ctx: Context) -> Stream:
    """Observations of every sensor of the profile, in time order."""
    p = ctx.profile
    sensors = []
    for spec in p.sensors:
        segment = p.segment(spec.segment_id)
        rng = stream(ctx.seed, "traffic", spec.sensor_id)
        seg_rng = stream(ctx.seed, "segment-scale", segment.segment_id)
        sensors.append(
            _Sensor(
                spec=spec,
                segment=segment,
                rng=rng,
                demand=Ar1(rng, phi=0.9, sd=0.08),
                scale=seg_rng.uniform(0.75, 1.0),
                capacity_h=rates.CAPACITY_PER_LANE[segment.road_class] * spec.lanes,
                mix=rates.VEHICLE_MIX[segment.road_class],
            )
        )
    if not sensors:
        return
    step_ms = reduce(math.gcd, (s.spec.period_s for s in sensors)) * 1000
    for t in ctx.ticks(step_ms):
        day = ctx.clock.day_at(t)
        hour = ctx.clock.hour(t, day)
        at = from_ms(t)  # one datetime per tick, shared by its observations
        demand = {road: rates.traffic_demand(road, day, hour) for road in rates.CAPACITY_PER_LANE}
        for s in sensors:
            period_s = s.spec.period_s
            if (t - ctx.start_ms) % (period_s * 1000):
                continue
            event = _observe(ctx, s, t, at, demand[s.segment.road_class])
            if event is not None:
                yield t, event


def _observe(
    ctx: Context, s: _Sensor, t: int, at: datetime, demand: float
) -> TrafficObservation | None:
    rng = s.rng
    period_s = s.spec.period_s
    x = min(1.0, demand * s.scale * math.exp(s.demand.step()))
    count = poisson(rng, x * s.capacity_h * period_s / 3600)
    common = rng.gauss(0.0, SPEED_COMMON_SD)
    sample = rng.gauss(0.0, 1.0)
    ratio = rates.speed_ratio(x)
    counts = split(rng, count, s.mix)
    congestion = ctx.schedule.active(Kind.CONGESTION, s.segment.segment_id, t)
    if congestion is not None:
        ratio = 1.0 - congestion_target(congestion, 1.0 - ratio, t)
        counts = [round(c * CONGESTION_FLOW_FACTOR) for c in counts]
        count = sum(counts)
    if ctx.schedule.active(Kind.SILENCE, s.spec.sensor_id, t) is not None:
        return None  # after the draws, so the sensor's later numbers do not shift
    free_flow = s.segment.free_flow_kmh
    if count:
        wobble = 1.0 + common + sample * SPEED_SAMPLE_SD / math.sqrt(count)
        speed = min(free_flow * 1.3, max(3.0, free_flow * ratio * wobble))
        occupancy = rates.occupancy(count * 3600 / period_s / s.spec.lanes, counts, speed)
    else:
        speed = occupancy = 0.0  # nothing passed: no speed to measure, weight 0 in KPIs
    speed = round(speed, 1)
    return TrafficObservation.model_validate(
        {
            "source": ctx.source,
            "sensor_id": s.spec.sensor_id,
            "segment_id": s.segment.segment_id,
            "observed_at": at,
            "period_s": period_s,
            "intensity": count,
            "average_speed_kmh": speed,
            "occupancy": round(occupancy, 4),
            "vehicle_counts": VehicleCounts(
                motorcycle=counts[0], car=counts[1], truck=counts[2], bus=counts[3]
            ),
            "congested": bool(count) and 1 - speed / free_flow > ctx.profile.rules.congestion_index,
        }
    )
