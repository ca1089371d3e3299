"""An independent, plain reference for the stream's KPIs.

Deliberately naive: it keeps every event, decides per partition log which ones the
stream must apply (duplicates by event id; the watermark rule of docs/architecture.md,
"Event time and the watermark"), then computes every window from scratch with loops,
sets and ``math.fsum``. It shares no code with ``streams/`` beyond the event contracts
and the profile.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from schemas.base import Event
from schemas.events import DossierStatusChange, EnergyReading, QrScan, TrafficObservation
from schemas.province.profile import Profile
from schemas.timeutil import to_ms

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
MIN = 60_000


@dataclass
class Expected:
    domain: str
    kind: str
    entity: str
    group: str
    window: str
    start_ms: int
    end_ms: int
    parts: dict[str, Any]
    rates: dict[str, float | None] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.kind, self.entity, self.window, self.start_ms)


def ms(dt: datetime) -> int:
    return to_ms(dt)


def local_midnight(d: date) -> int:
    return ms(datetime(d.year, d.month, d.day, tzinfo=LOCAL))


def local_day(ts: int) -> date:
    return datetime.fromtimestamp(ts / 1000, UTC).astimezone(LOCAL).date()


def bounds(ts: int, window: str) -> tuple[int, int]:
    if window in ("1m", "15m", "1h"):
        size = {"1m": MIN, "15m": 15 * MIN, "1h": 60 * MIN}[window]
        return ts // size * size, ts // size * size + size
    d = local_day(ts)
    if window in ("1d", "day"):
        return local_midnight(d), local_midnight(d + timedelta(days=1))
    first = d.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return local_midnight(first), local_midnight(nxt)


# --- which events the stream applies -----------------------------------------------------


@dataclass
class Applied:
    """Per partition: events applied (with their log index) and the final watermark."""

    events: list[tuple[int, Event]]
    final_wm: int | None
    first_wm: int | None
    drop_index: dict[int, int]
    """For a day/month end E: index of the first record whose watermark reached E + lateness."""
    watermarks: list[int | None] = field(default_factory=list)
    """The watermark before each record, then the final one."""


def applied(log: list[tuple[str, Any]], lateness_ms: int, dossier: bool) -> Applied:
    seen: set[str] = set()
    top: int | None = None
    first_wm: int | None = None
    out: list[tuple[int, Event]] = []
    wms: list[int | None] = []
    for index, (kind, item) in enumerate(log):
        wm = None if top is None else top - lateness_ms
        wms.append(wm)
        if kind == "tick":
            t = int(item)
        else:
            event: Event = item
            t = ms(event.event_time)
            eid = str(event.event_id)
            if eid in seen:
                continue
            minute_end = t // MIN * MIN + MIN
            late = wm is not None and wm >= minute_end + lateness_ms
            if late and not dossier:
                continue
            seen.add(eid)
            out.append((index, event))
        top = t if top is None else max(top, t)
        if first_wm is None:
            first_wm = top - lateness_ms
    final_wm = None if top is None else top - lateness_ms
    wms.append(final_wm)

    def first_index_at(level: int) -> int:
        for i, w in enumerate(wms):
            if w is not None and w >= level:
                return i
        return len(log) + 1

    return Applied(out, final_wm, first_wm, _Lazy(first_index_at, lateness_ms), wms)  # type: ignore[arg-type]


class _Lazy(dict):  # type: ignore[type-arg]
    def __init__(self, fn: Any, lateness_ms: int) -> None:
        super().__init__()
        self.fn, self.lateness_ms = fn, lateness_ms

    def __missing__(self, end: int) -> int:
        self[end] = self.fn(end + self.lateness_ms)
        return self[end]


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
        sxv = math.fsum(e.average_speed_kmh * e.intensity for e in evs)
        ffxv = math.fsum(ff * e.intensity for e in evs) if ff is not None else 0.0
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
            "free_flow_x_vehicles": ffxv,
            "occupancy_sum": math.fsum(e.occupancy for e in evs),
            "period_s_sum": sum(e.period_s for e in evs),
            "congested_observations": sum(1 for e in evs if e.congested),
            "speed_min_kmh": min(e.average_speed_kmh for e in evs),
            "speed_max_kmh": max(e.average_speed_kmh for e in evs),
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
            "mean_speed_kmh": sxv / vehicles if vehicles else None,
            "mean_occupancy": parts["occupancy_sum"] / len(evs),
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


def energy(applied_events: list[tuple[int, Event]], profile: Profile) -> list[Expected]:
    meters = {m.meter_id: m for m in profile.meters}
    members: dict[str, set[str]] = defaultdict(set)
    for m in profile.meters:
        members[m.feeder_id].add(m.meter_id)
    floor = profile.rules.register_reset_max_kwh
    by_meter: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
    for index, e in applied_events:
        assert isinstance(e, EnergyReading)
        by_meter[e.meter_id].append((ms(e.measured_at), index, e.energy_kwh_total))
    deltas: dict[tuple[str, int], list[tuple[float, str]]] = defaultdict(list)
    for meter, readings in by_meter.items():
        info = meters.get(meter)
        register_max = info.register_max_kwh if info else 999_999.9
        for ts, kwh, step in register_deltas(readings, register_max, floor):
            deltas[(meter, ts)].append((kwh, step))
    groups: dict[tuple[str, str, str, str, int, int], list[EnergyReading]] = defaultdict(list)
    for _, e in applied_events:
        assert isinstance(e, EnergyReading)
        for w, start, end in _windows(ms(e.measured_at)):
            groups[("meter", e.meter_id, e.feeder_id, w, start, end)].append(e)
            groups[("feeder", e.feeder_id, e.feeder_id, w, start, end)].append(e)
    out = []
    for (kind, entity, group, w, start, end), evs in groups.items():
        steps = [d for e in evs for d in deltas[(e.meter_id, ms(e.measured_at))][:1]]
        volts = [v for e in evs for v in e.voltage_v.values()]
        freqs = [abs(e.frequency_hz - 50.0) for e in evs if e.frequency_hz is not None]
        outside = 0
        for e in evs:
            info = meters.get(e.meter_id)
            nominal, period = (info.nominal_voltage_v, info.period_s) if info else (220.0, 60)
            if any(v < 0.9 * nominal or v > 1.1 * nominal for v in e.voltage_v.values()):
                outside += period
        if kind == "feeder":
            reporting, expected = len({e.meter_id for e in evs}), len(members.get(entity, ()))
        else:
            reporting, expected = 1, int(entity in members.get(group, ()))
        parts = {
            "readings": len(evs),
            "energy_kwh": math.fsum(k for k, _ in steps),
            "power_kw_sum": math.fsum(e.active_power_kw for e in evs),
            "power_kw_max": max(e.active_power_kw for e in evs),
            "voltage_sum": math.fsum(volts),
            "voltage_samples": len(volts),
            "voltage_min_v": min(volts),
            "voltage_max_v": max(volts),
            "seconds_outside_voltage": float(outside),
            "frequency_dev_abs_sum": math.fsum(freqs),
            "frequency_samples": len(freqs),
            "register_resets": sum(1 for _, s in steps if s == "reset"),
            "register_rollovers": sum(1 for _, s in steps if s == "rollover"),
            "meters_reporting": reporting,
            "meters_expected": expected,
        }
        rates = {
            "power_kw_mean": parts["power_kw_sum"] / len(evs),
            "voltage_mean_v": parts["voltage_sum"] / len(volts),
            "frequency_dev_mean_hz": parts["frequency_dev_abs_sum"] / len(freqs) if freqs else None,
        }
        out.append(Expected("energy", kind, entity, group, w, start, end, parts, rates))
    return out


def qr(applied_events: list[Event]) -> list[Expected]:
    groups: dict[tuple[str, int, int, str], list[QrScan]] = defaultdict(list)
    for e in applied_events:
        assert isinstance(e, QrScan)
        for w, start, end in _windows(ms(e.scanned_at)):
            groups[(e.checkpoint_id, start, end, w)].append(e)
    out = []
    for (cp, start, end, w), evs in groups.items():
        parts = {
            "scans": len(evs),
            "scans_in": sum(1 for e in evs if e.direction == "in"),
            "scans_out": sum(1 for e in evs if e.direction == "out"),
            "persons": sum(1 for e in evs if e.subject_kind == "person"),
            "vehicles": sum(1 for e in evs if e.subject_kind == "vehicle"),
            "not_green": sum(1 for e in evs if e.declaration_status != "green"),
            "distinct_subjects": len({e.subject_hash for e in evs}),
        }
        rates = {
            "net_flow": float(parts["scans_in"] - parts["scans_out"]),
            "share_not_green": parts["not_green"] / len(evs),
        }
        out.append(Expected("qr", "checkpoint", cp, cp, w, start, end, parts, rates))
    return out


# --- dossiers -------------------------------------------------------------------------

OPEN = {"received", "processing", "supplement_requested", "payment_requested"}


def dossier_period(
    changes: list[DossierStatusChange], start: int, end: int
) -> tuple[dict[str, int], float]:
    """One dossier's counts for [start, end), per docs/architecture.md, "Dossier definitions"."""
    c = dict.fromkeys(
        ("received", "received_online", "finished", "finished_late", "open_at_end",
         "open_late_at_end", "paid_online", "digitized", "excluded"), 0,
    )  # fmt: skip
    by_outbox = sorted(changes, key=lambda x: x.outbox_id)
    receipt = next((x for x in by_outbox if x.received_at is not None), None)
    before_end = [x for x in by_outbox if ms(x.changed_at) < end]
    latest = before_end[-1] if before_end else None
    if receipt is not None and start <= ms(receipt.received_at) < end:  # type: ignore[arg-type]
        c["received"] = 1
        c["received_online"] = int(receipt.channel == "online")
        c["digitized"] = int(latest is not None and latest.digitized)
    finishing = sorted(
        (x for x in changes if x.status in ("completed", "result_returned")),
        key=lambda x: (x.changed_at, x.outbox_id),
    )
    hours = 0.0
    if finishing and start <= ms(finishing[0].changed_at) < end:
        f = finishing[0]
        c["finished"] = 1
        c["finished_late"] = int(f.due_at is not None and f.changed_at > f.due_at)
        c["paid_online"] = int(f.paid_online)
        if receipt is not None:
            hours = max(0, ms(f.changed_at) - ms(receipt.received_at)) / 3_600_000  # type: ignore[arg-type]
    excluded = sorted(
        (x for x in changes if x.status in ("withdrawn", "rejected")),
        key=lambda x: (x.changed_at, x.outbox_id),
    )
    if excluded and start <= ms(excluded[0].changed_at) < end:
        c["excluded"] = 1
    if latest is not None and latest.status in OPEN:
        c["open_at_end"] = 1
        c["open_late_at_end"] = int(latest.due_at is not None and ms(latest.due_at) < end)
    return c, hours


def agency_period(changes: list[DossierStatusChange], start: int, end: int) -> dict[str, Any]:
    by_dossier: dict[str, list[DossierStatusChange]] = defaultdict(list)
    for x in changes:
        by_dossier[x.dossier_id].append(x)
    total: dict[str, Any] = defaultdict(int)
    hours = []
    for dossier_changes in by_dossier.values():
        counts, h = dossier_period(dossier_changes, start, end)
        for k, v in counts.items():
            total[k] += v
        if counts["finished"]:
            hours.append(h)
    total["processing_hours_sum"] = math.fsum(hours)
    return dict(total)


MAX_CATCH_UP_DAYS = 62
"""One watermark step closes at most this many days: the earlier ones are not emitted
(a partition silent for months does not emit a row per agency per day on waking up)."""


def skipped_midnights(watermarks: list[int | None]) -> set[int]:
    """Midnights closed by a step that closed more than MAX_CATCH_UP_DAYS, beyond the last."""
    skipped: set[int] = set()
    for before, after in itertools.pairwise(watermarks):
        if before is None or after is None or after <= before:
            continue
        midnights = []
        d = local_day(before) + timedelta(days=1)
        while local_midnight(d) <= after:
            midnights.append(local_midnight(d))
            d += timedelta(days=1)
        skipped.update(midnights[:-MAX_CATCH_UP_DAYS])
    return skipped


def dossiers(ap: Applied, lateness_ms: int) -> list[Expected]:
    """Closed days, and months to date, per agency (see the module docs of streams.kpi.dossier)."""
    if ap.final_wm is None or ap.first_wm is None:
        return []
    agencies: dict[str, list[tuple[int, DossierStatusChange]]] = defaultdict(list)
    for index, e in ap.events:
        assert isinstance(e, DossierStatusChange)
        agencies[e.agency_code].append((index, e))
    out = []
    closed_days = []
    d = local_day(ap.first_wm)
    while local_midnight(d + timedelta(days=1)) <= ap.final_wm:
        closed_days.append(d)
        d += timedelta(days=1)
    skipped = skipped_midnights(ap.watermarks)
    months: dict[tuple[int, int], int] = {}
    for d in closed_days:
        end = local_midnight(d + timedelta(days=1))
        if end not in skipped:  # as of the last closed day of the month
            months[bounds(end - 1, "month")] = end
    for agency, indexed in agencies.items():
        for d in closed_days:
            start, end = local_midnight(d), local_midnight(d + timedelta(days=1))
            if end in skipped:
                continue
            cut = ap.drop_index[end]  # changes logged before the day was dropped
            parts = agency_period([e for i, e in indexed if i < cut], start, end)
            if any(parts.values()):
                out.append(_dossier_expected(agency, "day", start, end, parts))
        for (m_start, m_end), as_of in months.items():
            cut = ap.drop_index[m_end]
            parts = agency_period([e for i, e in indexed if i < cut], m_start, as_of)
            if any(parts.values()):
                out.append(_dossier_expected(agency, "month", m_start, m_end, parts))
    return out


def _dossier_expected(agency: str, w: str, start: int, end: int, parts: dict[str, Any]) -> Expected:
    base = parts["finished"] + parts["open_at_end"]
    rates = {
        "on_time_rate": 1 - (parts["finished_late"] + parts["open_late_at_end"]) / base
        if base
        else None,
        "online_receipt_rate": parts["received_online"] / parts["received"]
        if parts["received"]
        else None,
        "mean_processing_hours": parts["processing_hours_sum"] / parts["finished"]
        if parts["finished"]
        else None,
    }
    return Expected("dossier", "agency", agency, agency, w, start, end, parts, rates)


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
            rows = energy(ap.events, profile)
        elif domain == "qr":
            rows = qr(events)
        else:
            rows = dossiers(ap, lateness_ms)
        if domain != "dossier":
            rows = [r for r in rows if ap.final_wm is not None and r.end_ms <= ap.final_wm]
        found += rows
    return {r.key: r for r in found}
