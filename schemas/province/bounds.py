"""Where a province's devices may be: a box around its areas, or its real boundary.

The box is the one of the areas' official points (kept with the profile) widened by
:data:`MARGIN_KM`: area points are centres, and a province reaches further than its
communes' centres. A real boundary (a GeoJSON under schemas/province/profiles/geo/ not
marked ``"schematic": true``) bounds the devices more tightly. The shipped shapes are
schematic (decision 0031), so today the box is what checks an inventory.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

from schemas.province.profile import Profile

MARGIN_KM = 15.0
"""How far beyond the outermost area point (or the edge of a real boundary) a device
may be: area points are centres, and a province reaches further than its communes'."""
KM_PER_DEGREE = 111.32


@dataclass(frozen=True, slots=True)
class Bounds:
    """Where a province's devices may be: real boundary polygons, or a box."""

    box: tuple[float, float, float, float]  # south, west, north, east
    polygons: tuple[tuple[tuple[tuple[float, float], ...], ...], ...] = ()  # rings of (lon, lat)

    def contains(self, lat: float, lon: float) -> bool:
        """Inside the box, and inside or within MARGIN_KM of the polygons if any."""
        south, west, north, east = self.box
        if not (south <= lat <= north and west <= lon <= east):
            return False
        if not self.polygons:
            return True
        if any(_inside(lon, lat, polygon) for polygon in self.polygons):
            return True
        return any(
            _km_to_segment(lat, lon, ring[i - 1], ring[i]) <= MARGIN_KM
            for polygon in self.polygons
            for ring in polygon
            for i in range(1, len(ring))
        )


def _inside(x: float, y: float, polygon: tuple[tuple[tuple[float, float], ...], ...]) -> bool:
    def in_ring(ring: tuple[tuple[float, float], ...]) -> bool:
        hit = False
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                hit = not hit
        return hit

    return in_ring(polygon[0]) and not any(in_ring(hole) for hole in polygon[1:])


def _km_to_segment(lat: float, lon: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    # Equirectangular around the point: metres-accurate at a province's scale.
    k = math.cos(math.radians(lat))
    ax, ay = (a[0] - lon) * k, a[1] - lat
    bx, by = (b[0] - lon) * k, b[1] - lat
    dx, dy = bx - ax, by - ay
    t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / (dx * dx + dy * dy)))
    return math.hypot(ax + t * dx, ay + t * dy) * KM_PER_DEGREE


def bounds_of(profile: Profile, geojson: bytes | None = None) -> Bounds:
    """The box of the areas' points, widened by MARGIN_KM.

    With a real (not schematic) GeoJSON, the polygons of its feature whose ``code`` is
    the root area's code bound the devices too (with the same margin).
    """
    points = [
        (a.latitude, a.longitude)
        for a in profile.areas.areas
        if a.latitude is not None and a.longitude is not None
    ]
    if not points:
        return Bounds((-90.0, -180.0, 90.0, 180.0))
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    polygons: list[tuple[tuple[tuple[float, float], ...], ...]] = []
    doc: Any = json.loads(geojson) if geojson else {}
    if doc and not doc.get("schematic", False):
        root = next(a.code for a in profile.areas.areas if a.level == profile.areas.levels[0])
        for feature in doc.get("features", []):
            if str(feature.get("properties", {}).get("code", feature.get("id"))) != root:
                continue
            geometry = feature["geometry"]
            shapes = geometry["coordinates"]
            for shape in [shapes] if geometry["type"] == "Polygon" else shapes:
                polygons.append(tuple(tuple((float(x), float(y)) for x, y, *_ in r) for r in shape))
        for polygon in polygons:
            lons += [x for x, _ in polygon[0]]
            lats += [y for _, y in polygon[0]]
    dlat = MARGIN_KM / KM_PER_DEGREE
    dlon = dlat / math.cos(math.radians(max(abs(min(lats)), abs(max(lats)))))
    box = (min(lats) - dlat, min(lons) - dlon, max(lats) + dlat, max(lons) + dlon)
    return Bounds(box, tuple(polygons))


def shipped_geojson(profile_name: str) -> bytes | None:
    """The profile's shapes shipped as package data (schemas/province/profiles/geo/)."""
    path = resources.files("schemas.province") / "profiles" / "geo" / f"{profile_name}.geojson"
    return path.read_bytes() if path.is_file() else None
