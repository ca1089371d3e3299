"""IOC overview: the wall screen — today's headline KPIs, the map, what is wrong now.

The headline tiles are :mod:`ioc.ops.grafana.dashboards.overview_tiles`; the map and the
list of open alerts are here.
"""

from __future__ import annotations

from ioc.ops.grafana.dashboards.common import DOMAIN_NAMES, SEVERITY_NAMES, value_names
from ioc.ops.grafana.dashboards.overview_tiles import (
    congestion_tile,
    demand_tile,
    on_time_tile,
    online_tile,
    open_anomalies_tile,
)
from ioc.ops.grafana.model import Check, Dashboard, Panel, Sql, T
from ioc.ops.grafana.sql import AREA_VARIABLES, under_areas
from ioc.ops.grafana.uids import OVERVIEW
from schemas.province.profile import Profile

STATE_STEPS = (("green", None), ("blue", 1), ("orange", 2), ("red", 3))
"""0 reporting, 1 no data in the last 15 minutes, 2 warning open, 3 critical open."""


def geomap(profile: Profile) -> Panel:
    """Sensors, meters and check-points where they are, coloured by their state."""
    points = [e for kind in ("sensor", "meter", "checkpoint") for e in profile.entities(kind)]
    lat = round(sum(p.latitude for p in points) / len(points), 3) if points else 11.6
    lon = round(sum(p.longitude for p in points) / len(points), 3) if points else 106.9
    sql = f"""
SELECT e.entity_kind AS kind, e.entity_id AS id, e.name AS name,
       e.latitude AS latitude, e.longitude AS longitude,
       multiIf(a.worst = 2, 3, a.worst = 1, 2, r.entity_id = '', 1, 0) AS state,
       a.open_anomalies AS open_anomalies, r.latest AS latest
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
    return Panel(
        "geomap",
        T("Bản đồ cảm biến, công tơ, chốt kiểm soát", "Map of sensors, meters and check-points"),
        [
            Sql(
                sql,
                Check(
                    {
                        "kind": None,
                        "id": None,
                        "name": None,
                        "latitude": (-90, 90),
                        "longitude": (-180, 180),
                        "state": (0, 3),
                        "latest": (0, 100_000),
                    },
                    min_rows=10,
                ),
            )
        ],
        width=16,
        height=16,
        description=T(
            "Xanh lá: đang báo số; xanh dương: không có số liệu 15 phút; cam: cảnh báo; "
            "đỏ: nghiêm trọng. Giá trị gần nhất: km/h (cảm biến), V (công tơ), lượt quét "
            "15 phút (chốt). Toạ độ minh hoạ.",
            "Green: reporting; blue: no data for 15 min; orange: warning; red: critical. "
            "Latest: km/h (sensors), V (meters), scans in 15 min (check-points). "
            "Coordinates are illustrative.",
        ),
        thresholds=STATE_STEPS,
        options={
            "view": {"id": "coords", "lat": lat, "lon": lon, "zoom": 9, "allLayers": True},
            "controls": {"showZoom": True, "mouseWheelZoom": True, "showAttribution": True},
            "basemap": {"type": "default", "name": "Basemap", "config": {}},
            "tooltip": {"mode": "details"},
            "layers": [
                {
                    "type": "markers",
                    "name": "entities",
                    "tooltip": True,
                    "location": {
                        "mode": "coords",
                        "latitude": "latitude",
                        "longitude": "longitude",
                    },
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
            ],
        },
    )


def open_list() -> Panel:
    """The open warnings and criticals, worst and newest first."""
    return Panel(
        "table",
        T("Đang cảnh báo", "Alerting now"),
        [
            Sql(
                f"""
SELECT started_at, severity, domain, metric, entity_id, ifNull(ar.name, area_code) AS area
FROM anomalies_live AS x
LEFT JOIN (SELECT code, name FROM areas FINAL) AS ar ON ar.code = x.area_code
WHERE state = 'open' AND severity IN ('warning', 'critical') AND {under_areas("x.area_code")}
ORDER BY severity = 'critical' DESC, started_at DESC
LIMIT 50
""",
                Check(
                    {
                        "started_at": None,
                        "severity": None,
                        "domain": None,
                        "metric": None,
                        "entity_id": None,
                        "area": None,
                    }
                ),
            )
        ],
        width=8,
        height=16,
        options={"showHeader": True, "cellHeight": "sm", "footer": {"show": False}},
        overrides=(
            value_names("severity", SEVERITY_NAMES),
            value_names("domain", DOMAIN_NAMES),
        ),
        renames={
            "started_at": T("Bắt đầu", "Since"),
            "severity": T("Mức", "Severity"),
            "domain": T("Lĩnh vực", "Domain"),
            "metric": T("Chỉ số", "Metric"),
            "entity_id": T("Đối tượng", "Entity"),
            "area": T("Địa bàn", "Area"),
        },
    )


def build(profile: Profile) -> Dashboard:
    """The overview dashboard for a province profile (targets from its rules)."""
    rules = profile.rules
    return Dashboard(
        OVERVIEW,
        T("IOC — Tổng quan", "IOC — Overview"),
        [
            on_time_tile(rules.on_time_rate_target),
            online_tile(rules.online_receipt_target),
            congestion_tile(rules.congestion_index),
            demand_tile(),
            open_anomalies_tile(),
            geomap(profile),
            open_list(),
        ],
        variables=AREA_VARIABLES,
        description=T(
            "Trung tâm điều hành thông minh: chỉ số chính, bản đồ và cảnh báo đang mở",
            "Intelligent Operations Center: headline KPIs, the map and open alerts",
        ),
    )
