"""The shipped provinces, place by place: their roads, feeders, check-points and agencies.

Each function builds one profile of :mod:`schemas.province.profiles.build` from the
official areas of :mod:`schemas.province.admin_units` (the vietnamadminunits package:
the ``profiles`` extra) and the placement of :mod:`schemas.province.profiles.placement`.
Holiday notices are data in ``notices/vn.json``, copied into each profile's calendar.
"""

from __future__ import annotations

import json
from pathlib import Path

from schemas.province import admin_units
from schemas.province.calendar import HolidayCalendar, HolidayNotice
from schemas.province.entities import CheckpointKind, RoadClass
from schemas.province.profile import Profile
from schemas.province.profiles.placement import (
    Places,
    Road,
    build_agencies,
    build_checkpoints,
    build_energy,
    build_roads,
    short_name,
)

NOTICES_FILE = Path(__file__).resolve().parent / "notices" / "vn.json"
ILLUSTRATIVE_NOTE = (
    "Road segments, meters, check-points and coordinates are illustrative: made up and "
    "placed near their area's coordinates. Area codes are official (General Statistics "
    "Office, from the vietnamadminunits package); holidays are the public calendar (the "
    "holidays package) with the yearly notices in calendar.notices."
)


def calendar() -> HolidayCalendar:
    """Vietnam's calendar with the notices of ``notices/vn.json``."""
    data = json.loads(NOTICES_FILE.read_text(encoding="utf-8"))
    return HolidayCalendar(notices=[HolidayNotice.model_validate(n) for n in data])


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
