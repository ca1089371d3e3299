"""An independent, plain reference for the stream's KPIs.

Deliberately naive: it keeps every event, decides per partition log which ones the
stream must apply (duplicates by event id; the watermark rule of docs/architecture.md,
"Event time and the watermark"), then computes every window from scratch with loops,
sets and ``math.fsum``. It shares no code with ``streams/`` beyond the event contracts
and the profile. The shared ground (:class:`Expected`, window bounds, which events are
applied) is :mod:`tests.unit.streams.reference_base`, dossiers are
:mod:`tests.unit.streams.reference_dossier`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from schemas.base import Event
from schemas.events import EnergyReading, QrScan, TrafficObservation
from schemas.province.profile import Profile
from tests.unit.streams.reference_base import Applied, Expected, applied, bounds, ms
from tests.unit.streams.reference_dossier import dossiers

# --- telemetry ------------------------------------------------------------------------

SIZES = ("1m", "15m", "1h", "1d")


def _windows(ts: int) -> list[tuple[str, int, int]]:
    return [(w, *bounds(ts, w)) for w in SIZES]


def traffic(applied_events: list[Event], profile: Profile) -> list[Expected]:
    free_flow = {s.segment_id: s.free_flow_kmh for s in profile.segments}
    members: dict[str, set[str]] = defaultdict(set)
    for s in profile.sensors:
        members[s.segment_id].add(s.sensor_id)
    groups: dict[tuple[str, str, str, str, int, int], list[TrafficObservation]] = defaultdict(list)
    for e in applied_events:
        assert isinstance(e, TrafficObservation)
        for w, start, end in _windows(ms(e.observed_at)):
            groups[("sensor", e.sensor_id, e.segment_id, w, start, end)].append(e)
            groups[("segment", e.segment_id, e.segment_id, w, start, end)].append(e)
    out = []
    for (kind, entity, group, w, start, end), evs in groups.items():
        ff = free_flow.get(group)
        vehicles = sum(e.intensity for e in evs)
        timed = [e for e in evs if e.average_speed_kmh is not None]
        speeds = [e.average_speed_kmh for e in timed if e.average_speed_kmh is not None]
        speed_vehicles = sum(e.intensity for e in timed)
        sxv = math.fsum((e.average_speed_kmh or 0.0) * e.intensity for e in timed)
        ffxv = math.fsum(ff * e.intensity for e in timed) if ff is not None else 0.0
        occupancies = [e.occupancy for e in evs if e.occupancy is not None]
        if kind == "segment":
            reporting, expected = len({e.sensor_id for e in evs}), len(members.get(entity, ()))
        else:
            reporting, expected = 1, int(entity in members.get(group, ()))
        parts = {
            "observations": len(evs),
            "vehicles": vehicles,
            "motorcycles": sum(e.vehicle_counts.motorcycle for e in evs),
            "cars": sum(e.vehicle_counts.car for e in evs),
            "trucks": sum(e.vehicle_counts.truck for e in evs),
            "buses": sum(e.vehicle_counts.bus for e in evs),
            "speed_x_vehicles": sxv,
            "speed_vehicles": speed_vehicles,
            "free_flow_x_vehicles": ffxv,
            "occupancy_sum": math.fsum(occupancies),
            "occupancy_samples": len(occupancies),
            "period_s_sum": sum(e.period_s for e in evs),
            "congested_observations": sum(1 for e in evs if e.congested),
            "speed_min_kmh": min(speeds) if speeds else None,
            "speed_max_kmh": max(speeds) if speeds else None,
            "sensors_reporting": reporting,
            "sensors_expected": expected,
        }
        ratio = sxv / ffxv if ffxv else None
        los = None
        if ratio is not None:
            los = 6.0
            for rank, floor in enumerate((0.85, 0.67, 0.50, 0.40, 0.30), start=1):
                if ratio > floor:
                    los = float(rank)
                    break
        rates = {
            "flow_veh_h": vehicles * 3600.0 * reporting / parts["period_s_sum"],
            "mean_speed_kmh": sxv / speed_vehicles if speed_vehicles else None,
            "mean_occupancy": math.fsum(occupancies) / len(occupancies) if occupancies else None,
            "congestion_index": None if ratio is None else max(0.0, 1 - ratio),
            "level_of_service": los,
        }
        out.append(Expected("traffic", kind, entity, group, w, start, end, parts, rates))
    return out


def register_deltas(
    readings: list[tuple[int, int, float]], register_max: float, floor: float
) -> list[tuple[int, float, str]]:
    """(ts, kWh, step) of each (ts, log index, register) sorted by time then log order."""
    out = []
    base: float | None = None
    for ts, _, kwh in sorted(readings):
        if base is None:
            out.append((ts, 0.0, "first"))
            base = kwh
        elif kwh >= base:
            out.append((ts, kwh - base, "forward"))
            base = kwh
        elif register_max - base + kwh <= 0.01 * register_max:
            out.append((ts, register_max - base + kwh, "rollover"))
            base = kwh
        elif kwh <= floor:
            out.append((ts, kwh, "reset"))
            base = kwh
        else:
            out.append((ts, 0.0, "backwards"))  # an impossible value: base unchanged
    return out


def energy(
    applied_events: list[tuple[int, Event]], profile: Profile, late: set[int]
) -> list[Expected]:
    meters = {m.meter_id: m for m in profile.meters}
    members: dict[str, set[str]] = defaultdict(set)
    for m in profile.meters:
        members[m.feeder_id].add(m.meter_id)
    floor = profile.rules.register_reset_max_kwh
    by_meter: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
    for index, e in applied_events:
        assert isinstance(e, EnergyReading)
        if index in late:
            continue  # not in the register chain: its energy stays with the next reading
        by_meter[e.meter_id].append((ms(e.measured_at), index, e.energy_kwh_total))
    deltas: dict[tuple[str, int], list[tuple[float, str]]] = defaultdict(list)
    for meter, readings in by_meter.items():
        info = meters.get(meter)
        register_max = info.register_max_kwh if info else 999_999.9
        for ts, kwh, step in register_deltas(readings, register_max, floor):
            deltas[(meter, ts)].append((kwh, step))
    groups: dict[tuple[str, str, str, str, int, int], list[tuple[int, EnergyReading]]]
    groups = defaultdict(list)
    for index, e in applied_events:
        assert isinstance(e, EnergyReading)
        for w, start, end in _windows(ms(e.measured_at)):
            groups[("meter", e.meter_id, e.feeder_id, w, start, end)].append((index, e))
            groups[("feeder", e.feeder_id, e.feeder_id, w, start, end)].append((index, e))
    out = []
    for (kind, entity, group, w, start, end), evs in groups.items():
        steps = [
            d for i, e in evs if i not in late for d in deltas[(e.meter_id, ms(e.measured_at))][:1]
        ]
        evs = [e for _, e in evs]
        volts = [v for e in evs if e.voltage_v is not None for v in e.voltage_v.values()]
        powers = [e.active_power_kw for e in evs if e.active_power_kw is not None]
        freqs = [abs(e.frequency_hz - 50.0) for e in evs if e.frequency_hz is not None]
        outside = 0
        for e in evs:
            info = meters.get(e.meter_id)
            nominal, period = (info.nominal_voltage_v, info.period_s) if info else (220.0, 60)
            phases = e.voltage_v.values() if e.voltage_v is not None else []
            if any(v < 0.9 * nominal or v > 1.1 * nominal for v in phases):
                outside += period
        if kind == "feeder":
            reporting, expected = len({e.meter_id for e in evs}), len(members.get(entity, ()))
        else:
            reporting, expected = 1, int(entity in members.get(group, ()))
        parts = {
            "readings": len(evs),
            "energy_kwh": math.fsum(k for k, _ in steps),
            "power_kw_sum": math.fsum(powers),
            "power_samples": len(powers),
            "power_kw_max": max(powers) if powers else None,
            "voltage_sum": math.fsum(volts),
            "voltage_samples": len(volts),
            "voltage_min_v": min(volts) if volts else None,
            "voltage_max_v": max(volts) if volts else None,
            "seconds_outside_voltage": float(outside),
            "frequency_dev_abs_sum": math.fsum(freqs),
            "frequency_samples": len(freqs),
            "register_resets": sum(1 for _, s in steps if s == "reset"),
            "register_rollovers": sum(1 for _, s in steps if s == "rollover"),
            "meters_reporting": reporting,
            "meters_expected": expected,
        }
        rates = {
            "power_kw_mean": math.fsum(powers) / len(powers) if powers else None,
            "voltage_mean_v": math.fsum(volts) / len(volts) if volts else None,
            "frequency_dev_mean_hz": parts["frequency_dev_abs_sum"] / len(freqs) if freqs else None,
        }
        out.append(Expected("energy", kind, entity, group, w, start, end, parts, rates))
    return out


def qr(applied_events: list[tuple[int, Event]], day_dropped: set[int]) -> list[Expected]:
    groups: dict[tuple[str, int, int, str], list[tuple[int, QrScan]]] = defaultdict(list)
    for index, e in applied_events:
        assert isinstance(e, QrScan)
        for w, start, end in _windows(ms(e.scanned_at)):
            groups[(e.checkpoint_id, start, end, w)].append((index, e))
    out = []
    for (cp, start, end, w), indexed in groups.items():
        evs = [e for _, e in indexed]
        # A late scan from a day already dropped remembers no one: its subject is new.
        forgotten = sum(1 for i, _ in indexed if i in day_dropped)
        subjects = {e.subject_hash for i, e in indexed if i not in day_dropped}
        parts = {
            "scans": len(evs),
            "scans_in": sum(1 for e in evs if e.direction == "in"),
            "scans_out": sum(1 for e in evs if e.direction == "out"),
            "persons": sum(1 for e in evs if e.subject_kind == "person"),
            "vehicles": sum(1 for e in evs if e.subject_kind == "vehicle"),
            "not_green": sum(1 for e in evs if e.declaration_status != "green"),
            "distinct_subjects": len(subjects) + forgotten,
        }
        rates = {
            "net_flow": float(parts["scans_in"] - parts["scans_out"]),
            "share_not_green": parts["not_green"] / len(evs),
        }
        out.append(Expected("qr", "checkpoint", cp, cp, w, start, end, parts, rates))
    return out


def _late(ap: Applied, lateness_ms: int, window: str) -> set[int]:
    """Log indexes of applied events whose ``window`` was dropped when they arrived."""
    return {
        index
        for index, e in ap.events
        if (wm := ap.watermarks[index]) is not None
        and wm >= bounds(ms(e.event_time), window)[1] + lateness_ms
    }


def expected_kpis(
    domain: str, logs: dict[int, list[tuple[str, Any]]], profile: Profile, lateness_ms: int
) -> dict[tuple[str, str, str, int], Expected]:
    """Every window the stream must have emitted once the logs are consumed, by key."""
    found: list[Expected] = []
    for log in logs.values():
        ap = applied(log, lateness_ms, dossier=domain == "dossier")
        events = [e for _, e in ap.events]
        if domain == "traffic":
            rows = traffic(events, profile)
        elif domain == "energy":
            rows = energy(ap.events, profile, _late(ap, lateness_ms, "1m"))
        elif domain == "qr":
            rows = qr(ap.events, _late(ap, lateness_ms, "1d"))
        else:
            rows = dossiers(ap, lateness_ms)
        if domain != "dossier":
            rows = [r for r in rows if ap.final_wm is not None and r.end_ms <= ap.final_wm]
        found += rows
    return {r.key: r for r in found}
