"""Area shapes shipped with each profile: GeoJSON the Grafana map draws, offline.

Run ``python -m schemas.province.profiles.geo`` (``--check`` compares instead of writing).

No boundary data under a licence this project can ship was reachable when this was
written (decision 0031: GADM forbids redistribution; the CC BY-SA district file of
geoBoundaries is only stored as Git LFS pointers where we could read; OpenStreetMap was
not reachable). So the shapes are **schematic**: each area of the finest level gets
the Voronoi cell of its official coordinates (the profile's, from the kept package),
clipped to a hull around all of them; a coarser area is the union of its children.
They tile the province and put every commune's point in its own commune, which is
what a choropleth and a click need, but the lines are not the legal boundaries.
Every feature says so (``"schematic": true``). A province with real boundaries
replaces the file with its own, keeping ``id``/``code`` = the area code.

Pure Python and deterministic: coordinates are rounded to 4 decimals (about 11 m), so
the same profile always gives the same bytes; a unit test compares them.
"""

from __future__ import annotations

import json
import math
import sys
from collections import defaultdict
from pathlib import Path

from schemas.province.areas import AreaHierarchy
from schemas.province.loading import load_profile

GEO_DIR = Path(__file__).resolve().parent / "geo"
PROFILES = ("binh-phuoc-2021", "dong-nai-2025")
MARGIN_KM = 6.0
"""How far the hull reaches beyond the outermost commune points."""
PRECISION = 4

Point = tuple[float, float]
Ring = list[Point]


def file_name(profile: str) -> str:
    """The GeoJSON file of a profile (also its name under Grafana's public/maps/ioc)."""
    return f"{profile}.geojson"


def _hull(points: list[Point]) -> Ring:
    """Convex hull, counter-clockwise (Andrew's monotone chain)."""
    pts = sorted(set(points))

    def cross(o: Point, a: Point, b: Point) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: Ring = []
    upper: Ring = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _clip(polygon: Ring, site: Point, other: Point) -> Ring:
    """The part of ``polygon`` nearer to ``site`` than to ``other`` (one half-plane)."""
    mx, my = (site[0] + other[0]) / 2, (site[1] + other[1]) / 2
    nx, ny = other[0] - site[0], other[1] - site[1]

    def inside(p: Point) -> float:
        return (p[0] - mx) * nx + (p[1] - my) * ny  # <= 0: on the site's side

    out: Ring = []
    for i, current in enumerate(polygon):
        previous = polygon[i - 1]
        c, p = inside(current), inside(previous)
        if (c <= 0) != (p <= 0):
            t = p / (p - c)
            out.append(
                (previous[0] + t * (current[0] - previous[0]),
                 previous[1] + t * (current[1] - previous[1]))
            )  # fmt: skip
        if c <= 0:
            out.append(current)
    return out


def _rounded(ring: Ring, scale: float) -> Ring:
    """Back to degrees, rounded; consecutive duplicates dropped."""
    out: Ring = []
    for x, y in ring:
        p = (round(x / scale, PRECISION), round(y, PRECISION))
        if not out or out[-1] != p:
            out.append(p)
    while len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return out


def _area(ring: Ring) -> float:
    return (
        sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:] + ring[:1], strict=True)) / 2
    )


def _contains(ring: Ring, p: Point) -> bool:
    inside = False
    for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
        if (a[1] > p[1]) != (b[1] > p[1]):
            x = a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
            if p[0] < x:
                inside = not inside
    return inside


def union(cells: list[Ring]) -> list[list[Ring]]:
    """Polygons (outer ring, then holes) covering cells that share whole edges."""
    edges: set[tuple[Point, Point]] = set()
    for cell in cells:
        ring = cell if _area(cell) > 0 else cell[::-1]
        for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
            if (b, a) in edges:
                edges.remove((b, a))
            else:
                edges.add((a, b))
    following: dict[Point, list[Point]] = defaultdict(list)
    for a, b in sorted(edges):
        following[a].append(b)
    rings: list[Ring] = []
    for start in sorted(following):
        while following[start]:
            ring, point = [start], following[start].pop(0)
            while point != start:
                ring.append(point)
                if not following[point]:
                    raise ValueError("the cells do not close into rings")
                point = following[point].pop(0)
            rings.append(ring)
    outers = [r for r in rings if _area(r) > 0]
    polygons = [[outer] for outer in outers]
    for hole in (r for r in rings if _area(r) < 0):
        owner = next(p for p in polygons if _contains(p[0], hole[0]))
        owner.append(hole)
    return polygons


def shapes(hierarchy: AreaHierarchy) -> dict[str, list[list[Ring]]]:
    """Area code → polygons (lon, lat rings) of every area."""
    finest = [a for a in hierarchy.areas if a.level == hierarchy.levels[-1]]
    lat0 = sum(a.latitude or 0 for a in finest) / len(finest)
    scale = math.cos(math.radians(lat0))  # x = lon * cos(lat0): distances near true
    by_code = {a.code: a for a in hierarchy.areas}
    sites: dict[str, Point] = {}
    for area in sorted(finest, key=lambda a: a.code):
        site = ((area.longitude or 0) * scale, area.latitude or 0)
        if site in sites.values():
            # The package gives some same-named places one point (e.g. Phường Tân Phú
            # and Thị trấn Tân Phú): move the later code halfway to its parent's point.
            parent = by_code[area.parent_code or ""]
            site = ((site[0] + (parent.longitude or 0) * scale) / 2,
                    (site[1] + (parent.latitude or 0)) / 2)  # fmt: skip
        sites[area.code] = site
    margin = MARGIN_KM / 111.32
    ring = [(x + margin * math.cos(k * math.pi / 8), y + margin * math.sin(k * math.pi / 8))
            for x, y in sites.values() for k in range(16)]  # fmt: skip
    hull = _hull(ring)
    cells: dict[str, Ring] = {}
    for code, site in sites.items():
        cell = hull
        for other_code, other in sites.items():
            if other_code != code:
                cell = _clip(cell, site, other)
        cells[code] = _rounded(cell, scale)
    children: dict[str, list[str]] = defaultdict(list)
    for area in hierarchy.areas:
        if area.parent_code is not None:
            children[area.parent_code].append(area.code)
    out: dict[str, list[list[Ring]]] = {}

    def leaves(code: str) -> list[str]:
        return [code] if code in cells else [x for c in children[code] for x in leaves(c)]

    for area in hierarchy.areas:
        out[area.code] = union([cells[c] for c in leaves(area.code)])
    return out


def render(profile: str) -> str:
    """The profile's FeatureCollection: one feature per area, coarse levels first."""
    hierarchy = load_profile(profile).areas
    polygons = shapes(hierarchy)
    depth = {level: i for i, level in enumerate(hierarchy.levels)}
    features = []
    for area in sorted(hierarchy.areas, key=lambda a: (depth[a.level], a.code)):
        closed = [[[*ring, ring[0]] for ring in polygon] for polygon in polygons[area.code]]
        features.append(
            {
                "type": "Feature",
                "id": area.code,
                "properties": {
                    "code": area.code,
                    "name": area.name,
                    "level": area.level,
                    "parent_code": area.parent_code or "",
                    "schematic": True,
                },
                "geometry": {"type": "MultiPolygon", "coordinates": closed},
            }
        )
    collection = {
        "type": "FeatureCollection",
        "name": profile,
        "schematic": True,
        "note": (
            "Schematic areas: Voronoi cells of the official area coordinates, not legal "
            "boundaries (decision 0031). Replace with licensed boundaries keeping id = code."
        ),
        "features": features,
    }
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n"


def main(argv: list[str]) -> int:
    """Write (or with --check compare) every profile's GeoJSON."""
    check = "--check" in argv
    stale = []
    for profile in PROFILES:
        path = GEO_DIR / file_name(profile)
        text = render(profile)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            GEO_DIR.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"{path}: {len(text.encode()) // 1024} KiB")
    if stale:
        print("stale: " + ", ".join(stale) + " (run python -m schemas.province.profiles.geo)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
