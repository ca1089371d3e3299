"""Official Vietnamese administrative units from a kept package (vietnamadminunits).

Codes are the General Statistics Office's; we never type them by hand. Two shapes:
the 63-province, three-tier data (before 1 July 2025) and the 34-province, two-tier
data (after the 2025 reform), both as :class:`AreaHierarchy` of any depth.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from importlib import resources

from schemas.areas import Area, AreaHierarchy

REFORM_DATE = date(2025, 7, 1)


def _rows(sql: str, params: tuple[str, ...]) -> list[sqlite3.Row]:
    path = resources.files("vietnamadminunits") / "data" / "dataset.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql, params))


def legacy_province(province_code: str, name: str) -> AreaHierarchy:
    """A province as it was before the 2025 reform: province → district → commune."""
    rows = _rows(
        "SELECT DISTINCT province, provinceCode, provinceLat, provinceLon, district, districtCode,"
        " districtLat, districtLon, ward, wardCode, wardLat, wardLon"
        " FROM admin_units_legacy WHERE provinceCode = ? ORDER BY districtCode, wardCode",
        (province_code,),
    )
    if not rows:
        raise KeyError(f"no legacy province with code {province_code}")
    first = rows[0]
    areas: dict[str, Area] = {
        first["provinceCode"]: Area(
            code=first["provinceCode"],
            name=first["province"],
            level="province",
            latitude=first["provinceLat"],
            longitude=first["provinceLon"],
            valid_to=REFORM_DATE,
        )
    }
    for row in rows:
        areas.setdefault(
            row["districtCode"],
            Area(
                code=row["districtCode"],
                name=row["district"],
                level="district",
                parent_code=row["provinceCode"],
                latitude=row["districtLat"],
                longitude=row["districtLon"],
                valid_to=REFORM_DATE,
            ),
        )
        if row["wardCode"]:
            areas.setdefault(
                row["wardCode"],
                Area(
                    code=row["wardCode"],
                    name=row["ward"],
                    level="commune",
                    parent_code=row["districtCode"],
                    latitude=row["wardLat"],
                    longitude=row["wardLon"],
                    valid_to=REFORM_DATE,
                ),
            )
    return AreaHierarchy(
        name=name, levels=["province", "district", "commune"], areas=list(areas.values())
    )


def current_province(province_code: str, name: str) -> AreaHierarchy:
    """A province after the 2025 reform: province → commune, no district level."""
    rows = _rows(
        "SELECT DISTINCT province, provinceCode, provinceLat, provinceLon, ward, wardCode,"
        " wardLat, wardLon FROM admin_units WHERE provinceCode = ? ORDER BY wardCode",
        (province_code,),
    )
    if not rows:
        raise KeyError(f"no province with code {province_code}")
    first = rows[0]
    areas = [
        Area(
            code=first["provinceCode"],
            name=first["province"],
            level="province",
            latitude=first["provinceLat"],
            longitude=first["provinceLon"],
            valid_from=REFORM_DATE,
        )
    ]
    areas += [
        Area(
            code=row["wardCode"],
            name=row["ward"],
            level="commune",
            parent_code=row["provinceCode"],
            latitude=row["wardLat"],
            longitude=row["wardLon"],
            valid_from=REFORM_DATE,
        )
        for row in rows
    ]
    return AreaHierarchy(name=name, levels=["province", "commune"], areas=areas)


def binh_phuoc_2021() -> AreaHierarchy:
    """The default profile's areas: Bình Phước (code 70) with its 11 district-level units."""
    return legacy_province("70", "binh-phuoc-2021")


def dong_nai_2025() -> AreaHierarchy:
    """Đồng Nai (code 75) after the reform, which absorbed Bình Phước: two tiers."""
    return current_province("75", "dong-nai-2025")
