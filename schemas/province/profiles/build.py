"""Build the shipped province profiles, deterministically.

Run ``python -m schemas.province.profiles.build``.

Needs the ``profiles`` extra (``pip install 'ioc-pipeline[profiles]'``; the dev lock has
it): area codes and area coordinates come from :mod:`schemas.province.admin_units` (the
vietnamadminunits package), which only this builder imports — running the pipeline
never needs it. Places are named here, never coded. Holiday notices (Tết breaks, swaps,
make-up working days) are data in ``notices/vn.json``, copied into each profile's
``calendar``; national holidays are computed at run time (:mod:`schemas.province.calendar`).
Everything else — road segments, sensors, feeders, meters, check-points, agency codes
and every coordinate — is illustrative: placed near its area with a fixed-seed jitter,
so the same script always writes the same bytes. A unit test fails when the checked-in
files differ from what this script renders; ``--check`` does the same from a shell.
"""

from __future__ import annotations

import json
import random
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from schemas.province import admin_units
from schemas.province.areas import Area, AreaHierarchy
from schemas.province.calendar import HolidayCalendar, HolidayNotice
from schemas.province.profile import (
    Agency,
    Checkpoint,
    CheckpointKind,
    CustomerClass,
    EnergyMeter,
    Feeder,
    Profile,
    RoadClass,
    RoadSegment,
    TrafficSensor,
)

PROFILES_DIR = Path(__file__).resolve().parent
NOTICES_FILE = PROFILES_DIR / "notices" / "vn.json"
ILLUSTRATIVE_NOTE = (
    "Road segments, meters, check-points and coordinates are illustrative: made up and "
    "placed near their area's coordinates. Area codes are official (General Statistics "
    "Office, from the vietnamadminunits package); holidays are the public calendar (the "
    "holidays package) with the yearly notices in calendar.notices."
)
_PREFIXES = ("Tỉnh ", "Thành phố ", "Thị xã ", "Huyện ", "Phường ", "Thị trấn ", "Xã ")


def calendar() -> HolidayCalendar:
    """Vietnam's calendar with the notices of ``notices/vn.json``."""
    data = json.loads(NOTICES_FILE.read_text(encoding="utf-8"))
    return HolidayCalendar(notices=[HolidayNotice.model_validate(n) for n in data])


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


DEPARTMENTS = [
    ("STP", "Sở Tư pháp"),
    ("SKHDT", "Sở Kế hoạch và Đầu tư"),
    ("STNMT", "Sở Tài nguyên và Môi trường"),
    ("SXD", "Sở Xây dựng"),
    ("SGTVT", "Sở Giao thông vận tải"),
    ("SCT", "Sở Công Thương"),
    ("SYT", "Sở Y tế"),
    ("SGDDT", "Sở Giáo dục và Đào tạo"),
    ("SLDTBXH", "Sở Lao động - Thương binh và Xã hội"),
    ("SNNPTNT", "Sở Nông nghiệp và Phát triển nông thôn"),
    ("STC", "Sở Tài chính"),
    ("SNV", "Sở Nội vụ"),
    ("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch"),
    ("STTTT", "Sở Thông tin và Truyền thông"),
    ("SKHCN", "Sở Khoa học và Công nghệ"),
    ("BQLKKT", "Ban Quản lý Khu kinh tế"),
]

G, H, M, B, IP = (
    CheckpointKind.GATE,
    CheckpointKind.HOSPITAL,
    CheckpointKind.MARKET,
    CheckpointKind.BUS_STATION,
    CheckpointKind.INDUSTRIAL_PARK,
)
NAT, PROV, URB = RoadClass.NATIONAL, RoadClass.PROVINCIAL, RoadClass.URBAN


def binh_phuoc_2021() -> Profile:
    """The default profile: Bình Phước before the 2025 reform (province → district → commune)."""
    p = Places(admin_units.binh_phuoc_2021(), "binh-phuoc-2021")
    districts = [short_name(a) for a in p.h.at_level("district")]
    segments, sensors = build_roads(
        p,
        [
            Road("QL13", NAT, 70, ("Chơn Thành", "Hớn Quản", "Bình Long", "Lộc Ninh", "Lộc Ninh")),
            Road("QL14", NAT, 70, ("Chơn Thành", "Đồng Xoài", "Đồng Phú", "Bù Đăng", "Bù Đăng")),
            Road("QL14C", NAT, 60, ("Bù Gia Mập", "Bù Đốp")),
            Road("ĐT741", PROV, 60, ("Đồng Xoài", "Phú Riềng", "Phước Long", "Bù Gia Mập")),
            Road("ĐT753", PROV, 60, ("Đồng Xoài", "Đồng Phú")),
            Road("ĐT759", PROV, 55, ("Phước Long", "Bù Đốp")),
            Road("ĐT752", PROV, 55, ("Hớn Quản",)),
            Road("Phú Riềng Đỏ", URB, 40, ("Đồng Xoài", "Đồng Xoài")),
            Road("Hùng Vương", URB, 40, ("Đồng Xoài",)),
        ],
    )
    feeders, meters = build_energy(p, districts, meters=200)
    checkpoints = build_checkpoints(
        p,
        [
            (G, "Cửa khẩu quốc tế Hoa Lư", "Lộc Ninh"),
            (G, "Cửa khẩu Hoàng Diệu", "Bù Đốp"),
            (G, "Cửa khẩu Lộc Thịnh", "Lộc Ninh"),
            (G, "Chốt kiểm soát QL13 giáp Bình Dương", "Chơn Thành"),
            (G, "Chốt kiểm soát QL14 giáp Đắk Nông", "Bù Đăng"),
            (G, "Chốt kiểm soát ĐT741 giáp Bình Dương", "Đồng Phú"),
            (G, "Chốt kiểm soát QL14C", "Bù Gia Mập"),
            (G, "Chốt kiểm soát ĐT753 giáp Đồng Nai", "Đồng Phú"),
            (H, "Bệnh viện Đa khoa tỉnh Bình Phước", "Đồng Xoài"),
            (H, "Trung tâm Y tế thị xã Bình Long", "Bình Long"),
            (H, "Trung tâm Y tế thị xã Phước Long", "Phước Long"),
            (H, "Trung tâm Y tế huyện Bù Đăng", "Bù Đăng"),
            (H, "Trung tâm Y tế huyện Lộc Ninh", "Lộc Ninh"),
            (H, "Trung tâm Y tế thị xã Chơn Thành", "Chơn Thành"),
            (H, "Trung tâm Y tế huyện Đồng Phú", "Đồng Phú"),
            (H, "Trung tâm Y tế huyện Bù Gia Mập", "Bù Gia Mập"),
            (M, "Chợ Đồng Xoài", "Đồng Xoài"),
            (M, "Chợ Bình Long", "Bình Long"),
            (M, "Chợ Phước Bình", "Phước Long"),
            (M, "Chợ Chơn Thành", "Chơn Thành"),
            (M, "Chợ Lộc Ninh", "Lộc Ninh"),
            (M, "Chợ Đức Phong", "Bù Đăng"),
            (M, "Chợ Thanh Bình", "Bù Đốp"),
            (M, "Chợ Tân Phú", "Đồng Phú"),
            (B, "Bến xe khách Đồng Xoài", "Đồng Xoài"),
            (B, "Bến xe Bình Long", "Bình Long"),
            (B, "Bến xe Phước Long", "Phước Long"),
            (IP, "Khu công nghiệp Đồng Xoài I", "Đồng Xoài"),
            (IP, "Khu công nghiệp Minh Hưng - Hàn Quốc", "Chơn Thành"),
            (IP, "Khu công nghiệp Bắc Đồng Phú", "Đồng Phú"),
        ],
    )
    agencies = build_agencies(
        p,
        DEPARTMENTS,
        capital="Đồng Xoài",
        counters=[(d, 3 if i < 5 else 2) for i, d in enumerate(districts)],
    )
    return Profile(
        name="binh-phuoc-2021",
        description=(
            "Bình Phước province (code from the kept package) as of 2021: 11 district-level "
            "units and their communes, before the July 2025 reform merged it into Đồng Nai. "
            "The default profile."
        ),
        illustrative=True,
        illustrative_note=ILLUSTRATIVE_NOTE,
        timezone="Asia/Ho_Chi_Minh",
        areas=p.h,
        rollup_levels=list(p.h.levels),
        segments=segments,
        sensors=sensors,
        feeders=feeders,
        meters=meters,
        checkpoints=checkpoints,
        agencies=agencies,
        calendar=calendar(),
    )


def dong_nai_2025() -> Profile:
    """A smaller profile in the post-2025 two-tier shape: province → commune, no district."""
    p = Places(admin_units.dong_nai_2025(), "dong-nai-2025")
    segments, sensors = build_roads(
        p,
        [
            Road("QL1A", NAT, 70, ("Trấn Biên", "Hố Nai", "Trảng Bom", "Dầu Giây"), 1),
            Road("QL51", NAT, 70, ("Long Hưng", "Long Thành"), 1),
            Road("QL20", NAT, 60, ("Định Quán", "Tân Phú"), 1),
            Road("QL13", NAT, 70, ("Chơn Thành", "Bình Long"), 1),
            Road("QL14", NAT, 70, ("Đồng Xoài", "Bình Phước"), 1),
            Road("ĐT741", PROV, 60, ("Phú Riềng", "Phước Long"), 1),
        ],
    )
    feeders, meters = build_energy(
        p, ["Trấn Biên", "Long Khánh", "Long Thành", "Bình Phước", "Chơn Thành", "Phú Riềng"], 60, 1
    )
    checkpoints = build_checkpoints(
        p,
        [
            (G, "Chốt kiểm soát QL1A giáp TP. Hồ Chí Minh", "Long Hưng"),
            (G, "Cửa khẩu quốc tế Hoa Lư", "Lộc Ninh"),
            (G, "Chốt kiểm soát QL20 giáp Lâm Đồng", "Tân Phú"),
            (H, "Bệnh viện Đa khoa Đồng Nai", "Trấn Biên"),
            (H, "Bệnh viện Đa khoa khu vực Long Khánh", "Long Khánh"),
            (H, "Bệnh viện Đa khoa tỉnh Bình Phước", "Bình Phước"),
            (M, "Chợ Biên Hòa", "Biên Hòa"),
            (M, "Chợ Long Khánh", "Long Khánh"),
            (M, "Chợ Đồng Xoài", "Đồng Xoài"),
            (IP, "Khu công nghiệp Amata", "Long Bình"),
        ],
    )
    agencies = build_agencies(
        p,
        DEPARTMENTS[:8],
        capital="Trấn Biên",
        counters=[(p.root.name, 20)],
    )
    return Profile(
        name="dong-nai-2025",
        description=(
            "Đồng Nai province after the July 2025 reform (it absorbed Bình Phước): two tiers, "
            "province → commune, no district level. A small profile that proves nothing "
            "assumes a district."
        ),
        illustrative=True,
        illustrative_note=ILLUSTRATIVE_NOTE,
        timezone="Asia/Ho_Chi_Minh",
        areas=p.h,
        rollup_levels=list(p.h.levels),
        segments=segments,
        sensors=sensors,
        feeders=feeders,
        meters=meters,
        checkpoints=checkpoints,
        agencies=agencies,
        calendar=calendar(),
    )


BUILDERS = {"binh-phuoc-2021": binh_phuoc_2021, "dong-nai-2025": dong_nai_2025}


def render_all() -> dict[str, str]:
    """{file name: canonical JSON text} of every shipped profile."""
    return {f"{name}.json": build().to_json_text() for name, build in BUILDERS.items()}


def main(argv: list[str]) -> int:
    """Write the profile files, or with ``--check`` exit 1 when any is stale."""
    stale = []
    for name, text in render_all().items():
        path = PROFILES_DIR / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(name)
        if "--check" not in argv:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if "--check" in argv and stale:
        print(f"stale profiles: {', '.join(stale)}; run python -m schemas.province.profiles.build")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
