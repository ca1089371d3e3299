"""Placing a profile's entities: names to areas, and illustrative coordinates near them.

The tools of the profile builder (:mod:`schemas.province.profiles.build`): areas are
found by name in a hierarchy, never by code; every entity is put in an area's
lowest-level unit and within about a kilometre of its coordinates with a fixed-seed
jitter, so the same calls always make the same entities.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

from schemas.province.areas import Area, AreaHierarchy
from schemas.province.entities import (
    Agency,
    Checkpoint,
    CheckpointKind,
    CustomerClass,
    EnergyMeter,
    Feeder,
    RoadClass,
    RoadSegment,
    TrafficSensor,
)

_PREFIXES = ("Tỉnh ", "Thành phố ", "Thị xã ", "Huyện ", "Phường ", "Thị trấn ", "Xã ")


def short_name(area: Area) -> str:
    """'Thành phố Đồng Xoài' → 'Đồng Xoài'."""
    for prefix in _PREFIXES:
        if area.name.startswith(prefix):
            return area.name.removeprefix(prefix)
    return area.name


def slug(text: str) -> str:
    """ASCII upper-case letters and digits: 'ĐT741' → 'DT741', 'Bù Đăng' → 'BUDANG'."""
    text = text.replace("Đ", "D").replace("đ", "d")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.upper() if c.isalnum())


class Places:
    """Name → area lookups and deterministic placement inside one hierarchy."""

    def __init__(self, hierarchy: AreaHierarchy, seed: str) -> None:
        self.h = hierarchy
        self.rng = random.Random(seed)  # noqa: S311 - placement jitter, not security
        self.leaf_level = hierarchy.levels[-1]
        self.root = next(iter(hierarchy.at_level(hierarchy.levels[0])))
        self._paths: dict[str, dict[str, str]] = {}

    def find(self, name: str) -> Area:
        """The area named ``name`` (with or without its prefix); the highest level wins.

        'Lộc Ninh' is both a district and the town inside it: the district is meant.
        """
        found = [a for a in self.h.areas if name in (a.name, short_name(a))]
        for level in self.h.levels:
            at_level = [a for a in found if a.level == level]
            if len(at_level) == 1:
                return at_level[0]
            if at_level:
                break
        raise KeyError(f"{name!r} matches {len(found)} areas in {self.h.name}")

    def leaves(self, area: Area) -> list[Area]:
        """The lowest-level areas under (or equal to) ``area``, by code."""
        if not self._paths:
            self._paths = {a.code: self.h.path(a.code) for a in self.h.at_level(self.leaf_level)}
        under = (
            a for a in self.h.at_level(self.leaf_level) if area.code in self._paths[a.code].values()
        )
        return sorted(under, key=lambda a: a.code)

    def leaf_in(self, name: str) -> Area:
        """A lowest-level area inside the named place (the place itself if it is one)."""
        return self.rng.choice(self.leaves(self.find(name)))

    def near(self, area: Area, spread: float = 0.008) -> tuple[float, float]:
        """Coordinates within ``spread`` degrees (about 0.9 km) of the area's coordinates."""
        lat = (area.latitude or 0.0) + self.rng.uniform(-spread, spread)
        lon = (area.longitude or 0.0) + self.rng.uniform(-spread, spread)
        return round(lat, 5), round(lon, 5)


@dataclass(frozen=True)
class Road:
    road: str
    road_class: RoadClass
    free_flow_kmh: float
    places: tuple[str, ...]
    """Where its segments are, in driving order (one segment per entry)."""
    sensors_per_segment: int = 2


def _is_town(area: Area) -> bool:
    return area.name.startswith(("Phường", "Thị trấn"))


def build_roads(p: Places, roads: list[Road]) -> tuple[list[RoadSegment], list[TrafficSensor]]:
    """One segment per place, sensors per direction; slower free flow through towns."""
    segments: list[RoadSegment] = []
    sensors: list[TrafficSensor] = []
    for road in roads:
        for n, place in enumerate(road.places, start=1):
            area = p.leaf_in(place)
            town_cut = 10 if _is_town(area) and road.road_class != RoadClass.URBAN else 0
            lat, lon = p.near(area)
            segment = RoadSegment(
                segment_id=f"{slug(road.road)}-{n:02d}",
                road=road.road,
                name=f"{road.road} đoạn qua {area.name}",
                road_class=road.road_class,
                area_code=area.code,
                free_flow_kmh=road.free_flow_kmh - town_cut,
                latitude=lat,
                longitude=lon,
            )
            segments.append(segment)
            for d in range(road.sensors_per_segment):
                sensors.append(
                    TrafficSensor(
                        sensor_id=f"TS-{segment.segment_id}-{'AB'[d]}",
                        segment_id=segment.segment_id,
                        lanes=1 if road.road_class == RoadClass.PROVINCIAL else 2,
                        period_s=60,
                        latitude=round(lat + 0.0004 * d, 5),
                        longitude=round(lon + 0.0004 * d, 5),
                    )
                )
    return segments, sensors


def build_energy(
    p: Places, places: list[str], meters: int, feeders_per_place: int = 2
) -> tuple[list[Feeder], list[EnergyMeter]]:
    """Feeders named like EVN's (lộ 47x of a 110 kV substation), meters spread over them."""
    feeders: list[Feeder] = []
    feeder_area: dict[str, tuple[Area, list[Area]]] = {}
    for place in places:
        parent = p.find(place)
        for k in range(feeders_per_place):
            area = p.rng.choice(p.leaves(parent))
            lat, lon = p.near(area)
            feeder = Feeder(
                feeder_id=f"FD-{slug(short_name(parent))}-{471 + k}",
                name=f"Lộ {471 + k} trạm 110 kV {short_name(parent)}",
                area_code=area.code,
                latitude=lat,
                longitude=lon,
            )
            feeders.append(feeder)
            feeder_area[feeder.feeder_id] = (area, p.leaves(parent))
    result: list[EnergyMeter] = []
    for i in range(meters):
        feeder = feeders[i % len(feeders)]
        home, around = feeder_area[feeder.feeder_id]
        area = home if p.rng.random() < 0.6 else p.rng.choice(around)
        draw = p.rng.random()
        customer = (
            CustomerClass.RESIDENTIAL
            if draw < 0.7
            else CustomerClass.COMMERCIAL
            if draw < 0.9
            else CustomerClass.INDUSTRIAL
        )
        phases = 1 if customer == CustomerClass.RESIDENTIAL else 3
        lat, lon = p.near(area)
        result.append(
            EnergyMeter(
                meter_id=f"EM-{i + 1:04d}",
                feeder_id=feeder.feeder_id,
                area_code=area.code,
                customer_class=customer,
                phases=phases,
                nominal_voltage_v=220.0,
                # 5 + 1 digit registers on household meters, 6 + 1 on three-phase ones
                register_max_kwh=100_000.0 if phases == 1 else 1_000_000.0,
                period_s=60,
                latitude=lat,
                longitude=lon,
            )
        )
    return feeders, result


def build_checkpoints(p: Places, spec: list[tuple[CheckpointKind, str, str]]) -> list[Checkpoint]:
    """(kind, name, place) → check-points numbered per kind."""
    numbers: dict[CheckpointKind, int] = {}
    result = []
    for kind, name, place in spec:
        numbers[kind] = numbers.get(kind, 0) + 1
        area = p.leaf_in(place)
        lat, lon = p.near(area)
        result.append(
            Checkpoint(
                checkpoint_id=f"CP-{slug(kind.value)[:6]}-{numbers[kind]:02d}",
                kind=kind,
                name=name,
                area_code=area.code,
                latitude=lat,
                longitude=lon,
            )
        )
    return result


def build_agencies(
    p: Places, departments: list[tuple[str, str]], capital: str, counters: list[tuple[str, int]]
) -> list[Agency]:
    """The province's service centre and departments (in the capital), then one-stop shops.

    ``counters``: (place, k) — the place's own one-stop shop (a district's people's
    committee), and those of ``k`` of its lowest-level areas (communes).
    """
    result: list[Agency] = []
    seat = p.find(capital)
    province = [("TTPVHCC", f"Trung tâm Phục vụ hành chính công tỉnh {short_name(p.root)}")]
    for abbr, name in province + departments:
        lat, lon = p.near(seat)
        result.append(
            Agency(
                agency_code=f"AG-{p.root.code}-{abbr}",
                name=name,
                area_code=p.root.code,
                level=p.root.level,
                latitude=lat,
                longitude=lon,
            )
        )
    for place, k in counters:
        area = p.find(place)
        chosen = sorted(p.rng.sample(p.leaves(area), k), key=lambda a: a.code) if k else []
        own = [] if area.level in (p.leaf_level, p.root.level) else [area]
        for a in own + chosen:
            lat, lon = p.near(a)
            result.append(
                Agency(
                    agency_code=f"AG-{a.code}",
                    name=f"Bộ phận Một cửa UBND {a.name}",
                    area_code=a.code,
                    level=a.level,
                    latitude=lat,
                    longitude=lon,
                )
            )
    return result
