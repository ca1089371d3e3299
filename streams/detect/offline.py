"""A small offline aggregation: events → the closed KPI windows detection reads.

``ioc backtest --events`` and ``ioc quality`` need KPI windows without Kafka or
faust. This computes exactly the parts :func:`observations_from_kpi` reads — per
entity and per group, 1-minute traffic and energy windows, 15-minute check-point
windows, the local calendar day of an agency — in event time, with a watermark
(max event time − lateness) that closes windows as the stream's does. Events
behind the watermark are counted as late and not applied, as in the stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from schemas.events import (
    EXCLUDED_STATUSES,
    FINISHED_STATUSES,
    DossierStatusChange,
    EnergyReading,
    QrScan,
    TrafficObservation,
)
from schemas.profile import Profile
from schemas.results import (
    Domain,
    DossierParts,
    EnergyParts,
    KpiRecord,
    QrParts,
    TrafficParts,
    WindowSize,
)
from schemas.timeutil import from_ms, to_ms

MINUTE_MS = 60_000
QUARTER_MS = 15 * MINUTE_MS
Event = TrafficObservation | EnergyReading | QrScan | DossierStatusChange


@dataclass(frozen=True)
class Topology:
    """What the aggregation needs from the profile: free-flow speeds, expected members."""

    free_flow_kmh: dict[str, float] = field(default_factory=dict)
    sensors_per_segment: dict[str, int] = field(default_factory=dict)
    meters_per_feeder: dict[str, int] = field(default_factory=dict)
    area: dict[str, str] = field(default_factory=dict)
    timezone: str = "Asia/Ho_Chi_Minh"

    @classmethod
    def from_profile(cls, profile: Profile) -> Topology:
        """The profile's segments, feeders and areas."""
        sensors: dict[str, int] = {}
        for sensor in profile.sensors:
            sensors[sensor.segment_id] = sensors.get(sensor.segment_id, 0) + 1
        meters: dict[str, int] = {}
        for meter in profile.meters:
            meters[meter.feeder_id] = meters.get(meter.feeder_id, 0) + 1
        area = {s.segment_id: s.area_code for s in profile.segments}
        area |= {s.sensor_id: profile.area_of("sensor", s.sensor_id) for s in profile.sensors}
        for kind in ("feeder", "meter", "checkpoint", "agency"):
            for entity in profile.entities(kind):
                area[profile.id_of(kind, entity)] = str(entity.area_code)  # type: ignore[union-attr]
        return cls(
            free_flow_kmh={s.segment_id: s.free_flow_kmh for s in profile.segments},
            sensors_per_segment=sensors,
            meters_per_feeder=meters,
            area=area,
            timezone=profile.timezone,
        )


@dataclass
class _Window:
    domain: Domain
    kind: str
    entity: str
    group: str
    size: WindowSize
    start_ms: int
    end_ms: int
    sums: dict[str, float] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)
    vmin: float | None = None
    vmax: float | None = None
    open_due: list[int | None] | None = None
    """An agency's open dossiers (their due times) as the day ended."""

    def add(self, name: str, value: float) -> None:
        self.sums[name] = self.sums.get(name, 0.0) + value


class OfflineKpis:
    """Feed events in (roughly) event-time order; get closed windows back."""

    def __init__(self, topology: Topology, *, lateness_ms: int = 120_000) -> None:
        self.topology = topology
        self.lateness_ms = lateness_ms
        self.watermark_ms = 0
        self.late = 0
        self.last_seen_ms: dict[str, int] = {}
        self._windows: dict[tuple[str, str, int], _Window] = {}
        self._ends: dict[int, list[_Window]] = {}
        self._open: dict[str, dict[str, int | None]] = {}
        """Open dossiers per agency: dossier id → due time."""
        self._day: dict[str, _Window] = {}
        self._zone = ZoneInfo(topology.timezone)

    # --- windows ----------------------------------------------------------------

    def _window(
        self, domain: Domain, kind: str, entity: str, group: str, size: WindowSize, ts: int
    ) -> _Window:
        if size is WindowSize.DAY:
            start, end = self._local_day(ts)
        else:
            length = MINUTE_MS if size is WindowSize.M1 else QUARTER_MS
            start = ts - ts % length
            end = start + length
        key = (kind, entity, start)
        window = self._windows.get(key)
        if window is None:
            window = _Window(domain, kind, entity, group, size, start, end)
            self._windows[key] = window
            self._ends.setdefault(end, []).append(window)
        return window

    def _local_day(self, ts: int) -> tuple[int, int]:
        local = datetime.fromtimestamp(ts / 1000, self._zone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        # Asia/Ho_Chi_Minh has no DST, but a profile may: add a calendar day locally.
        following = (midnight + timedelta(days=1)).replace(tzinfo=self._zone)
        return to_ms(midnight), to_ms(following)

    # --- events -----------------------------------------------------------------

    def add(self, event: Event) -> list[KpiRecord]:
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
        else:
            self._dossier(event, ts)
        return self.advance(ts - self.lateness_ms)

    def _traffic(self, e: TrafficObservation, ts: int) -> None:
        self.last_seen_ms[f"sensor|{e.sensor_id}"] = max(
            ts, self.last_seen_ms.get(f"sensor|{e.sensor_id}", ts)
        )
        free_flow = self.topology.free_flow_kmh.get(e.segment_id, 0.0)
        for kind, entity in (("sensor", e.sensor_id), ("segment", e.segment_id)):
            w = self._window(Domain.TRAFFIC, kind, entity, e.segment_id, WindowSize.M1, ts)
            w.add("observations", 1)
            w.add("vehicles", e.intensity)
            w.add("speed_x", e.average_speed_kmh * e.intensity)
            w.add("free_x", free_flow * e.intensity)
            w.add("occupancy", e.occupancy)
            w.add("period", e.period_s)
            w.members.add(e.sensor_id)

    def _energy(self, e: EnergyReading, ts: int) -> None:
        self.last_seen_ms[f"meter|{e.meter_id}"] = max(
            ts, self.last_seen_ms.get(f"meter|{e.meter_id}", ts)
        )
        volts = e.voltage_v.values()
        for kind, entity in (("meter", e.meter_id), ("feeder", e.feeder_id)):
            w = self._window(Domain.ENERGY, kind, entity, e.feeder_id, WindowSize.M1, ts)
            w.add("readings", 1)
            w.add("power", e.active_power_kw)
            w.add("voltage", sum(volts))
            w.add("voltage_samples", len(volts))
            low, high = min(volts), max(volts)
            w.vmin = low if w.vmin is None else min(w.vmin, low)
            w.vmax = high if w.vmax is None else max(w.vmax, high)
            w.members.add(e.meter_id)

    def _qr(self, e: QrScan, ts: int) -> None:
        w = self._window(
            Domain.QR, "checkpoint", e.checkpoint_id, e.checkpoint_id, WindowSize.M15, ts
        )
        w.add("scans", 1)
        w.add("in" if e.direction == "in" else "out", 1)
        w.add("persons" if e.subject_kind == "person" else "vehicles", 1)
        w.add("not_green", e.declaration_status != "green")
        w.members.add(e.subject_hash)

    def _dossier(self, e: DossierStatusChange, ts: int) -> None:
        still_open = self._open.setdefault(e.agency_code, {})
        previous = self._day.get(e.agency_code)
        if previous is not None and previous.open_due is None and ts >= previous.end_ms:
            # The first event of a later day: what is open now was open at midnight.
            previous.open_due = list(still_open.values())
        w = self._window(Domain.DOSSIER, "agency", e.agency_code, e.agency_code, WindowSize.DAY, ts)
        due = to_ms(e.due_at) if e.due_at else None
        if e.status in FINISHED_STATUSES:
            w.add("finished", 1)
            w.add("finished_late", due is not None and ts > due)
        elif e.status in EXCLUDED_STATUSES:
            w.add("excluded", 1)
        elif e.status == "received":
            w.add("received", 1)
            w.add("received_online", e.channel == "online")
        self._day[e.agency_code] = w
        if e.status in FINISHED_STATUSES or e.status in EXCLUDED_STATUSES:
            still_open.pop(e.dossier_id, None)
        elif e.status == "transferred_out":
            still_open.pop(e.dossier_id, None)  # it is the new agency's from now on
        else:
            still_open[e.dossier_id] = due

    # --- closing ----------------------------------------------------------------

    def advance(self, watermark_ms: int) -> list[KpiRecord]:
        """Move the watermark (never back) and close every window it passed."""
        if watermark_ms <= self.watermark_ms:
            return []
        self.watermark_ms = watermark_ms
        ends = sorted(end for end in self._ends if end <= watermark_ms)
        done: list[_Window] = []
        for end in ends:
            batch = sorted(self._ends.pop(end), key=lambda w: (w.kind, w.entity))
            for w in batch:
                del self._windows[(w.kind, w.entity, w.start_ms)]
            done.extend(batch)
        return [self._record(w) for w in done]

    def close_all(self) -> list[KpiRecord]:
        """Close everything still open (the end of an offline run)."""
        last = max((w.end_ms for w in self._windows.values()), default=self.watermark_ms)
        return self.advance(last)

    def _record(self, w: _Window) -> KpiRecord:
        s = w.sums.get
        parts: Any
        if w.domain is Domain.TRAFFIC:
            parts = TrafficParts.model_construct(
                observations=int(s("observations", 0)),
                vehicles=int(s("vehicles", 0)),
                speed_x_vehicles=s("speed_x", 0.0),
                free_flow_x_vehicles=s("free_x", 0.0),
                occupancy_sum=s("occupancy", 0.0),
                period_s_sum=int(s("period", 0)),
                sensors_reporting=len(w.members),
                sensors_expected=(
                    self.topology.sensors_per_segment.get(w.entity, len(w.members))
                    if w.kind == "segment"
                    else 1
                ),
            )
        elif w.domain is Domain.ENERGY:
            parts = EnergyParts.model_construct(
                readings=int(s("readings", 0)),
                energy_kwh=0.0,
                power_kw_sum=s("power", 0.0),
                voltage_sum=s("voltage", 0.0),
                voltage_samples=int(s("voltage_samples", 0)),
                voltage_min_v=w.vmin,
                voltage_max_v=w.vmax,
                seconds_outside_voltage=0.0,
                frequency_dev_abs_sum=0.0,
                frequency_samples=0,
                meters_reporting=len(w.members),
                meters_expected=(
                    self.topology.meters_per_feeder.get(w.entity, len(w.members))
                    if w.kind == "feeder"
                    else 1
                ),
            )
        elif w.domain is Domain.QR:
            parts = QrParts.model_construct(
                scans=int(s("scans", 0)),
                scans_in=int(s("in", 0)),
                scans_out=int(s("out", 0)),
                persons=int(s("persons", 0)),
                vehicles=int(s("vehicles", 0)),
                not_green=int(s("not_green", 0)),
                distinct_subjects=len(w.members),
            )
        else:
            still_open = (
                w.open_due
                if w.open_due is not None
                else list(self._open.get(w.entity, {}).values())
            )
            parts = DossierParts.model_construct(
                received=int(s("received", 0)),
                received_online=int(s("received_online", 0)),
                finished=int(s("finished", 0)),
                finished_late=int(s("finished_late", 0)),
                open_at_end=len(still_open),
                open_late_at_end=sum(1 for due in still_open if due is not None and due < w.end_ms),
                paid_online=0,
                digitized=0,
                processing_hours_sum=0.0,
                excluded=int(s("excluded", 0)),
            )
        return KpiRecord.model_construct(
            domain=w.domain,
            entity_kind=w.kind,
            entity_id=w.entity,
            group_id=w.group,
            window=w.size,
            window_start=from_ms(w.start_ms),
            window_end=from_ms(w.end_ms),
            parts=parts,
            rates={},
            computed_at=from_ms(w.end_ms),
            generation=0,
            sequence=0,
        )


def windows(events: Iterable[Event], topology: Topology) -> Iterator[KpiRecord]:
    """Every closed window of ``events``, in order of window end."""
    kpis = OfflineKpis(topology)
    for event in events:
        yield from kpis.add(event)
    yield from kpis.close_all()
