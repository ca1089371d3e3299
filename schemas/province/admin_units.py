"""Official Vietnamese administrative units from a kept package (vietnamadminunits).

Imported by the profile builder only (the ``profiles`` extra); the pipeline never needs it.

Codes are the General Statistics Office's; we never type them by hand. Two shapes:
the 63-province, three-tier data (before 1 July 2025) and the 34-province, two-tier
data (after the 2025 reform), both as :class:`AreaHierarchy` of any depth.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from importlib import resources

from schemas.province.areas import Area, AreaHierarchy

REFORM_DATE = date(2025, 7, 1)


def _rows(sql: str, params: tuple[str, ...]) -> list[sqlite3.Row]:
    try:
        path = resources.files("vietnamadminunits") / "data" / "dataset.db"
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "building profiles needs the profiles extra: pip install 'ioc-pipeline[profiles]'"
        ) from None
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql, params))


def _area(row: sqlite3.Row, prefix: str, level: str, parent: str | None, **valid: date) -> Area:
    """One Area from the ``<prefix>``, ``<prefix>Code``, ``<prefix>Lat/Lon`` columns of a row."""
    return Area(
        code=row[f"{prefix}Code"],
        name=row[prefix],
        level=level,
        parent_code=row[f"{parent}Code"] if parent else None,
        latitude=row[f"{prefix}Lat"],
        longitude=row[f"{prefix}Lon"],
        **valid,
    )


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
    until = {"valid_to": REFORM_DATE}
    areas: dict[str, Area] = {}
    for row in rows:
        for prefix, level, parent in (
            ("province", "province", None),
            ("district", "district", "province"),
            ("ward", "commune", "district"),
        ):
            if row[f"{prefix}Code"]:
                areas.setdefault(row[f"{prefix}Code"], _area(row, prefix, level, parent, **until))
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
    since = {"valid_from": REFORM_DATE}
    areas = [_area(rows[0], "province", "province", None, **since)]
    areas += [_area(row, "ward", "commune", "province", **since) for row in rows]
    return AreaHierarchy(name=name, levels=["province", "commune"], areas=areas)


def binh_phuoc_2021() -> AreaHierarchy:
    """The default profile's areas: Bình Phước (code 70) with its 11 district-level units."""
    return legacy_province("70", "binh-phuoc-2021")


def dong_nai_2025() -> AreaHierarchy:
    """Đồng Nai (code 75) after the reform, which absorbed Bình Phước: two tiers."""
    return current_province("75", "dong-nai-2025")
