"""Traffic: volumes, speeds and congestion by area level, and the road segments."""

from __future__ import annotations

from ioc.ops.grafana.dashboards.common import series, table, unit_override
from ioc.ops.grafana.dashboards.entity import anomaly_annotations, entity_series, entity_variable
from ioc.ops.grafana.model import Dashboard, Row, T
from ioc.ops.grafana.sql import (
    AREA_NAMES,
    AREA_VARIABLES,
    BUCKET_HOURS,
    NON_NEGATIVE,
    RATE,
    WINDOW,
    groups_in_areas,
    in_areas,
    latest_window,
)
from ioc.ops.grafana.uids import TRAFFIC
from schemas.province.profile import Profile

TRAFFIC_KINDS = ("sensor", "segment")


def _by_area(value: str) -> str:
    return f"""
SELECT $__timeInterval(k.window_start) AS time, a.name AS area, {value}
FROM kpi_traffic_by_area AS k
INNER JOIN {AREA_NAMES} AS a ON a.code = k.area_code
WHERE k.area_level = '${{level}}' AND k.window_size = {WINDOW}
  AND $__timeFilter(k.window_start) AND {in_areas("k.area_code")}
GROUP BY time, area
ORDER BY time
"""


def build(profile: Profile) -> Dashboard:
    """The traffic dashboard."""
    congestion = profile.rules.congestion_index
    last = latest_window("kpi_traffic_live", "segment", "15m", "2 HOUR")
    segments = f"""
SELECT s.name AS segment, ifNull(ar.name, s.area_code) AS area, k.vehicles AS vehicles,
       k.vehicles / 0.25 AS flow_veh_h,
       if(k.speed_vehicles = 0, NULL, k.speed_x_vehicles / k.speed_vehicles) AS mean_speed_kmh,
       if(k.free_flow_x_vehicles = 0, NULL,
          greatest(0, 1 - k.speed_x_vehicles / k.free_flow_x_vehicles)) AS congestion_index,
       multiIf(k.free_flow_x_vehicles = 0, '-',
               k.speed_x_vehicles / k.free_flow_x_vehicles >= 0.85, 'A',
               k.speed_x_vehicles / k.free_flow_x_vehicles >= 0.67, 'B',
               k.speed_x_vehicles / k.free_flow_x_vehicles >= 0.50, 'C',
               k.speed_x_vehicles / k.free_flow_x_vehicles >= 0.40, 'D',
               k.speed_x_vehicles / k.free_flow_x_vehicles >= 0.30, 'E', 'F') AS level_of_service,
       k.sensors_reporting AS sensors_reporting, k.sensors_expected AS sensors_expected
FROM
(
    SELECT * FROM kpi_traffic_live
    WHERE entity_kind = 'segment' AND window_size = '15m' AND window_start = {last}
      AND {groups_in_areas("segment")}
) AS k
INNER JOIN (SELECT entity_id, name, area_code FROM entities FINAL WHERE entity_kind = 'segment')
      AS s ON s.entity_id = k.entity_id
LEFT JOIN {AREA_NAMES} AS ar ON ar.code = s.area_code
ORDER BY congestion_index DESC
"""
    return Dashboard(
        TRAFFIC,
        T("IOC — Giao thông", "IOC — Traffic"),
        [
            Row(T("Theo địa bàn", "By area")),
            series(
                T("Lưu lượng (xe/giờ)", "Flow (vehicles/hour)"),
                _by_area(f"sum(k.vehicles) / {BUCKET_HOURS} AS flow_veh_h"),
                {"time": None, "area": None, "flow_veh_h": NON_NEGATIVE},
                unit="short",
                label="area",
            ),
            series(
                T("Tốc độ trung bình (km/h)", "Mean speed (km/h)"),
                _by_area(
                    "if(sum(k.speed_vehicles) = 0, NULL, "
                    "sum(k.speed_x_vehicles) / sum(k.speed_vehicles)) AS mean_speed_kmh"
                ),
                {"time": None, "area": None, "mean_speed_kmh": (0, 200)},
                unit="velocitykmh",
                description=T("Trung bình theo số xe", "Weighted by vehicles"),
                label="area",
            ),
            series(
                T("Chỉ số ùn tắc", "Congestion index"),
                _by_area(
                    "if(sum(k.free_flow_x_vehicles) = 0, NULL, greatest(0, 1 - "
                    "sum(k.speed_x_vehicles) / sum(k.free_flow_x_vehicles))) AS congestion_index"
                ),
                {"time": None, "area": None, "congestion_index": RATE},
                thresholds=(("green", None), ("red", congestion)),
                threshold_line=True,
                max_value=1,
                label="area",
            ),
            series(
                T("Cảm biến báo số / dự kiến", "Sensors reporting / expected"),
                _by_area(
                    "if(sum(k.sensors_expected) = 0, NULL, "
                    "sum(k.sensors_reporting) / sum(k.sensors_expected)) AS sensors_reporting"
                ),
                {"time": None, "area": None, "sensors_reporting": RATE},
                unit="percentunit",
                max_value=1,
                label="area",
            ),
            Row(T("Đối tượng đã chọn", "The selected entity")),
            entity_series(
                "traffic",
                T("Tốc độ và ùn tắc của đối tượng đã chọn", "Speed and congestion, selected"),
                "if(sum(k.speed_vehicles) = 0, NULL, "
                "sum(k.speed_x_vehicles) / sum(k.speed_vehicles)) AS mean_speed_kmh, "
                "if(sum(k.free_flow_x_vehicles) = 0, NULL, greatest(0, "
                "1 - sum(k.speed_x_vehicles) / sum(k.free_flow_x_vehicles))) AS congestion_index",
                {"mean_speed_kmh": (0, 250), "congestion_index": (0, 1)},
                {
                    "mean_speed_kmh": T("Tốc độ TB (km/h)", "Mean speed (km/h)"),
                    "congestion_index": T("Chỉ số ùn tắc", "Congestion index"),
                },
                kinds=TRAFFIC_KINDS,
            ),
            Row(T("Đoạn đường (15 phút gần nhất)", "Road segments (newest 15 min)")),
            table(
                T("Đoạn đường", "Road segments"),
                segments,
                {
                    "segment": None,
                    "area": None,
                    "vehicles": NON_NEGATIVE,
                    "flow_veh_h": NON_NEGATIVE,
                    "mean_speed_kmh": (0, 200),
                    "congestion_index": RATE,
                    "level_of_service": None,
                    "sensors_reporting": NON_NEGATIVE,
                    "sensors_expected": NON_NEGATIVE,
                },
                {
                    "segment": T("Đoạn đường", "Segment"),
                    "area": T("Địa bàn", "Area"),
                    "vehicles": T("Số xe", "Vehicles"),
                    "flow_veh_h": T("Xe/giờ", "Veh/h"),
                    "mean_speed_kmh": T("Tốc độ TB", "Mean speed"),
                    "congestion_index": T("Ùn tắc", "Congestion"),
                    "level_of_service": T("Mức phục vụ", "LOS"),
                    "sensors_reporting": T("Cảm biến báo số", "Sensors reporting"),
                    "sensors_expected": T("Cảm biến", "Sensors"),
                },
                description=T(
                    "Mức phục vụ A–F theo tỷ lệ tốc độ / tốc độ tự do (HCM)",
                    "Level of service A–F from speed / free-flow speed (HCM bands)",
                ),
                overrides=(
                    unit_override("mean_speed_kmh", "velocitykmh", 1),
                    unit_override("congestion_index", "none", 2),
                    unit_override("flow_veh_h", "short", 0),
                ),
            ),
        ],
        variables=(*AREA_VARIABLES, entity_variable(TRAFFIC_KINDS)),
        annotations=(anomaly_annotations("traffic"),),
        time_from="now-6h",
    )
