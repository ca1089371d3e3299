"""The overview's map: offline area shapes, one layer per KPI by commune, the entities.

Nothing is fetched from the internet (decision 0031): the basemap is the profile's
GeoJSON (schemas/province/profiles/geo/, served by Grafana from public/maps/ioc/), drawn
by Grafana's GeoJSON layer. Grafana 12 colours a GeoJSON layer by feature properties
only, and its markers layer draws points (WebGL), so the KPI layers are markers at each
finest-level area's official point, coloured and sized by the area's value, over the
area outlines. Each layer reads its own query (filterData by refId); the entity markers
link to the entity's domain dashboard with ``var-entity`` like the alert links do.
"""

from __future__ import annotations

from typing import Any

from ioc.ops.grafana.model import Check, Panel, Range, Sql, Step, T
from ioc.ops.grafana.sql import under_areas
from ioc.ops.grafana.uids import ENERGY, QR, TRAFFIC
from schemas.province.profile import Profile

MAPS_URL = "public/maps/ioc"
"""Where Grafana serves the profiles' GeoJSON (deploy/docker-compose.yml mounts it)."""
STATE_STEPS = (("green", None), ("blue", 1), ("orange", 2), ("red", 3))
"""0 reporting, 1 no data in the last 15 minutes, 2 warning open, 3 critical open."""
LAST_HOUR = "window_start > $__toTime - INTERVAL 60 MINUTE AND window_start <= $__toTime"
ENTITY_LINK = (
    "/d/${__data.fields.dashboard_uid}?orgId=1&${__url_time_range}"
    "&var-entity=${__data.fields.entity}"
)

ENTITIES = f"""
SELECT e.entity_kind AS kind, e.entity_id AS id, e.name AS name,
       e.latitude AS latitude, e.longitude AS longitude,
       multiIf(a.worst = 2, 3, a.worst = 1, 2, r.entity_id = '', 1, 0) AS state,
       a.open_anomalies AS open_anomalies, r.latest AS latest,
       multiIf(e.entity_kind = 'meter', '{ENERGY}', e.entity_kind = 'checkpoint', '{QR}',
               '{TRAFFIC}') AS dashboard_uid,
       e.entity_id AS entity
FROM
(
    SELECT entity_kind, entity_id, name, latitude, longitude
    FROM entities FINAL
    WHERE entity_kind IN ('sensor', 'meter', 'checkpoint') AND latitude IS NOT NULL
      AND {under_areas("area_code")}
) AS e
LEFT JOIN
(
    SELECT entity_kind, entity_id, count() AS open_anomalies,
           max(multiIf(severity = 'critical', 2, severity = 'warning', 1, 0)) AS worst
    FROM anomalies_live WHERE state = 'open'
    GROUP BY entity_kind, entity_id
) AS a ON a.entity_kind = e.entity_kind AND a.entity_id = e.entity_id
LEFT JOIN
(
    SELECT 'sensor' AS entity_kind, entity_id,
           argMax(if(speed_vehicles = 0, NULL, speed_x_vehicles / speed_vehicles),
                  window_start) AS latest
    FROM kpi_traffic_live
    WHERE entity_kind = 'sensor' AND window_size = '1m'
      AND window_start > $__toTime - INTERVAL 15 MINUTE AND window_start <= $__toTime
    GROUP BY entity_id
    UNION ALL
    SELECT 'meter', entity_id, argMax(voltage_sum / greatest(voltage_samples, 1), window_start)
    FROM kpi_energy_live
    WHERE entity_kind = 'meter' AND window_size = '1m'
      AND window_start > $__toTime - INTERVAL 15 MINUTE AND window_start <= $__toTime
    GROUP BY entity_id
    UNION ALL
    SELECT 'checkpoint', entity_id, toFloat64(sum(scans))
    FROM kpi_qr_live
    WHERE entity_kind = 'checkpoint' AND window_size = '1m'
      AND window_start > $__toTime - INTERVAL 15 MINUTE AND window_start <= $__toTime
    GROUP BY entity_id
) AS r ON r.entity_kind = e.entity_kind AND r.entity_id = e.entity_id
"""


def by_area(level: str, table: str, value: str, having: str, column: str) -> str:
    """One row per ``level`` area with data in the last hour: its point and ``value``."""
    return f"""
SELECT ar.code AS code, ar.name AS area, ar.latitude AS latitude, ar.longitude AS longitude,
       k.value AS {column}
FROM
(
    SELECT code, name, latitude, longitude FROM areas FINAL
    WHERE level = '{level}' AND latitude IS NOT NULL AND {under_areas("code")}
) AS ar
ALL INNER JOIN
(
    SELECT area_code, {value} AS value
    FROM {table}
    WHERE area_level = '{level}' AND window_size = '1m' AND {LAST_HOUR}
    GROUP BY area_code
    HAVING {having}
) AS k ON k.area_code = ar.code
"""


def kpi_layers(profile: Profile) -> list[tuple[str, T, str, Range, tuple[Step, ...]]]:
    """(refId, name, SQL, value range, colour steps) of each KPI layer, finest level."""
    level = profile.areas.levels[-1]
    rules = profile.rules
    low_v = round(220 * rules.undervoltage_ratio, 1)
    return [
        (
            "B",
            T("Ùn tắc theo xã", "Congestion by commune"),
            by_area(
                level,
                "kpi_traffic_by_area",
                "greatest(0., 1. - sum(speed_x_vehicles) / sum(free_flow_x_vehicles))",
                "sum(free_flow_x_vehicles) > 0",
                "value_B",
            ),
            (0.0, 1.0),
            (
                ("green", None),
                ("orange", rules.congestion_index * 0.75),
                ("red", rules.congestion_index),
            ),
        ),
        (
            "C",
            T("Điện áp trung bình theo xã (V)", "Mean voltage by commune (V)"),
            by_area(
                level,
                "kpi_energy_by_area",
                "sum(voltage_sum) / sum(voltage_samples)",
                "sum(voltage_samples) > 0",
                "value_C",
            ),
            (0.0, 1000.0),
            (("red", None), ("orange", low_v), ("green", round(220 * 0.95, 1))),
        ),
        (
            "D",
            T("Lượt quét QR theo xã (1 giờ)", "QR scans by commune (1 h)"),
            by_area(level, "kpi_qr_by_area", "toFloat64(sum(scans))", "sum(scans) > 0", "value_D"),
            (0.0, None),
            (("blue", None), ("purple", 100)),
        ),
    ]


SYMBOLS = {"B": ("square", "left"), "C": ("triangle", "center"), "D": ("circle", "right")}
"""Each KPI its own symbol, side by side at the commune's point (symbolAlign), so the
three layers stay readable together; the legend names them."""


def _area_layer(ref: str, name: T) -> dict[str, Any]:
    symbol, side = SYMBOLS[ref]
    return {
        "type": "markers",
        "name": name,
        "tooltip": True,
        "filterData": {"id": "byRefId", "options": ref},
        "location": {"mode": "coords", "latitude": "latitude", "longitude": "longitude"},
        "config": {
            "showLegend": True,
            "style": {
                "color": {"field": f"value_{ref}", "fixed": "blue"},
                "opacity": 0.7,
                "size": {"fixed": 7},
                "symbol": {"mode": "fixed", "fixed": f"img/icons/marker/{symbol}.svg"},
                "symbolAlign": {"horizontal": side, "vertical": "center"},
            },
        },
    }


def geomap(profile: Profile) -> Panel:
    """Area outlines (offline), KPI layers by commune, entities coloured by state."""
    points = [e for kind in ("sensor", "meter", "checkpoint") for e in profile.entities(kind)]
    lat = round(sum(p.latitude for p in points) / len(points), 3) if points else 11.6
    lon = round(sum(p.longitude for p in points) / len(points), 3) if points else 106.9
    layers = kpi_layers(profile)
    targets = [
        Sql(
            ENTITIES,
            Check(
                {
                    "kind": None,
                    "id": None,
                    "name": None,
                    "latitude": (-90, 90),
                    "longitude": (-180, 180),
                    "state": (0, 3),
                    "latest": (0, 100_000),
                    "dashboard_uid": None,
                    "entity": None,
                },
                min_rows=10,
            ),
        ),
        *(
            Sql(
                sql,
                Check(
                    {
                        "code": None,
                        "area": None,
                        "latitude": (-90, 90),
                        "longitude": (-180, 180),
                        f"value_{ref}": value_range,
                    }
                ),
                ref_id=ref,
            )
            for ref, _, sql, value_range, _ in layers
        ),
    ]
    basemap = {
        "type": "geojson",
        "name": T("Địa giới (sơ đồ)", "Areas (schematic)"),
        "config": {
            "src": f"{MAPS_URL}/{profile.name}.geojson",  # schemas.province.profiles.geo.file_name
            "style": {"color": {"fixed": "#8ab8ff"}, "opacity": 0.08, "lineWidth": 1},
            "rules": [
                {
                    "check": {"property": "level", "operation": "eq", "value": level},
                    "style": {"color": {"fixed": "#5794f2"}, "opacity": 0.05, "lineWidth": width},
                }
                for level, width in ((profile.areas.levels[0], 3), ("district", 2))
            ],
        },
    }
    entity_layer = {
        "type": "markers",
        "name": T("Cảm biến, công tơ, chốt", "Sensors, meters, check-points"),
        "tooltip": True,
        "filterData": {"id": "byRefId", "options": "A"},
        "location": {"mode": "coords", "latitude": "latitude", "longitude": "longitude"},
        "config": {
            "showLegend": True,
            "style": {
                "color": {"field": "state", "fixed": "green"},
                "opacity": 0.85,
                "size": {"fixed": 6, "min": 4, "max": 12},
                "symbol": {"mode": "fixed", "fixed": "img/icons/marker/circle.svg"},
            },
        },
    }
    value_overrides = [
        {
            "matcher": {"id": "byName", "options": f"value_{ref}"},
            "properties": [
                {"id": "displayName", "value": name},
                {"id": "thresholds", "value": {"mode": "absolute", "steps": [
                    {"color": c, "value": v} for c, v in steps]}},
            ],
        }
        for ref, name, _, _, steps in layers
    ]  # fmt: skip
    link = {
        "matcher": {"id": "byName", "options": "name"},
        "properties": [
            {"id": "links", "value": [{
                "title": T("Mở bảng điều khiển của đối tượng", "Open the entity's dashboard"),
                "url": ENTITY_LINK}]},
        ],
    }  # fmt: skip
    return Panel(
        "geomap",
        T("Bản đồ: địa bàn, chỉ số theo xã, thiết bị", "Map: areas, KPIs by commune, devices"),
        targets,
        width=16,
        height=16,
        description=T(
            "Vuông: ùn tắc; tam giác: điện áp; tròn lớn: lượt quét QR — của mỗi xã trong 1 "
            "giờ qua (xem chú giải). Chấm nhỏ: thiết "
            "bị — xanh lá: đang báo số; xanh dương: không có số liệu 15 phút; cam: cảnh "
            "báo; đỏ: nghiêm trọng; bấm để mở bảng điều khiển của thiết bị. Đường địa "
            "giới là sơ đồ (không phải ranh giới pháp lý); toạ độ thiết bị minh hoạ.",
            "Square: congestion; triangle: voltage; circle: QR scans — each commune's "
            "value over the last hour (see the legend). Small dots: devices — green reporting, "
            "blue no data for 15 min, orange "
            "warning, red critical; click to open the device's dashboard. Area lines are "
            "schematic (not legal boundaries); device coordinates are illustrative.",
        ),
        thresholds=STATE_STEPS,
        overrides=(*value_overrides, link),
        hidden=("dashboard_uid", "entity"),
        options={
            "view": {"id": "coords", "lat": lat, "lon": lon, "zoom": 9, "allLayers": True},
            "controls": {
                "showZoom": True,
                "mouseWheelZoom": True,
                "showAttribution": True,
                "showScale": True,
            },
            "basemap": basemap,
            "tooltip": {"mode": "details"},
            "layers": [
                *(_area_layer(ref, name) for ref, name, *_ in layers),
                entity_layer,
            ],
        },
    )
