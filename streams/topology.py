"""What the KPI maths needs from the province profile, as plain lookups.

Built once from :class:`schemas.province.profile.Profile` (or by hand in tests). Entities the
profile does not list still get KPIs: they count as reporting but not as expected,
and they take the documented defaults below — a new sensor must not crash a worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.province.profile import Profile

DEFAULT_NOMINAL_V = 220.0
DEFAULT_REGISTER_MAX_KWH = 999_999.9
DEFAULT_PERIOD_S = 60


@dataclass(frozen=True)
class MeterInfo:
    nominal_v: float = DEFAULT_NOMINAL_V
    register_max_kwh: float = DEFAULT_REGISTER_MAX_KWH
    period_s: int = DEFAULT_PERIOD_S


@dataclass(frozen=True)
class Topology:
    """Lookups by id; every method has a safe answer for an unknown entity."""

    timezone: str = "Asia/Ho_Chi_Minh"
    free_flow_kmh: dict[str, float] = field(default_factory=dict)
    """Free-flow speed per segment."""
    members: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    """(group kind, group id) → ids of its expected members (sensors, meters)."""
    meters: dict[str, MeterInfo] = field(default_factory=dict)
    areas: dict[tuple[str, str], str] = field(default_factory=dict)
    """(entity kind, id) → area code."""
    expected: tuple[tuple[str, str, str, int], ...] = ()
    """(kind, id, group, expected period s) of everything that reports periodically."""
    voltage_band: tuple[float, float] = (0.9, 1.1)
    nominal_frequency_hz: float = 50.0
    reset_floor_kwh: float = 10.0

    @classmethod
    def from_profile(cls, profile: Profile) -> Topology:
        """Index a validated profile."""
        members: dict[tuple[str, str], set[str]] = {}
        for s in profile.sensors:
            members.setdefault(("segment", s.segment_id), set()).add(s.sensor_id)
        for m in profile.meters:
            members.setdefault(("feeder", m.feeder_id), set()).add(m.meter_id)
        areas: dict[tuple[str, str], str] = {}
        for kind in ("segment", "sensor", "feeder", "meter", "checkpoint", "agency"):
            for entity in profile.entities(kind):
                entity_id = profile.id_of(kind, entity)
                areas[(kind, entity_id)] = profile.area_of(kind, entity_id)
        rules = profile.rules
        return cls(
            timezone=profile.timezone,
            free_flow_kmh={s.segment_id: s.free_flow_kmh for s in profile.segments},
            members={k: frozenset(v) for k, v in members.items()},
            meters={
                m.meter_id: MeterInfo(m.nominal_voltage_v, m.register_max_kwh, m.period_s)
                for m in profile.meters
            },
            areas=areas,
            expected=tuple(
                [("sensor", s.sensor_id, s.segment_id, s.period_s) for s in profile.sensors]
                + [("meter", m.meter_id, m.feeder_id, m.period_s) for m in profile.meters]
            ),
            voltage_band=(rules.undervoltage_ratio, rules.overvoltage_ratio),
            nominal_frequency_hz=rules.nominal_frequency_hz,
            reset_floor_kwh=rules.register_reset_max_kwh,
        )

    def free_flow(self, segment_id: str) -> float | None:
        """Free-flow speed of a segment; None when the profile does not know it."""
        return self.free_flow_kmh.get(segment_id)

    def expected_members(self, group_kind: str, group_id: str) -> int:
        """How many members (sensors, meters) a group should have reporting."""
        return len(self.members.get((group_kind, group_id), ()))

    def is_member(self, group_kind: str, group_id: str, entity_id: str) -> bool:
        """The profile lists ``entity_id`` under this group."""
        return entity_id in self.members.get((group_kind, group_id), ())

    def meter(self, meter_id: str) -> MeterInfo:
        """Nominal voltage, register maximum and period of a meter (defaults if unknown)."""
        return self.meters.get(meter_id, MeterInfo())

    def area(self, kind: str, entity_id: str) -> str | None:
        """Area code of an entity, if the profile knows it."""
        return self.areas.get((kind, entity_id))

    def expected_in(
        self, kind: str, groups: frozenset[str] | None
    ) -> list[tuple[str, str, str, int]]:
        """Periodic reporters of ``kind`` whose group is in ``groups`` (all when None)."""
        return [e for e in self.expected if e[0] == kind and (groups is None or e[2] in groups)]

    def groups_of(self, group_kind: str) -> list[str]:
        """Every group of a kind the profile lists (segments, feeders)."""
        return sorted({g for (k, g) in self.members if k == group_kind})
