"""A realistic day (and month) of a province, as the pipeline would have written it.

Contracts are built with the profile's real entities and turned into rows by the
sink's own row builders (connectors.sinks.clickhouse.rows), so the tables hold what
the sink writes: raw events of every stream, KPI rows of every window size (entity
rows summed into their groups, some windows re-emitted with a higher sequence),
anomalies (some of a rebuild generation that is not live), dossier states, dead
letters and per-minute data-quality records (some re-emitted, some of a generation that
is not live).
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.sinks.clickhouse.rows import COLUMNS, Origin, rows_for
from ioc.ops.db.executors import SqlExecutor
from schemas.base import Contract
from schemas.events import (
    DossierStatusChange,
    EnergyReading,
    QrScan,
    TrafficObservation,
)
from schemas.province.profile import Profile
from schemas.results import (
    Anomaly,
    DataQualityRecord,
    DeadLetter,
    DossierParts,
    EnergyParts,
    KpiRecord,
    QrParts,
    TrafficParts,
)
from schemas.timeutil import LOCAL_TZ, to_ms

MIN = timedelta(minutes=1)
# (window, length, how many of the newest windows) for telemetry KPIs.
TELEMETRY = (("1m", MIN, 60), ("15m", 15 * MIN, 96), ("1h", 60 * MIN, 48), ("1d", 1440 * MIN, 7))
ENTITY_WINDOWS = ("1m", "15m")
"""Entity-level rows (sensors, meters) only where panels read them, to keep the set small."""


@dataclass
class Dataset:
    now: datetime
    values: list[Contract] = field(default_factory=list)

    def write(self, executor: SqlExecutor, database: str) -> dict[str, int]:
        """Insert every value through the sink's row builders; return rows per table."""
        tables: dict[str, list[Any]] = defaultdict(list)
        written = to_ms(self.now) - 2_000
        for i, value in enumerate(self.values):
            for table, row in rows_for(value, Origin("dataset", 0, i), written):
                tables[table].append(row)
        for table, rows in tables.items():
            executor.insert(f"{database}.{table}", COLUMNS[table], rows)
        return {t: len(r) for t, r in tables.items()}


def _starts(now: datetime, length: timedelta, count: int) -> list[datetime]:
    epoch = datetime(2000, 1, 1, tzinfo=now.tzinfo)
    if length == 1440 * MIN:  # days start at local midnight
        local = now.astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
        last = local.astimezone(now.tzinfo)
    else:
        last = epoch + ((now - epoch) // length) * length
    # The newest window is closed: it ends at or before now.
    if last + length > now:
        last -= length
    return [last - i * length for i in range(count)]


def _kpi(domain: str, kind: str, entity: str, group: str, window: str, start: datetime,
         length: timedelta, parts: Any, now: datetime, sequence: int = 0) -> KpiRecord:  # fmt: skip
    return KpiRecord(
        domain=domain, entity_kind=kind, entity_id=entity, group_id=group, window=window,
        window_start=start, window_end=start + length, parts=parts, computed_at=now,
        generation=1, sequence=sequence,
    )  # fmt: skip


def _add(total: dict[str, Any] | None, parts: dict[str, Any]) -> dict[str, Any]:
    """Group parts = sum of its entities' parts (min/max combined, counts summed)."""
    if total is None:
        return dict(parts)
    for name, value in parts.items():
        if name == "domain" or value is None:
            continue
        if "_min_" in name:
            total[name] = min(total[name], value)
        elif "_max_" in name or name == "power_kw_max":
            total[name] = max(total[name], value)
        else:
            total[name] += value
    return total


def _members(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    # Profile.members() scans every entity per call; the dataset asks thousands of times.
    found: dict[str, list[str]] = defaultdict(list)
    for group, member in pairs:
        found[group].append(member)
    return found


def traffic(profile: Profile, now: datetime, rng: random.Random) -> list[Contract]:
    out: list[Contract] = []
    sensors = _members([(s.segment_id, s.sensor_id) for s in profile.sensors])
    for window, length, count in TELEMETRY:
        minutes = length / MIN
        for start in _starts(now, length, count):
            for segment in profile.segments:
                group: dict[str, Any] | None = None
                for sensor in sensors[segment.segment_id]:
                    vehicles = int(rng.uniform(5, 40) * minutes)
                    speed = rng.uniform(0.25, 1.0) * segment.free_flow_kmh
                    parts = dict(
                        observations=int(minutes), vehicles=vehicles,
                        motorcycles=int(vehicles * 0.8), cars=int(vehicles * 0.15),
                        trucks=vehicles - int(vehicles * 0.8) - int(vehicles * 0.15), buses=0,
                        speed_x_vehicles=speed * vehicles,
                        free_flow_x_vehicles=segment.free_flow_kmh * vehicles,
                        occupancy_sum=rng.uniform(0.05, 0.5) * minutes,
                        period_s_sum=int(60 * minutes), congested_observations=0,
                        speed_min_kmh=speed * 0.7, speed_max_kmh=min(speed * 1.3, 130),
                        sensors_reporting=1, sensors_expected=1,
                    )  # fmt: skip
                    group = _add(group, parts)
                    if window in ENTITY_WINDOWS:
                        out.append(_kpi("traffic", "sensor", sensor, segment.segment_id, window,
                                        start, length, TrafficParts(**parts), now))  # fmt: skip
                assert group is not None
                # A late event re-emitted the window: only the higher sequence may count.
                wrong = TrafficParts(**(group | {"vehicles": group["vehicles"] + 10_000}))
                out.append(_kpi("traffic", "segment", segment.segment_id, segment.segment_id,
                                window, start, length, wrong, now, 0))  # fmt: skip
                out.append(_kpi("traffic", "segment", segment.segment_id, segment.segment_id,
                                window, start, length, TrafficParts(**group), now, 1))  # fmt: skip
    for i, sensor in enumerate(profile.sensors[:40]):
        out.append(TrafficObservation(
            source="dataset", sensor_id=sensor.sensor_id, segment_id=sensor.segment_id,
            observed_at=now - (i % 30) * MIN, period_s=60, intensity=20, average_speed_kmh=35.0,
            occupancy=0.2, vehicle_counts={"motorcycle": 16, "car": 3, "truck": 1, "bus": 0},
        ))  # fmt: skip
    return out


def energy(profile: Profile, now: datetime, rng: random.Random) -> list[Contract]:
    out: list[Contract] = []
    meters = _members([(m.feeder_id, m.meter_id) for m in profile.meters])
    for window, length, count in TELEMETRY:
        minutes = length / MIN
        for start in _starts(now, length, count):
            for feeder in profile.feeders:
                group: dict[str, Any] | None = None
                for meter_id in meters[feeder.feeder_id]:
                    kw = rng.uniform(0.3, 4.0)
                    volts = rng.gauss(221, 4)
                    readings = int(minutes)
                    parts = dict(
                        readings=readings, energy_kwh=kw * minutes / 60, power_kw_sum=kw * readings,
                        power_kw_max=kw * 1.4, voltage_sum=volts * readings, voltage_samples=readings,
                        voltage_min_v=volts - 6, voltage_max_v=volts + 6,
                        seconds_outside_voltage=60.0 if volts < 200 else 0.0,
                        frequency_dev_abs_sum=0.02 * readings, frequency_samples=readings,
                        meters_reporting=1, meters_expected=1,
                    )  # fmt: skip
                    group = _add(group, parts)
                    if window in ENTITY_WINDOWS:
                        out.append(_kpi("energy", "meter", meter_id, feeder.feeder_id, window,
                                        start, length, EnergyParts(**parts), now))  # fmt: skip
                if group is None:
                    continue
                out.append(_kpi("energy", "feeder", feeder.feeder_id, feeder.feeder_id, window,
                                start, length, EnergyParts(**group), now))  # fmt: skip
    for i, meter in enumerate(profile.meters[:50]):
        out.append(EnergyReading(
            source="dataset", meter_id=meter.meter_id, feeder_id=meter.feeder_id,
            area_code=meter.area_code, measured_at=now - (i % 20) * MIN, active_power_kw=1.5,
            energy_kwh_total=1000.0 + i, voltage_v={"l1": 221.0}, power_factor=0.95,
            frequency_hz=50.0,
        ))  # fmt: skip
    return out


def _subject(n: int) -> str:
    return hashlib.sha256(f"subject-{n}".encode()).hexdigest()


def qr(profile: Profile, now: datetime, rng: random.Random) -> list[Contract]:
    out: list[Contract] = []
    for window, length, count in TELEMETRY:
        minutes = length / MIN
        for start in _starts(now, length, count):
            for cp in profile.checkpoints:
                scans_in, scans_out = (
                    int(rng.uniform(0, 6) * minutes),
                    int(rng.uniform(0, 6) * minutes),
                )
                scans = scans_in + scans_out
                persons = int(scans * 0.7)
                parts = QrParts(
                    scans=scans, scans_in=scans_in, scans_out=scans_out, persons=persons,
                    vehicles=scans - persons, not_green=int(scans * rng.uniform(0, 0.1)),
                    distinct_subjects=int(scans * 0.8),
                )  # fmt: skip
                out.append(_kpi("qr", "checkpoint", cp.checkpoint_id, cp.checkpoint_id, window,
                                start, length, parts, now))  # fmt: skip
    for i in range(3_000):
        cp = profile.checkpoints[i % len(profile.checkpoints)]
        out.append(QrScan(
            source="dataset", checkpoint_id=cp.checkpoint_id, area_code=cp.area_code,
            scanned_at=now - timedelta(minutes=rng.randint(0, 3 * 1440)), subject_kind="person",
            subject_hash=_subject(rng.randint(0, 800)), pii_key_id="k1",
            direction=rng.choice(["in", "out"]),
            declaration_status=rng.choice(["green"] * 9 + ["yellow"]), device_id=f"DEV-{i % 7}",
        ))  # fmt: skip
    return out


def dossiers(profile: Profile, now: datetime, rng: random.Random) -> list[Contract]:
    out: list[Contract] = []
    today = now.astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    for agency in profile.agencies:
        for day in range(1, 31):  # closed days only
            start = today - timedelta(days=day)
            received = rng.randint(5, 40)
            finished = rng.randint(3, received)
            parts = DossierParts(
                received=received, received_online=int(received * rng.uniform(0.85, 1.0)),
                finished=finished, finished_late=rng.randint(0, max(1, finished // 10)),
                open_at_end=rng.randint(5, 40), open_late_at_end=rng.randint(0, 3),
                paid_online=int(finished * rng.uniform(0.3, 0.9)),
                digitized=int(received * rng.uniform(0.5, 1.0)),
                processing_hours_sum=finished * rng.uniform(4, 72), excluded=rng.randint(0, 2),
            )  # fmt: skip
            out.append(_kpi("dossier", "agency", agency.agency_code, agency.agency_code, "day",
                            start, timedelta(days=1), parts, now))  # fmt: skip
        first = today.replace(day=1)
        for month_start, month_end in ((first, today), (_previous_month(first), first)):
            if month_end <= month_start:
                continue
            parts = DossierParts(
                received=400, received_online=380, finished=350, finished_late=12, open_at_end=30,
                open_late_at_end=2, paid_online=200, digitized=300, processing_hours_sum=350 * 30,
            )  # fmt: skip
            out.append(_kpi("dossier", "agency", agency.agency_code, agency.agency_code,
                            "month", month_start, month_end - month_start, parts, now))  # fmt: skip
    for i in range(300):
        agency = profile.agencies[i % len(profile.agencies)]
        received_at = now - timedelta(days=rng.uniform(0.5, 20))
        status = rng.choice(["received", "processing", "completed", "supplement_requested"])
        out.append(DossierStatusChange(
            source="dataset", dossier_id=f"H-{i:05d}", procedure_code="1.001234",
            agency_code=agency.agency_code, area_code=agency.area_code, level=4,
            channel=rng.choice(["online"] * 9 + ["in_person"]), status=status,
            changed_at=received_at + timedelta(hours=2), received_at=received_at,
            due_at=received_at + timedelta(days=rng.choice([3, 5, 10])), outbox_id=i + 1,
        ))  # fmt: skip
    return out


def _previous_month(first: datetime) -> datetime:
    return (first - timedelta(days=1)).replace(day=1)


def anomalies(profile: Profile, now: datetime, rng: random.Random) -> list[Contract]:
    subjects = [
        ("energy", "meter", m.meter_id, m.feeder_id, m.area_code, "voltage_min_v")
        for m in profile.meters[:12]
    ] + [
        ("traffic", "segment", s.segment_id, s.segment_id, s.area_code, "congestion_index")
        for s in profile.segments[:8]
    ] + [
        ("qr", "checkpoint", c.checkpoint_id, c.checkpoint_id, c.area_code, "scans_in")
        for c in profile.checkpoints[:5]
    ] + [
        ("dossier", "agency", a.agency_code, a.agency_code, a.area_code, "on_time_rate")
        for a in profile.agencies[:5]
    ] + [
        # What the detector raises for an agency (streams/detect/params.py, overdue_spike):
        # the drill-down's agency gets one, for the band of its dossiers panel.
        ("dossier", "agency", a.agency_code, a.agency_code, a.area_code, "overdue")
        for a in profile.agencies[:1]
    ]  # fmt: skip
    out: list[Contract] = []
    for i, (domain, kind, entity, group, area, metric) in enumerate(subjects):
        started = now - timedelta(hours=rng.uniform(0.2, 40))
        resolved = i % 3 == 0
        ended = min(started + timedelta(minutes=rng.randint(10, 120)), now) if resolved else None
        for generation in (1, 2) if i % 5 == 0 else (1,):
            out.append(Anomaly(
                anomaly_id=f"an-{i:03d}", domain=domain, entity_kind=kind, entity_id=entity,
                group_id=group, area_code=area, metric=metric, detector="threshold",
                severity=("info", "warning", "critical")[i % 3], observed=180.0, expected=220.0,
                expected_low=(198.0, 200.0, None)[i % 3], expected_high=(None, 240.0, None)[i % 3],
                score=rng.uniform(1, 9), state="resolved" if resolved else "open",
                started_at=started, updated_at=ended or now, ended_at=ended,
                generation=generation, sequence=1, description=f"{metric} out of range",
            ))  # fmt: skip
    return out


def dead_letters(now: datetime) -> list[Contract]:
    return [
        DeadLetter(
            source_topic="ioc.traffic.obs.v1",
            partition=0,
            offset=i,
            reason="validation",
            error="speed above physics",
            payload="{}",
            producer="dataset",
            failed_at=now - i * MIN,
        )
        for i in range(5)
    ]


DQ_SOURCES = {"traffic": "mqtt-bridge", "energy": "mqtt-bridge", "qr": "http-gateway",
              "dossier": "outbox"}  # fmt: skip
DQ_REASONS = ("invalid_json", "validation", "clock_skew")


def data_quality(now: datetime, rng: random.Random, minutes: int = 240) -> list[Contract]:
    """Per-minute records of every stream's source on each of 3 partitions; the first
    emission of some minutes is replaced by a re-emission, and a rebuild's rows (not
    promoted) must stay hidden."""
    out: list[Contract] = []
    for start in _starts(now, MIN, minutes):
        for domain, source in DQ_SOURCES.items():
            for partition in range(3):
                events = rng.randint(0, 40)
                late, duplicates = rng.randint(0, events // 8), rng.randint(0, events // 10)
                invalid = {r: rng.randint(1, 3) for r in DQ_REASONS if rng.random() < 0.1}
                record = DataQualityRecord(
                    domain=domain, partition=partition, source=source, window_start=start,
                    window_end=start + MIN, events=events, late=late, duplicates=duplicates,
                    invalid=invalid, last_seen=start + MIN / 2 if events else None,
                    generation=1, sequence=1,
                )  # fmt: skip
                if partition == 0 and rng.random() < 0.2:
                    out.append(record)  # re-emitted below with one more event
                    record = record.model_copy(update={"events": events + 1, "sequence": 2})
                out.append(record)
                if partition == 1 and rng.random() < 0.05:
                    out.append(record.model_copy(update={"events": 10_000, "generation": 2}))
        out.append(DataQualityRecord(
            domain="traffic", partition=0, source="unknown", window_start=start,
            window_end=start + MIN, events=0, late=0, duplicates=0,
            invalid={"invalid_json": rng.randint(1, 2)}, generation=1, sequence=1,
        ))  # fmt: skip
    return out


def build(profile: Profile, now: datetime, seed: int = 7) -> Dataset:
    """Everything the panels read, ending at ``now``."""
    rng = random.Random(seed)
    data = Dataset(now)
    for part in (traffic, energy, qr, dossiers, anomalies):
        data.values += part(profile, now, rng)
    data.values += dead_letters(now)
    data.values += data_quality(now, rng)
    return data
