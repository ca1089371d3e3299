"""Energy KPIs per meter and per feeder (docs/architecture.md, "KPIs").

kWh from register deltas (:mod:`register`), mean and peak kW, min/mean/max voltage
over every phase reported, time outside ±10 % of the meter's nominal voltage (each
out-of-band reading stands for one expected reporting period of its meter), frequency
deviation from nominal, meters reporting / expected.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar

from typing_extensions import override

from schemas.base import Event
from schemas.events import EnergyReading
from schemas.results import Domain, EnergyParts
from schemas.timeutil import to_ms
from streams.detect import Observation
from streams.detect.impossible import REGISTER_METRIC
from streams.kpi import register
from streams.kpi.base import DomainLogic
from streams.kpi.sums import add_exact, higher, lower, plus, present, ratio, total
from streams.records import ChainRecord, EnergyPartsRecord, KpiWindow
from streams.windows import TELEMETRY_SIZES, oldest_accepted_ms, window_bounds

METER = "meter"
FEEDER = "feeder"
CHAIN_PREFIX = "reg|"


def _empty() -> EnergyPartsRecord:
    return {}


def add_reading(
    parts: EnergyPartsRecord,
    ev: EnergyReading,
    *,
    outside_s: int,
    nominal_frequency_hz: float,
) -> None:
    """Add the instantaneous values of one reading (not its kWh) to a window's parts."""
    power = ev.active_power_kw
    # Kept only once a reading lacked a power (see streams.kpi.sums.present).
    present(parts, "power_samples", "readings", 1 if power is not None else None)
    parts["readings"] = parts.get("readings", 0) + 1
    if power is not None:
        parts["power_kw_sum"] = plus(parts.get("power_kw_sum"), power)
        parts["power_kw_max"] = higher(parts.get("power_kw_max"), power)
    phases = ev.voltage_v.values() if ev.voltage_v is not None else []
    for v in phases:
        parts["voltage_sum"] = plus(parts.get("voltage_sum"), v)
        parts["voltage_min_v"] = lower(parts.get("voltage_min_v"), v)
        parts["voltage_max_v"] = higher(parts.get("voltage_max_v"), v)
    parts["voltage_samples"] = parts.get("voltage_samples", 0) + len(phases)
    parts["seconds_outside_voltage"] = parts.get("seconds_outside_voltage", 0) + outside_s
    if ev.frequency_hz is not None:
        deviation = abs(ev.frequency_hz - nominal_frequency_hz)
        parts["frequency_dev_abs_sum"] = plus(parts.get("frequency_dev_abs_sum"), deviation)
        parts["frequency_samples"] = parts.get("frequency_samples", 0) + 1


def outside_band(ev: EnergyReading, nominal_v: float, band: tuple[float, float]) -> bool:
    """Any phase outside [low·nominal, high·nominal]."""
    low, high = band[0] * nominal_v, band[1] * nominal_v
    phases = ev.voltage_v.values() if ev.voltage_v is not None else []
    return any(v < low or v > high for v in phases)


def energy_rates(p: EnergyParts) -> dict[str, float | None]:
    """Derived KPIs of a parts record."""
    return {
        "power_kw_mean": ratio(p.power_kw_sum, p.power_samples),
        "voltage_mean_v": ratio(p.voltage_sum, p.voltage_samples),
        "frequency_dev_mean_hz": ratio(p.frequency_dev_abs_sum, p.frequency_samples),
        "minutes_outside_voltage": p.seconds_outside_voltage / 60.0,
        "meters_reporting_ratio": ratio(p.meters_reporting, p.meters_expected),
    }


class EnergyLogic(DomainLogic[EnergyPartsRecord]):
    domain: ClassVar[Domain] = Domain.ENERGY

    def _chain_contributions(
        self, ev: EnergyReading, ts: int, offset: int
    ) -> list[register.Contribution]:
        info = self.ctx.topology.meter(ev.meter_id)
        limits = {
            "register_max_kwh": info.register_max_kwh,
            "reset_floor_kwh": self.ctx.topology.reset_floor_kwh,
        }
        key = CHAIN_PREFIX + ev.meter_id
        chain_record = self.state.get(key, ChainRecord)
        rows = [] if chain_record is None else chain_record.get("r", [])
        chain: list[register.Reading] = [(int(t), float(k), int(o)) for t, k, o in rows]
        reading: register.Reading = (ts, ev.energy_kwh_total, offset)
        found = register.contributions(chain, reading, **limits)
        new: ChainRecord = {"r": [], "o": offset}
        record = self.state.touch(key, offset, new)
        if record is not None:  # None: the chain was written ahead of a crash and has it
            bound = oldest_accepted_ms(self.state.persisted_wm, self.ctx.lateness_ms)
            updated = register.prune(register.insert(chain, reading), bound, **limits)
            record["r"] = [list(r) for r in updated]
        return found

    @override
    def _apply(self, event: Event, offset: int, wm: int | None) -> None:
        assert isinstance(event, EnergyReading)
        topology = self.ctx.topology
        ts = to_ms(event.measured_at)
        info = topology.meter(event.meter_id)
        outside_s = (
            info.period_s if outside_band(event, info.nominal_v, topology.voltage_band) else 0
        )
        # A late reading stays out of the register chain: the readings around it may
        # be pruned already (and pruning follows the persisted watermark, so whether
        # they are depends on batch cuts). Its interval's energy stays with the meter's
        # next reading in time, whose delta spans it (docs/decisions/0023).
        late = self.book.late_event is not None
        found = [] if late else self._chain_contributions(event, ts, offset)
        for size in TELEMETRY_SIZES:
            own_start = window_bounds(ts, size, topology.timezone)[0]
            by_window: dict[int, list[register.Contribution]] = defaultdict(list)
            for c in found:
                by_window[window_bounds(c.ts_ms, size, topology.timezone)[0]].append(c)
            by_window.setdefault(own_start, [])
            for kind, entity_id in ((METER, event.meter_id), (FEEDER, event.feeder_id)):
                # One touch per window per event: a second touch at the same offset
                # would be skipped as "already applied".
                for start in sorted(by_window):
                    record = self.book.window(
                        kind, entity_id, event.feeder_id, size, start, offset, _empty, wm
                    )
                    if record is None:
                        continue
                    parts = record["p"]
                    for c in by_window[start]:
                        add_exact(parts.setdefault("energy_kwh", []), c.kwh)
                        parts["register_resets"] = parts.get("register_resets", 0) + c.resets
                        rollovers = parts.get("register_rollovers", 0) + c.rollovers
                        parts["register_rollovers"] = rollovers
                    if start == own_start:
                        add_reading(
                            parts,
                            event,
                            outside_s=outside_s,
                            nominal_frequency_hz=topology.nominal_frequency_hz,
                        )
                        if kind == FEEDER:
                            record.setdefault("m", {})[event.meter_id] = 1

    @override
    def parts(self, record: KpiWindow[EnergyPartsRecord]) -> EnergyParts:
        p = record["p"]
        topology = self.ctx.topology
        if record["k"] == FEEDER:
            reporting = len(record.get("m", {}))
            expected = topology.expected_members(FEEDER, record["e"])
        else:
            reporting = 1 if p.get("readings", 0) else 0
            expected = 1 if topology.is_member(FEEDER, record["g"], record["e"]) else 0
        return EnergyParts.model_construct(
            readings=p.get("readings", 0),
            energy_kwh=max(0.0, total(p.get("energy_kwh"))),
            power_kw_sum=total(p.get("power_kw_sum")),
            power_samples=p.get("power_samples", p.get("readings", 0)),
            power_kw_max=p.get("power_kw_max"),
            voltage_sum=total(p.get("voltage_sum")),
            voltage_samples=p.get("voltage_samples", 0),
            voltage_min_v=p.get("voltage_min_v"),
            voltage_max_v=p.get("voltage_max_v"),
            seconds_outside_voltage=float(p.get("seconds_outside_voltage", 0)),
            frequency_dev_abs_sum=total(p.get("frequency_dev_abs_sum")),
            frequency_samples=p.get("frequency_samples", 0),
            register_resets=max(0, p.get("register_resets", 0)),
            register_rollovers=max(0, p.get("register_rollovers", 0)),
            meters_reporting=reporting,
            meters_expected=expected,
        )

    @override
    def rates(self, parts: Any, record: KpiWindow[EnergyPartsRecord]) -> dict[str, float | None]:
        return energy_rates(parts)

    @override
    def observations(self, event: Event) -> list[Observation]:
        assert isinstance(event, EnergyReading)
        return [
            Observation(
                domain=self.domain.value,
                entity_kind=METER,
                entity_id=event.meter_id,
                group_id=event.feeder_id,
                area_code=event.area_code,
                metric=REGISTER_METRIC,
                ts_ms=to_ms(event.measured_at),
                value=event.energy_kwh_total,
            )
        ]

    @override
    def reporters(self, event: Event) -> list[tuple[str, str]]:
        assert isinstance(event, EnergyReading)
        return [(METER, event.meter_id)]
