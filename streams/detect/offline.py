"""A small offline aggregation: events → the closed windows detection reads.

``ioc backtest --events`` and ``ioc quality`` need KPI windows without Kafka. The
stream's own engine (:mod:`streams.engine`) computes every window size with full
records and changelog bookkeeping at ~240 µs an event here — 35 minutes for the three
simulated weeks of ``ioc quality``. This computes only the parts
:func:`~streams.detect.observations.metrics_of` reads, for the windows that feed
detection, in event time with the same watermark rule (max event time − lateness;
events behind it are late and not applied).

Dossier days are the stream's own: the same status changes, the same definitions
(:mod:`streams.kpi.dossier_facts`, computed when the watermark passes midnight) and the
same days — every agency that has dossiers, whether it had a change that day or not
(a weekend's overdue backlog is a point too), none with empty parts. As in the stream,
a status change is a fact: applied even behind the watermark.
tests/unit/streams/detect/test_offline_matches_engine.py checks that every path feeds
the detectors what the stream's engine feeds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.base import Event
from schemas.events import DossierStatusChange, EnergyReading, QrScan, TrafficObservation
from schemas.province.profile import Profile
from schemas.results import WindowSize
from schemas.timeutil import to_ms
from streams.kpi import dossier_facts as facts
from streams.windows import DAY_MS, window_bounds

MINUTE_MS = 60_000
QUARTER_MS = 15 * MINUTE_MS
DOSSIER_RETENTION_MS = 45 * DAY_MS
"""The stream's default (``KpiContext.dossier_retention_ms``)."""
Changes = list[facts.Change]


@dataclass(frozen=True)
class OfflineTopology:
    """What the aggregation needs from the profile: free-flow speeds, expected members."""

    free_flow_kmh: dict[str, float] = field(default_factory=dict)
    meters_per_feeder: dict[str, int] = field(default_factory=dict)
    area: dict[str, str] = field(default_factory=dict)
    timezone: str = "Asia/Ho_Chi_Minh"

    @classmethod
    def from_profile(cls, profile: Profile) -> OfflineTopology:
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


class OfflineKpis:
    """Feed events in (roughly) event-time order; get closed windows back."""

    def __init__(
        self,
        topology: OfflineTopology,
        *,
        lateness_ms: int = 120_000,
        dossier_retention_ms: int = DOSSIER_RETENTION_MS,
    ) -> None:
        self.topology = topology
        self.lateness_ms = lateness_ms
        self.dossier_retention_ms = dossier_retention_ms
        self.watermark_ms = 0
        self.late = 0
        self.last_seen_ms: dict[str, int] = {}
        self._windows: dict[tuple[str, str, int], Window] = {}
        self._ends: dict[int, list[Window]] = {}
        self._dossiers: dict[str, dict[str, Changes]] = {}
        """Per agency, the status changes of each dossier that can still count in a day."""
        self._done: dict[str, dict[str, Changes]] = {}
        """Per agency, finished dossiers that count in no day to come (kept until forgotten)."""
        self._applied = 0
        """Status changes applied so far: the as-of offset of the dossier definitions."""
        self._midnight: int | None = None
        """End of the local day the dossier days have reached (None before a change)."""
        self._newest_ms = 0

    def _window(
        self, domain: str, kind: str, entity: str, group: str, size: WindowSize, ts: int
    ) -> Window:
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

    def _day(self, ts: int) -> tuple[int, int]:
        return window_bounds(ts, WindowSize.DAY, self.topology.timezone)

    # --- events -----------------------------------------------------------------

    def add(self, event: Event) -> list[Window]:
        """Apply one event; returns the windows its watermark advance closed."""
        ts = to_ms(event.event_time)
        self._newest_ms = max(self._newest_ms, ts)
        if ts < self.watermark_ms:
            self.late += 1
            if not isinstance(event, DossierStatusChange):
                return []  # a status change is a fact: the backlog of days to come needs it
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
        if self._midnight is None:  # days close from the first watermark's, as the stream's
            self._midnight = self._day(max(self.watermark_ms, ts - self.lateness_ms))[1]
        active = self._dossiers.setdefault(e.agency_code, {})
        done = self._done.setdefault(e.agency_code, {})
        changes = active.get(e.dossier_id)
        if changes is None:
            changes = active[e.dossier_id] = done.pop(e.dossier_id, [])
        if all(c.outbox_id != e.outbox_id for c in changes):  # a redelivered change: once
            self._applied += 1
            changes.append(facts.Change.of(e, self._applied))

    def _dossier_days(self, watermark_ms: int) -> list[Window]:
        # Every day the watermark closed, for every agency (the stream's DossierLogic.advance).
        if self._midnight is None:
            return []
        midnights: list[int] = []
        while self._midnight <= watermark_ms:
            midnights.append(self._midnight)
            self._midnight = self._day(self._midnight)[1]
        out: list[Window] = []
        for end in midnights[-facts.MAX_CATCH_UP_DAYS :]:  # a longer gap: its last days only
            start = self._day(end - 1)[0]
            for agency in sorted(self._dossiers):
                active = self._dossiers[agency]
                dossiers = list(active.values())
                parts = facts.agency_parts(dossiers, start, end, self._applied)
                if not facts.is_empty(parts):
                    w = Window("dossier", "agency", agency, agency, WindowSize.DAY, start, end)
                    w.parts.finished = parts["finished"]
                    w.parts.finished_late = parts["finished_late"]
                    w.parts.open_at_end = parts["open_at_end"]
                    w.parts.open_late_at_end = parts["open_late_at_end"]
                    out.append(w)
                self._retire(agency, end, watermark_ms)
        return out

    def _retire(self, agency: str, end: int, watermark_ms: int) -> None:
        # A finished dossier whose every time is before ``end`` counts in no later day
        # (not open, received, finished nor excluded there): out of the daily sums, kept
        # for a change that may still come (a late duplicate finish), then forgotten.
        active, done = self._dossiers[agency], self._done[agency]
        for dossier, changes in list(active.items()):
            if facts.terminal_ms(changes) is not None and all(
                c.changed_ms < end and (c.received_ms is None or c.received_ms < end)
                for c in changes
            ):
                done[dossier] = active.pop(dossier)
        zone = self.topology.timezone
        for dossier, changes in list(done.items()):
            at = facts.forget_at(changes, zone, self.lateness_ms, self.dossier_retention_ms)
            if at is not None and watermark_ms >= at:
                del done[dossier]

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
        return done + self._dossier_days(watermark_ms)

    def close_all(self) -> list[Window]:
        """Close everything still open, dossier days up to the newest event's (end of a run)."""
        last = max(self._ends, default=self.watermark_ms)
        if self._midnight is not None:
            last = max(last, self._day(self._newest_ms)[1])
        return self.advance(last)

    def _finish(self, w: Window) -> None:
        if w.kind == "feeder":
            w.parts.meters_reporting = len(w.members)
            w.parts.meters_expected = self.topology.meters_per_feeder.get(w.entity, len(w.members))
