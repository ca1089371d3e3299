"""QR check-points: flows in and out, declarations, distinct people, the check-points."""

from __future__ import annotations

from ioc.ops.grafana.dashboards.common import series, table, unit_override
from ioc.ops.grafana.dashboards.entity import anomaly_annotations, entity_series, entity_variable
from ioc.ops.grafana.model import Dashboard, Row, T
from ioc.ops.grafana.sql import (
    AREA_NAMES,
    AREA_VARIABLES,
    NON_NEGATIVE,
    RATE,
    WINDOW,
    groups_in_areas,
    in_areas,
)
from ioc.ops.grafana.uids import QR
from schemas.province.profile import Profile


def build(profile: Profile) -> Dashboard:
    """The QR check-point dashboard."""
    flows = f"""
SELECT $__timeInterval(window_start) AS time, sum(scans_in) AS scans_in,
       sum(scans_out) AS scans_out, toInt64(scans_in) - toInt64(scans_out) AS net_flow
FROM kpi_qr_live
WHERE entity_kind = 'checkpoint' AND window_size = {WINDOW} AND $__timeFilter(window_start)
  AND {groups_in_areas("checkpoint")}
GROUP BY time
ORDER BY time
"""
    not_green = f"""
SELECT $__timeInterval(k.window_start) AS time, a.name AS area,
       if(sum(k.scans) = 0, NULL, sum(k.not_green) / sum(k.scans)) AS share_not_green
FROM kpi_qr_by_area AS k
INNER JOIN {AREA_NAMES} AS a ON a.code = k.area_code
WHERE k.area_level = '${{level}}' AND k.window_size = {WINDOW}
  AND $__timeFilter(k.window_start) AND {in_areas("k.area_code")}
GROUP BY time, area
ORDER BY time
"""
    distinct = f"""
SELECT toDateTime(d.day, 'Asia/Ho_Chi_Minh') AS time, a.name AS area,
       d.distinct_subjects AS distinct_subjects
FROM qr_distinct_by_area_day AS d
INNER JOIN {AREA_NAMES} AS a ON a.code = d.area_code
WHERE d.area_level = '${{level}}'
  AND d.day >= toDate($__fromTime, 'Asia/Ho_Chi_Minh')
  AND d.day <= toDate($__toTime, 'Asia/Ho_Chi_Minh')
  AND {in_areas("d.area_code")}
ORDER BY time
"""
    checkpoints = f"""
SELECT c.name AS checkpoint, JSONExtractString(c.attributes, 'kind') AS kind,
       ifNull(ar.name, c.area_code) AS area, k.scans_in AS scans_in, k.scans_out AS scans_out,
       toInt64(k.scans_in) - toInt64(k.scans_out) AS net_flow, k.persons AS persons,
       k.vehicles AS vehicles,
       if(k.scans = 0, NULL, k.not_green / k.scans) AS share_not_green
FROM
(
    SELECT entity_id, sum(scans) AS scans, sum(scans_in) AS scans_in,
           sum(scans_out) AS scans_out, sum(persons) AS persons, sum(vehicles) AS vehicles,
           sum(not_green) AS not_green
    FROM kpi_qr_live
    WHERE entity_kind = 'checkpoint' AND window_size = {WINDOW} AND $__timeFilter(window_start)
      AND {groups_in_areas("checkpoint")}
    GROUP BY entity_id
) AS k
INNER JOIN
(
    SELECT entity_id, name, area_code, attributes FROM entities FINAL
    WHERE entity_kind = 'checkpoint'
) AS c ON c.entity_id = k.entity_id
LEFT JOIN {AREA_NAMES} AS ar ON ar.code = c.area_code
ORDER BY scans_in DESC
"""
    return Dashboard(
        QR,
        T("IOC — Chốt kiểm soát QR", "IOC — QR check-points"),
        [
            series(
                T("Lượt vào / ra", "Scans in / out"),
                flows,
                {
                    "time": None,
                    "scans_in": NON_NEGATIVE,
                    "scans_out": NON_NEGATIVE,
                    "net_flow": (None, None),
                },
                unit="short",
                names={
                    "scans_in": T("Vào", "In"),
                    "scans_out": T("Ra", "Out"),
                    "net_flow": T("Chênh lệch", "Net"),
                },
            ),
            series(
                T("Tỷ lệ khai báo không xanh", "Share not green"),
                not_green,
                {"time": None, "area": None, "share_not_green": RATE},
                unit="percentunit",
                max_value=1,
                label="area",
                description=T(
                    "Vàng, đỏ hoặc chưa khai báo trên tổng lượt quét",
                    "Yellow, red or unknown declarations over all scans",
                ),
            ),
            series(
                T("Số người / phương tiện khác nhau theo ngày", "Distinct subjects per day"),
                distinct,
                {"time": None, "area": None, "distinct_subjects": NON_NEGATIVE},
                unit="short",
                width=24,
                label="area",
                description=T(
                    "Đếm chính xác từ dữ liệu gốc (không cộng dồn được giữa các chốt)",
                    "Counted exactly from raw scans (not additive across check-points)",
                ),
            ),
            Row(T("Chốt kiểm soát đã chọn", "The selected check-point")),
            entity_series(
                "qr",
                T("Lượt vào / ra của chốt đã chọn", "Scans in / out, selected check-point"),
                "sum(k.scans_in) AS scans_in, sum(k.scans_out) AS scans_out",
                {"scans_in": (0, None), "scans_out": (0, None)},
                {"scans_in": T("Vào", "In"), "scans_out": T("Ra", "Out")},
                kinds=("checkpoint",),
            ),
            Row(T("Chốt kiểm soát", "Check-points")),
            table(
                T("Chốt kiểm soát (trong khoảng thời gian)", "Check-points (over the range)"),
                checkpoints,
                {
                    "checkpoint": None,
                    "kind": None,
                    "area": None,
                    "scans_in": NON_NEGATIVE,
                    "scans_out": NON_NEGATIVE,
                    "net_flow": (None, None),
                    "persons": NON_NEGATIVE,
                    "vehicles": NON_NEGATIVE,
                    "share_not_green": RATE,
                },
                {
                    "checkpoint": T("Chốt", "Check-point"),
                    "kind": T("Loại", "Kind"),
                    "area": T("Địa bàn", "Area"),
                    "scans_in": T("Vào", "In"),
                    "scans_out": T("Ra", "Out"),
                    "net_flow": T("Chênh lệch", "Net"),
                    "persons": T("Người", "Persons"),
                    "vehicles": T("Phương tiện", "Vehicles"),
                    "share_not_green": T("Không xanh", "Not green"),
                },
                overrides=(unit_override("share_not_green", "percentunit", 1),),
            ),
        ],
        variables=(*AREA_VARIABLES, entity_variable(("checkpoint",))),
        annotations=(anomaly_annotations("qr"),),
    )
