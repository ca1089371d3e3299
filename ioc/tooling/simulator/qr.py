"""QR check-in scans at gates, hospitals, markets, bus stations and industrial parks.

Arrivals are a Poisson process following the check-point's daily shape; each arrival
is an ``in`` scan (at a gate, a crossing either way), and many are scanned ``out``
again after a dwell time. Subjects are invented citizens and vehicles, regulars and
passers-by, hashed by the identity book before an event is built. An injected surge
adds arrivals from its own random stream, so the base traffic is unchanged.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from random import Random
from typing import NamedTuple

from ioc.tooling.simulator import rates
from ioc.tooling.simulator.clock import MINUTE_MS
from ioc.tooling.simulator.context import Context, Stream
from ioc.tooling.simulator.identities import PERSONS, VEHICLES
from ioc.tooling.simulator.injections import SURGE_FACTOR, Kind
from ioc.tooling.simulator.rng import poisson, stream
from schemas.events import QrScan
from schemas.province.entities import Checkpoint, CheckpointKind
from schemas.timeutil import from_ms

REGULAR_SHARE = 0.3
"""Arrivals who are regulars of the check-point (staff, vendors, workers)."""
REGULARS = 300
DWELL_SD = 0.5
"""Log-normal spread of dwell times around the kind's median."""


@dataclass
class _Checkpoint:
    spec: Checkpoint
    number: int
    rng: Random
    devices: int


class _Scan(NamedTuple):
    # a tuple, so the heap orders by (t, order) at C speed
    t: int
    order: int
    checkpoint: int
    subject_kind: str
    subject: int
    direction: str
    device: int


def generate(ctx: Context) -> Stream:
    """Scans of every check-point, in time order."""
    points = []
    for n, spec in enumerate(ctx.profile.checkpoints):
        rng = stream(ctx.seed, "qr", spec.checkpoint_id)
        points.append(_Checkpoint(spec, n, rng, devices=1 + rng.randrange(3)))
    if not points:
        return
    pending: list[_Scan] = []  # out-scans scheduled for later minutes
    order = 0
    for minute in range(ctx.start_ms, ctx.end_ms, MINUTE_MS):
        day = ctx.clock.day_at(minute)
        hour = ctx.clock.hour(minute, day)
        for cp in points:
            lam = rates.qr_arrivals_per_h(cp.spec.kind, day, hour) / 60
            arrivals = [(cp.rng, poisson(cp.rng, lam))]
            surge = ctx.schedule.active(Kind.QR_SURGE, cp.spec.checkpoint_id, minute)
            if surge is not None:
                extra = stream(ctx.seed, "surge", str(surge.number), str(minute))
                arrivals.append((extra, poisson(extra, lam * (SURGE_FACTOR - 1))))
            for rng, count in arrivals:
                for _ in range(count):
                    order += 1
                    for scan in _arrive(cp, rng, minute, order):
                        heapq.heappush(pending, scan)
        horizon = min(minute + MINUTE_MS, ctx.end_ms)
        while pending and pending[0].t < horizon:
            scan = heapq.heappop(pending)
            yield scan.t, _event(ctx, points[scan.checkpoint], scan)


def _arrive(cp: _Checkpoint, rng: Random, minute: int, order: int) -> list[_Scan]:
    kind = cp.spec.kind
    t = minute + rng.randrange(MINUTE_MS)
    vehicle = rng.random() < rates.QR_VEHICLE_SHARE[kind]
    subject_kind = "vehicle" if vehicle else "person"
    if rng.random() < REGULAR_SHARE:
        # regulars live in their own index range per check-point
        index = (cp.number + 1) * 10_000_000 + rng.randrange(REGULARS)
    else:
        index = rng.randrange(VEHICLES if vehicle else PERSONS)
    direction = "in"
    if kind == CheckpointKind.GATE and rng.random() >= rates.QR_GATE_IN_SHARE:
        direction = "out"
    device = rng.randrange(cp.devices)
    scans = [_Scan(t, order, cp.number, subject_kind, index, direction, device)]
    if rng.random() < rates.QR_OUT_SHARE[kind]:
        median_ms = rates.QR_DWELL_MEDIAN_MIN[kind] * MINUTE_MS
        dwell = int(median_ms * math.exp(rng.gauss(0.0, DWELL_SD)))
        scans.append(
            _Scan(t + max(dwell, 1_000), order, cp.number, subject_kind, index, "out", device)
        )
    return scans


def _event(ctx: Context, cp: _Checkpoint, scan: _Scan) -> QrScan:
    book = ctx.identities
    return QrScan.model_validate(
        {
            "source": ctx.source,
            "checkpoint_id": cp.spec.checkpoint_id,
            "area_code": cp.spec.area_code,
            "scanned_at": from_ms(scan.t),
            "subject_kind": scan.subject_kind,
            "subject_hash": book.hashed(scan.subject_kind, scan.subject),
            "pii_key_id": book.key_id,
            "direction": scan.direction,
            "declaration_status": book.declaration(scan.subject_kind, scan.subject),
            "device_id": f"{cp.spec.checkpoint_id}-D{scan.device + 1}",
        }
    )
