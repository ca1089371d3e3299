"""A small offline aggregation: events → the closed windows detection reads.

``ioc backtest --events`` and ``ioc quality`` need KPI windows without Kafka. The
stream's own engine (:mod:`streams.engine`) computes every window size with full
records and changelog bookkeeping at ~240 µs an event here — 35 minutes for the three
simulated weeks of ``ioc quality``. This computes only the parts
:func:`~streams.detect.observations.metrics_of` reads, for the windows that feed
detection, in event time with the same watermark rule (max event time − lateness;
events behind it are late and not applied). Dossier days follow the definitions of
docs/architecture.md ("Dossier definitions"): open at the day's end and past due.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from schemas.base import Event
from schemas.events import (
    EXCLUDED_STATUSES,
    FINISHED_STATUSES,
    DossierStatus,
    DossierStatusChange,
    EnergyReading,
    QrScan,
    TrafficObservation,
)
from schemas.province.profile import Profile
from schemas.results import WindowSize
from schemas.timeutil import to_ms

MINUTE_MS = 60_000
QUARTER_MS = 15 * MINUTE_MS
_GONE = FINISHED_STATUSES | EXCLUDED_STATUSES | {DossierStatus.TRANSFERRED_OUT}


@dataclass(frozen=True)
class Topology:
    """What the aggregation needs from the profile: free-flow speeds, expected members."""

    free_flow_kmh: dict[str, float] = field(default_factory=dict)
    meters_per_feeder: dict[str, int] = field(default_factory=dict)
    area: dict[str, str] = field(default_factory=dict)
    timezone: str = "Asia/Ho_Chi_Minh"

    @classmethod
    def from_profile(cls, profile: Profile) -> Topology:
        """The profile's segments, feeders and areas."""
        meters: dict[str, int] = {}
        for meter in profile.meters:
            meters[meter.feeder_id] = meters.get(meter.feeder_id, 0) + 1
        area = {
            profile.id_of(kind, e): profile.area_of(kind, profile.id_of(kind, e))
            for kind in ("segment", "sensor", "feeder", "meter", "checkpoint", "agency")
            for e in profile.entities(kind)
        }
        return cls(
            free_flow_kmh={s.segment_id: s.free_flow_kmh for s in profile.segments},
            meters_per_feeder=meters,
            area=area,
            timezone=profile.timezone,
        )


@dataclass(slots=True)
class Parts:
    """The parts detection reads, under the contract's names (see ``metrics_of``)."""

    vehicles: int = 0
    speed_vehicles: int = 0
    speed_x_vehicles: float = 0.0
    free_flow_x_vehicles: float = 0.0
    readings: int = 0
    power_samples: int = 0
    power_kw_sum: float = 0.0
    voltage_min_v: float | None = None
    voltage_max_v: float | None = None
    meters_reporting: int = 0
    meters_expected: int = 0
    scans_in: int = 0
    finished: int = 0
    finished_late: int = 0
    open_at_end: int = 0
    open_late_at_end: int = 0


@dataclass(slots=True)
class Window:
    """One closed (or still open) window of one entity."""

    domain: str
    kind: str
    entity: str
    group: str
    size: WindowSize
    start_ms: int
    end_ms: int
    parts: Parts = field(default_factory=Parts)
    members: set[str] = field(default_factory=set)
    open_due: list[int | None] | None = None
    """An agency's open dossiers (their due times) as its day ended."""


class OfflineKpis:
    """Feed events in (roughly) event-time order; get closed windows back."""

    def __init__(self, topology: Topology, *, lateness_ms: int = 120_000) -> None:
        self.topology = topology
        self.lateness_ms = lateness_ms
        self.watermark_ms = 0
        self.late = 0
        self.last_seen_ms: dict[str, int] = {}
        self._windows: dict[tuple[str, str, int], Window] = {}
        self._ends: dict[int, list[Window]] = {}
        self._open: dict[str, dict[str, int | None]] = {}
        """Open dossiers per agency: dossier id → due time."""
        self._day: dict[str, Window] = {}
        self._zone = ZoneInfo(topology.timezone)

    def _window(
        self, domain: str, kind: str, entity: str, group: str, size: WindowSize, ts: int
    ) -> Window:
        if size is WindowSize.DAY:
            start, end = self._local_day(ts)
        else:
            length = MINUTE_MS if size is WindowSize.M1 else QUARTER_MS
            start = ts - ts % length
            end = start + length
        key = (kind, entity, start)
        window = self._windows.get(key)
        if window is None:
            window = Window(domain, kind, entity, group, size, start, end)
            self._windows[key] = window
            self._ends.setdefault(end, []).append(window)
        return window

    def _local_day(self, ts: int) -> tuple[int, int]:
        local = datetime.fromtimestamp(ts / 1000, self._zone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        following = (midnight + timedelta(days=1)).replace(tzinfo=self._zone)
        return to_ms(midnight), to_ms(following)

    # --- events -----------------------------------------------------------------

    def add(self, event: Event) -> list[Window]:
        """Apply one event; returns the windows its watermark advance closed."""
        ts = to_ms(event.event_time)
        if ts < self.watermark_ms:
            self.late += 1
            return []
        if isinstance(event, TrafficObservation):
            self._traffic(event, ts)
        elif isinstance(event, EnergyReading):
            self._energy(event, ts)
        elif isinstance(event, QrScan):
            self._qr(event, ts)
        elif isinstance(event, DossierStatusChange):
            self._dossier(event, ts)
        return self.advance(ts - self.lateness_ms)

    def _seen(self, key: str, ts: int) -> None:
        if ts > self.last_seen_ms.get(key, -1):
            self.last_seen_ms[key] = ts

    def _traffic(self, e: TrafficObservation, ts: int) -> None:
        self._seen(f"sensor|{e.sensor_id}", ts)
        free_flow = self.topology.free_flow_kmh.get(e.segment_id, 0.0)
        for kind, entity in (("sensor", e.sensor_id), ("segment", e.segment_id)):
            p = self._window("traffic", kind, entity, e.segment_id, WindowSize.M1, ts).parts
            p.vehicles += e.intensity
            if e.average_speed_kmh is not None:
                p.speed_vehicles += e.intensity
                p.speed_x_vehicles += e.average_speed_kmh * e.intensity
                p.free_flow_x_vehicles += free_flow * e.intensity

    def _energy(self, e: EnergyReading, ts: int) -> None:
        self._seen(f"meter|{e.meter_id}", ts)
        volts = e.voltage_v.values() if e.voltage_v is not None else []
        for kind, entity in (("meter", e.meter_id), ("feeder", e.feeder_id)):
            w = self._window("energy", kind, entity, e.feeder_id, WindowSize.M1, ts)
            p = w.parts
            p.readings += 1
            if e.active_power_kw is not None:
                p.power_samples += 1
                p.power_kw_sum += e.active_power_kw
            if volts:
                low, high = min(volts), max(volts)
                p.voltage_min_v = low if p.voltage_min_v is None else min(p.voltage_min_v, low)
                p.voltage_max_v = high if p.voltage_max_v is None else max(p.voltage_max_v, high)
            w.members.add(e.meter_id)

    def _qr(self, e: QrScan, ts: int) -> None:
        w = self._window("qr", "checkpoint", e.checkpoint_id, e.checkpoint_id, WindowSize.M15, ts)
        if e.direction == "in":
            w.parts.scans_in += 1

    def _dossier(self, e: DossierStatusChange, ts: int) -> None:
        still_open = self._open.setdefault(e.agency_code, {})
        previous = self._day.get(e.agency_code)
        if previous is not None and previous.open_due is None and ts >= previous.end_ms:
            # The first event of a later day: what is open now was open at midnight.
            previous.open_due = list(still_open.values())
        w = self._window("dossier", "agency", e.agency_code, e.agency_code, WindowSize.DAY, ts)
        self._day[e.agency_code] = w
        due = to_ms(e.due_at) if e.due_at else None
        if e.status in FINISHED_STATUSES and e.dossier_id not in w.members:
            w.members.add(e.dossier_id)  # completed and result_returned: finished once
            w.parts.finished += 1
            w.parts.finished_late += due is not None and ts > due
        if e.status in _GONE:
            still_open.pop(e.dossier_id, None)  # finished, excluded, or another agency's now
        else:
            still_open[e.dossier_id] = due

    # --- closing ----------------------------------------------------------------

    def advance(self, watermark_ms: int) -> list[Window]:
        """Move the watermark (never back) and close every window it passed."""
        if watermark_ms <= self.watermark_ms:
            return []
        self.watermark_ms = watermark_ms
        done: list[Window] = []
        for end in sorted(end for end in self._ends if end <= watermark_ms):
            batch = sorted(self._ends.pop(end), key=lambda w: (w.kind, w.entity))
            for w in batch:
                del self._windows[(w.kind, w.entity, w.start_ms)]
                self._finish(w)
            done.extend(batch)
        return done

    def close_all(self) -> list[Window]:
        """Close everything still open (the end of an offline run)."""
        return self.advance(max(self._ends, default=self.watermark_ms))

    def _finish(self, w: Window) -> None:
        if w.kind == "feeder":
            w.parts.meters_reporting = len(w.members)
            w.parts.meters_expected = self.topology.meters_per_feeder.get(w.entity, len(w.members))
        elif w.kind == "agency":
            dues = w.open_due if w.open_due is not None else list(self._open[w.entity].values())
            w.parts.open_at_end = len(dues)
            w.parts.open_late_at_end = sum(1 for d in dues if d is not None and d < w.end_ms)
