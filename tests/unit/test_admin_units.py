"""Official area codes come from the kept package, in both the old and the new shape."""

from __future__ import annotations

import unicodedata

import pytest

from schemas.province.admin_units import binh_phuoc_2021, dong_nai_2025

pytestmark = pytest.mark.unit

DISTRICTS_2021 = {
    "Đồng Xoài", "Bình Long", "Phước Long", "Chơn Thành", "Bù Đăng", "Bù Đốp",
    "Bù Gia Mập", "Đồng Phú", "Hớn Quản", "Lộc Ninh", "Phú Riềng",
}  # fmt: skip


def test_binh_phuoc_2021_has_eleven_district_level_units() -> None:
    hierarchy = binh_phuoc_2021()
    assert hierarchy.levels == ["province", "district", "commune"]
    districts = list(hierarchy.at_level("district"))
    assert len(districts) == 11
    names = {
        d.name.split(" ", 2)[-1]
        if d.name.startswith(("Thị xã", "Thành phố"))
        else d.name.removeprefix("Huyện ")
        for d in districts
    }
    names = {n.removeprefix("xã ").removeprefix("phố ") for n in names}
    assert names == DISTRICTS_2021
    assert hierarchy.by_code("689").name == "Thành phố Đồng Xoài"
    communes = list(hierarchy.at_level("commune"))
    assert len(communes) > 100
    province = hierarchy.by_code("70")
    assert 11.0 < (province.latitude or 0) < 12.5
    assert all(unicodedata.is_normalized("NFC", a.name) for a in hierarchy.areas)


def test_dong_nai_2025_has_no_district_level() -> None:
    hierarchy = dong_nai_2025()
    assert hierarchy.levels == ["province", "commune"]
    assert not list(hierarchy.at_level("district"))
    commune = next(iter(hierarchy.at_level("commune")))
    assert hierarchy.path(commune.code) == {"province": "75", "commune": commune.code}
