"""IOC overview: the wall screen — today's headline KPIs, the map, what is wrong now."""

from __future__ import annotations

from ioc.ops.grafana.dashboards.common import DOMAIN_NAMES, SEVERITY_NAMES, value_names
from ioc.ops.grafana.model import Check, Dashboard, Panel, Sql, T
from ioc.ops.grafana.sql import (
    AREA_VARIABLES,
    NON_NEGATIVE,
    RATE,
    groups_in_areas,
    latest_window,
    under_areas,
)
from ioc.ops.grafana.uids import OVERVIEW
from schemas.province.profile import Profile

STAT = {
    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
    "colorMode": "background",
    "graphMode": "none",
    "justifyMode": "center",
    "orientation": "auto",
    "textMode": "value",
    "wideLayout": True,
    "showPercentChange": False,
}


def _rate_tile(title: T, description: T, sql: str, column: str, target: float) -> Panel:
    return Panel(
        "stat",
        title,
        [Sql(sql, Check({column: RATE}))],
        width=4,
        height=5,
        description=description,
        unit="percentunit",
        decimals=1,
        min=0,
        max=1,
        thresholds=(("red", None), ("orange", target - 0.05), ("green", target)),
        options=STAT,
    )


def on_time_tile(target: float) -> Panel:
    """Decision 766 on-time rate of the newest day in range, against the profile's target."""
    last = latest_window("kpi_dossier_live", "agency", "day", "3 DAY")
    return _rate_tile(
        T("Hồ sơ đúng hạn (ngày)", "Dossiers on time (day)"),
        T(
            f"1 − (trễ hạn + đang trễ) / (hoàn thành + đang giải quyết), ngày gần nhất; "
            f"chỉ tiêu {target:.0%}",
            f"1 − (finished late + open late) / (finished + open), newest day; target {target:.0%}",
        ),
        f"""
SELECT if(sum(finished) + sum(open_at_end) = 0, NULL,
          1 - (sum(finished_late) + sum(open_late_at_end)) / (sum(finished) + sum(open_at_end)))
       AS on_time_rate
FROM kpi_dossier_live
WHERE entity_kind = 'agency' AND window_size = 'day' AND window_start = {last}
  AND {groups_in_areas("agency")}
""",
        "on_time_rate",
        target,
    )


def online_tile(target: float) -> Panel:
    """Share of dossiers received online on the newest day."""
    last = latest_window("kpi_dossier_live", "agency", "day", "3 DAY")
    return _rate_tile(
        T("Tiếp nhận trực tuyến (ngày)", "Received online (day)"),
        T(f"Chỉ tiêu {target:.0%}", f"Target {target:.0%}"),
        f"""
SELECT if(sum(received) = 0, NULL, sum(received_online) / sum(received)) AS online_receipt_rate
FROM kpi_dossier_live
WHERE entity_kind = 'agency' AND window_size = 'day' AND window_start = {last}
  AND {groups_in_areas("agency")}
""",
        "online_receipt_rate",
        target,
    )


def congestion_tile(threshold: float) -> Panel:
    """Congestion index over the selected segments in the newest 15-minute window."""
    last = latest_window("kpi_traffic_live", "segment", "15m", "2 HOUR")
    return Panel(
        "stat",
        T("Chỉ số ùn tắc (15 phút)", "Congestion index (15 min)"),
        [
            Sql(
                f"""
SELECT if(sum(free_flow_x_vehicles) = 0, NULL,
          greatest(0, 1 - sum(speed_x_vehicles) / sum(free_flow_x_vehicles))) AS congestion_index
FROM kpi_traffic_live
WHERE entity_kind = 'segment' AND window_size = '15m' AND window_start = {last}
  AND {groups_in_areas("segment")}
""",
                Check({"congestion_index": RATE}),
            )
        ],
        width=4,
        height=5,
        description=T(
            "max(0, 1 − tốc độ / tốc độ tự do), theo lưu lượng",
            "max(0, 1 − speed / free-flow speed), weighted by vehicles",
        ),
        decimals=2,
        min=0,
        max=1,
        thresholds=(("green", None), ("orange", threshold / 2), ("red", threshold)),
        options=STAT,
    )


def demand_tile() -> Panel:
    """Electricity demand (mean MW) of the selected feeders in the newest 15-minute window."""
    last = latest_window("kpi_energy_live", "feeder", "15m", "2 HOUR")
    return Panel(
        "stat",
        T("Phụ tải điện (15 phút)", "Electricity demand (15 min)"),
        [
            Sql(
                f"""
SELECT sum(energy_kwh) / 0.25 / 1000 AS demand_mw,
       if(sum(meters_expected) = 0, NULL, sum(meters_reporting) / sum(meters_expected))
       AS meters_reporting
FROM kpi_energy_live
WHERE entity_kind = 'feeder' AND window_size = '15m' AND window_start = {last}
  AND {groups_in_areas("feeder")}
""",
                Check({"demand_mw": (0, 10_000), "meters_reporting": RATE}),
            )
        ],
        width=4,
        height=5,
        description=T(
            "Công suất trung bình (MW) từ điện năng; nền đổi màu khi thiếu công tơ báo số",
            "Mean power (MW) from energy; the colour turns when meters stop reporting",
        ),
        options=STAT | {"textMode": "value_and_name"},
        overrides=(
            {
                "matcher": {"id": "byName", "options": "demand_mw"},
                "properties": [
                    {"id": "unit", "value": "MW"},
                    {"id": "decimals", "value": 2},
                    {"id": "displayName", "value": "MW"},
                    {"id": "color", "value": {"mode": "fixed", "fixedColor": "blue"}},
                ],
            },
            {
                "matcher": {"id": "byName", "options": "meters_reporting"},
                "properties": [
                    {"id": "unit", "value": "percentunit"},
                    {"id": "displayName", "value": "%"},
                    {
                        "id": "thresholds",
                        "value": {
                            "mode": "absolute",
                            "steps": [
                                {"color": "red", "value": None},
                                {"color": "orange", "value": 0.9},
                                {"color": "green", "value": 0.98},
                            ],
                        },
                    },
                ],
            },
        ),
    )


def _severity_override(name: str, colour: str) -> dict[str, object]:
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [
            {
                "id": "thresholds",
                "value": {
                    "mode": "absolute",
                    "steps": [{"color": "green", "value": None}, {"color": colour, "value": 1}],
                },
            }
        ],
    }


def open_anomalies_tile() -> Panel:
    """Open anomalies of the live generation, by severity."""
    return Panel(
        "stat",
        T("Bất thường đang mở", "Open anomalies"),
        [
            Sql(
                f"""
SELECT countIf(severity = 'critical') AS critical,
       countIf(severity = 'warning') AS warning,
       countIf(severity = 'info') AS info
FROM anomalies_live
WHERE state = 'open' AND {under_areas("area_code")}
""",
                Check({"critical": NON_NEGATIVE, "warning": NON_NEGATIVE, "info": NON_NEGATIVE}),
            )
        ],
        width=8,
        height=5,
        unit="none",
        decimals=0,
        options=STAT | {"textMode": "value_and_name"},
        overrides=(
            _severity_override("critical", "red"),
            _severity_override("warning", "orange"),
            _severity_override("info", "blue"),
        ),
        renames={
            "critical": T("Nghiêm trọng", "Critical"),
            "warning": T("Cảnh báo", "Warning"),
            "info": T("Thông tin", "Info"),
        },
    )


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
    SELECT 'sensor' AS entity_kind, entity_id, argMax(speed_x_vehicles / greatest(vehicles, 1),
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
