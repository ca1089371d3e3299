"""The overview map: offline basemap files that exist, parse and name the profile's areas."""

from __future__ import annotations

import json
import re

import pytest

from ioc.ops.grafana.build import render_all
from ioc.ops.grafana.dashboards.overview_map import MAPS_URL
from ioc.settings import PROJECT_ROOT
from schemas.province.loading import load_profile
from schemas.province.profiles.geo import GEO_DIR, PROFILES, main, render, shapes

pytestmark = pytest.mark.unit


def _geomap(profile_name: str) -> dict:
    profile = load_profile(profile_name)
    overview = next(r.data for r in render_all(profile) if r.data["uid"] == "ioc-overview")
    return next(p for p in overview["panels"] if p["type"] == "geomap")


@pytest.mark.parametrize("profile_name", PROFILES)
def test_files_the_dashboard_references_exist_parse_and_are_the_profiles_areas(
    profile_name: str,
) -> None:
    geomap = _geomap(profile_name)
    sources = [geomap["options"]["basemap"]["config"]["src"]] + [
        layer["config"]["src"] for layer in geomap["options"]["layers"] if "src" in layer["config"]
    ]
    codes = {a.code for a in load_profile(profile_name).areas.areas}
    for src in sources:
        assert src.startswith(MAPS_URL + "/")
        path = GEO_DIR / src.removeprefix(MAPS_URL + "/")
        collection = json.loads(path.read_text(encoding="utf-8"))
        ids = [f["id"] for f in collection["features"]]
        assert sorted(ids) == sorted(codes)
        for feature in collection["features"]:
            assert feature["properties"]["code"] == feature["id"]
            assert feature["geometry"]["type"] == "MultiPolygon"
        assert path.stat().st_size < 1_000_000


def test_no_layer_fetches_from_the_internet() -> None:
    text = json.dumps(_geomap("binh-phuoc-2021"))
    assert geomap_basemap_type("binh-phuoc-2021") == "geojson"
    assert not re.search(r"https?://", text)


def geomap_basemap_type(profile_name: str) -> str:
    return str(_geomap(profile_name)["options"]["basemap"]["type"])


def test_each_kpi_layer_reads_its_own_query_and_entity_markers_link_to_dashboards() -> None:
    geomap = _geomap("binh-phuoc-2021")
    refs = {t["refId"] for t in geomap["targets"]}
    layers = geomap["options"]["layers"]
    assert {layer["filterData"]["options"] for layer in layers} == refs
    links = [
        p["value"][0]["url"]
        for o in geomap["fieldConfig"]["overrides"]
        for p in o["properties"]
        if p["id"] == "links"
    ]
    assert links
    assert "var-entity=${__data.fields.entity}" in links[0]


def test_compose_mounts_the_geo_files_where_the_dashboard_reads_them() -> None:
    compose = (PROJECT_ROOT / "deploy" / "docker-compose.yml").read_text(encoding="utf-8")
    assert "../schemas/province/profiles/geo:/usr/share/grafana/" + MAPS_URL + ":ro" in compose


@pytest.mark.parametrize("profile_name", PROFILES)
def test_every_finest_area_point_lies_in_its_own_shape_and_its_ancestors(
    profile_name: str,
) -> None:
    hierarchy = load_profile(profile_name).areas
    polygons = shapes(hierarchy)
    finest = [a for a in hierarchy.areas if a.level == hierarchy.levels[-1]]
    moved = 0
    for area in finest:
        point = (area.longitude or 0, area.latitude or 0)
        if not _inside(polygons[area.code], point):
            moved += 1  # a duplicate point moved towards its parent (geo.shapes)
            continue
        for ancestor in hierarchy.ancestors(area.code):
            assert _inside(polygons[ancestor.code], point), (area.code, ancestor.code)
    assert moved <= 2


def _inside(polygons: list, point: tuple[float, float]) -> bool:
    def ring_has(ring: list, p: tuple[float, float]) -> bool:
        inside = False
        for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
            crosses = (a[1] > p[1]) != (b[1] > p[1])
            if crosses and p[0] < a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1]):
                inside = not inside
        return inside

    return any(ring_has(poly[0], point) and not any(ring_has(h, point) for h in poly[1:])
               for poly in polygons)  # fmt: skip


def test_checked_in_geo_files_are_what_the_builder_renders() -> None:
    assert main(["--check"]) == 0
    assert render("dong-nai-2025") == (GEO_DIR / "dong-nai-2025.geojson").read_text("utf-8")
