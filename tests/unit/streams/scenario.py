"""Generated event streams for the KPI tests: all four domains, with the awkward cases.

Around local midnight of the last day of a month (so 23:59:59 and 00:00:00 land in
different days *and* months), with out-of-order events, events late enough to be
re-emitted, events too late to count, duplicated event ids (next to each other and
minutes later), register rollovers, resets and glitches, unknown entities, and a
dossier lifecycle per dossier (some overdue, some withdrawn or rejected, some open).
The production order is what a worker sees per partition (murmur2 of the key).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiokafka.partitioner import murmur2

from schemas.base import Event
from schemas.events import DossierStatusChange, EnergyReading, QrScan, TrafficObservation
from schemas.province.profile import Profile
from schemas.results import Domain
from schemas.timeutil import to_ms

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
PARTITIONS = 3
TICK = "tick"


def partition_of(key: str, partitions: int = PARTITIONS) -> int:
    """Kafka's default partitioner."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


@dataclass(frozen=True)
class Scenario:
    day: date
    """The local day D; the stream runs from D 23:40 to D+1 00:20 (dossiers from D−1)."""
    streams: dict[Domain, list[Event]]
    """Per domain, in production order (duplicates included)."""


def local(day: date, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=LOCAL).astimezone(UTC)


def _subject(i: int) -> str:
    return hashlib.sha256(f"subject-{i}".encode()).hexdigest()


def _traffic(rng: random.Random, profile: Profile, start: datetime, minutes: int) -> list[Event]:
    segments = profile.segments[:2]
    sensors = [
        (s.sensor_id, s.segment_id)
        for s in profile.sensors
        if s.segment_id in {g.segment_id for g in segments}
    ]
    sensors.append(("TS-UNKNOWN-01", segments[0].segment_id))  # not in the profile
    sensors.append(("TS-UNKNOWN-02", "SEG-UNKNOWN"))  # unknown segment: no free-flow speed
    out: list[Event] = []
    for i, (sensor, segment) in enumerate(sensors):
        offset_s = (i * 17) % 60
        for m in range(minutes):
            t = start + timedelta(minutes=m, seconds=offset_s)
            n = rng.randint(0, 60)
            moto = rng.randint(0, n)
            car = rng.randint(0, n - moto)
            out.append(
                TrafficObservation(
                    source="sim-traffic",
                    sensor_id=sensor,
                    segment_id=segment,
                    observed_at=t,
                    period_s=60,
                    intensity=n,
                    # Real sensors lack measures: some minutes without speed or occupancy.
                    average_speed_kmh=(
                        None if (i * 7 + m) % 5 == 0 else round(rng.uniform(3, 95), 2)
                    ),
                    occupancy=None if (i * 3 + m) % 6 == 0 else round(rng.random(), 3),
                    vehicle_counts={"motorcycle": moto, "car": car, "truck": n - moto - car},
                    congested=rng.choice([True, False, None]),
                )
            )
    return out


def _energy(rng: random.Random, profile: Profile, start: datetime, minutes: int) -> list[Event]:
    feeders: dict[str, list[str]] = {}
    for m in profile.meters:
        feeders.setdefault(m.feeder_id, []).append(m.meter_id)
    chosen = [(f, ms[:2]) for f, ms in feeders.items() if len(ms) >= 2][:2]
    out: list[Event] = []
    meter_index = 0
    for feeder, meters in chosen:
        for meter in meters:
            info = next(x for x in profile.meters if x.meter_id == meter)
            register = info.register_max_kwh - 3.0 if meter_index == 0 else rng.uniform(100, 5000)
            for m in range(minutes):
                t = start + timedelta(minutes=m, seconds=(meter_index * 13) % 60)
                register += rng.uniform(0, 0.4)
                if register >= info.register_max_kwh:
                    register -= info.register_max_kwh  # rollover
                value = register
                if meter_index == 1 and m == 12:
                    register = value = 0.25  # meter reset
                if meter_index == 2 and m == 20:
                    value = register - 40.0  # a glitch backwards, then back on track
                three = info.phases == 3
                volts = {
                    "l1": round(rng.gauss(220, 14), 1),
                    **(
                        {"l2": round(rng.gauss(220, 14), 1), "l3": round(rng.gauss(220, 14), 1)}
                        if three
                        else {}
                    ),
                }
                out.append(
                    EnergyReading(
                        source="sim-energy",
                        meter_id=meter,
                        feeder_id=feeder,
                        area_code=info.area_code,
                        measured_at=t,
                        # Some readings carry only the register (FIWARE: all optional).
                        active_power_kw=(
                            None if (meter_index + m) % 7 == 0 else round(rng.uniform(-1, 8), 3)
                        ),
                        energy_kwh_total=round(value, 3),
                        voltage_v=None if (meter_index * 5 + m) % 9 == 0 else volts,
                        frequency_hz=rng.choice([None, round(rng.gauss(50, 0.08), 3)]),
                    )
                )
            meter_index += 1
    return out


def _qr(rng: random.Random, profile: Profile, start: datetime, minutes: int) -> list[Event]:
    out: list[Event] = []
    for checkpoint in profile.checkpoints[:2]:
        t = start
        while t < start + timedelta(minutes=minutes):
            out.append(
                QrScan(
                    source="sim-qr",
                    checkpoint_id=checkpoint.checkpoint_id,
                    area_code=checkpoint.area_code,
                    scanned_at=t,
                    subject_kind=rng.choice(["person", "person", "vehicle"]),
                    subject_hash=_subject(rng.randint(0, 25)),
                    pii_key_id="k1",
                    direction=rng.choice(["in", "out"]),
                    declaration_status=rng.choice(["green", "green", "yellow", "red", "unknown"]),
                    device_id=f"DEV-{checkpoint.checkpoint_id}",
                )
            )
            t += timedelta(seconds=rng.randint(3, 40))
    return out


def _dossiers(rng: random.Random, profile: Profile, day: date) -> list[Event]:
    rows: list[tuple[datetime, dict[str, object]]] = []
    first = local(day - timedelta(days=1), 8, 0)
    last = local(day + timedelta(days=1), 0, 18)
    span = (last - first).total_seconds()
    for agency in profile.agencies[:2]:
        for n in range(25):
            dossier_id = f"{agency.agency_code}-{n:03d}"
            received = first + timedelta(seconds=rng.uniform(0, span * 0.8))
            if n == 0:
                received = local(day, 23, 59, 59)  # last second of the month
            if n == 1:
                received = local(day + timedelta(days=1), 0, 0, 0)  # first second of the next
            due = received + timedelta(hours=rng.choice([2, 6, 20, 48]))
            fate = rng.choice(["done", "done", "late", "open", "withdrawn", "rejected", "stopped"])
            steps: list[tuple[str, datetime]] = [
                ("received", received),
                ("processing", received + timedelta(hours=rng.uniform(0.1, 1))),
            ]
            if fate in ("done", "late"):
                took = (due - received) * rng.uniform(0.5, 0.95)
                if fate == "late":
                    took = (due - received) + timedelta(hours=rng.uniform(0.5, 6))
                done = received + took
                steps += [("completed", done), ("result_returned", done + timedelta(hours=1))]
            elif fate in ("withdrawn", "rejected", "stopped"):
                steps.append((fate, received + timedelta(hours=rng.uniform(1, 10))))
            if n == 2:  # finished at the last second of the month, one hour overdue
                received, due = local(day, 22, 0), local(day, 23, 0)
                steps = [("received", received), ("completed", local(day, 23, 59, 59))]
            common = {
                "source": "sim-dossier",
                "dossier_id": dossier_id,
                "procedure_code": "1.000001",
                "agency_code": agency.agency_code,
                "area_code": agency.area_code,
                "level": 4,
                "channel": rng.choice(["online", "online", "in_person", "postal"]),
                "received_at": received,
                "due_at": due,
            }
            for status, changed in steps:
                if changed > last:
                    continue
                data = {
                    **common,
                    "status": status,
                    "changed_at": changed,
                    "paid_online": rng.random() < 0.6,
                    "digitized": rng.random() < 0.7,
                }
                rows.append((changed, data))
    rows.sort(key=lambda r: r[0])
    return [
        DossierStatusChange.model_validate({**data, "outbox_id": i + 1})
        for i, (_, data) in enumerate(rows)
    ]


def perturb(rng: random.Random, events: list[Event], lateness_s: int) -> list[Event]:
    """Out of order, re-emission-late, too late, and duplicated — in production order."""
    base = sorted(events, key=lambda e: e.event_time)
    times = [e.event_time for e in base]
    out = list(base)
    for i in range(len(out) - 1):
        if rng.random() < 0.15:
            out[i], out[i + 1] = out[i + 1], out[i]

    def insert_after(event: Event, delay: timedelta) -> None:
        target = event.event_time + delay
        index = next((j for j, t in enumerate(times) if t >= target), len(times))
        # positions in ``out`` drift by the inserts; close enough for "later in the log"
        out.insert(min(index + (len(out) - len(times)), len(out)), event)

    for event in list(base):
        roll = rng.random()
        if roll < 0.03:
            out.remove(event)
            insert_after(event, timedelta(seconds=lateness_s * 1.75))  # re-emits a closed window
        elif roll < 0.06:
            out.remove(event)
            insert_after(event, timedelta(seconds=lateness_s * 5))  # too late: dropped, counted
        elif roll < 0.08:
            out.insert(out.index(event) + 1, event)  # an immediate redelivery
        elif roll < 0.10:
            insert_after(event, timedelta(seconds=lateness_s * 2))  # a redelivery minutes later
    return out


def generate(profile: Profile, day: date, *, seed: int = 7, lateness_s: int = 120) -> Scenario:
    """The scenario of local day ``day`` (best: the last day of a month)."""
    rng = random.Random(seed)
    start = local(day, 23, 40)
    minutes = 40
    streams: dict[Domain, list[Event]] = {
        Domain.TRAFFIC: _traffic(rng, profile, start, minutes),
        Domain.ENERGY: _energy(rng, profile, start, minutes),
        Domain.QR: _qr(rng, profile, start, minutes),
        Domain.DOSSIER: _dossiers(rng, profile, day),
    }
    return Scenario(day, {d: perturb(rng, evs, lateness_s) for d, evs in streams.items()})


Record = tuple[str, Event | int]
"""("event", event) or ("tick", timestamp ms)."""


def partition_logs(events: list[Event], partitions: int = PARTITIONS) -> dict[int, list[Record]]:
    """Each partition's log in production order."""
    logs: dict[int, list[Record]] = {p: [] for p in range(partitions)}
    for event in events:
        logs[partition_of(event.key, partitions)].append(("event", event))
    return logs


def with_final_tick(logs: dict[int, list[Record]], at: datetime) -> dict[int, list[Record]]:
    """A control tick at ``at`` at the end of every partition (closes what it can)."""
    return {p: [*log, (TICK, to_ms(at))] for p, log in logs.items()}
