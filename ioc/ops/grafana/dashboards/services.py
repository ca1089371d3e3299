"""Public services (Decision 766/QĐ-TTg indicators): by agency, by area, by agency level."""

from __future__ import annotations

from ioc.ops.grafana.dashboards.common import (
    LEVEL_NAMES,
    rate_cell,
    series,
    table,
    unit_override,
    value_names,
)
from ioc.ops.grafana.dashboards.entity import anomaly_annotations, entity_series, entity_variable
from ioc.ops.grafana.model import Dashboard, Panel, Row, T
from ioc.ops.grafana.sql import (
    AREA_NAMES,
    AREA_VARIABLES,
    NON_NEGATIVE,
    RATE,
    groups_in_areas,
    in_areas,
    under_areas,
)
from ioc.ops.grafana.uids import SERVICES
from schemas.province.profile import Profile

DAYS = "window_start <= $__toTime AND window_start > $__fromTime - INTERVAL 1 DAY"
"""Calendar days touching the range (a day window exists only once the day is over;
the area views carry no window_end, and a day is one day long)."""

# Over a range: flows (received, finished, ...) add up day by day; the open backlog is
# a stock, so only the newest day's open_at_end counts (argMax by window_start).
PERIOD_PARTS = """
    sum(received) AS received, sum(received_online) AS received_online,
    sum(finished) AS finished, sum(finished_late) AS finished_late,
    argMax(open_at_end, window_start) AS open_end,
    argMax(open_late_at_end, window_start) AS open_late_end,
    sum(paid_online) AS paid_online, sum(digitized) AS digitized,
    sum(processing_hours_sum) AS processing_hours"""
PERIOD_RATES = """
    if(k.received = 0, NULL, k.received_online / k.received) AS online_receipt_rate,
    if(k.finished + k.open_end = 0, NULL,
       1 - (k.finished_late + k.open_late_end) / (k.finished + k.open_end)) AS on_time_rate,
    if(k.finished = 0, NULL, k.paid_online / k.finished) AS online_payment_rate,
    if(k.received = 0, NULL, k.digitized / k.received) AS digitization_rate,
    if(k.finished = 0, NULL, k.processing_hours / k.finished) AS mean_processing_hours"""
RATE_COLUMNS = {
    "received": NON_NEGATIVE,
    "finished": NON_NEGATIVE,
    "online_receipt_rate": RATE,
    "on_time_rate": RATE,
    "online_payment_rate": RATE,
    "digitization_rate": RATE,
    "mean_processing_hours": (0, 24 * 365),
}
RATE_NAMES = {
    "received": T("Tiếp nhận", "Received"),
    "finished": T("Đã giải quyết", "Finished"),
    "online_receipt_rate": T("Trực tuyến", "Online"),
    "on_time_rate": T("Đúng hạn", "On time"),
    "online_payment_rate": T("Thanh toán TT", "Paid online"),
    "digitization_rate": T("Số hoá", "Digitized"),
    "mean_processing_hours": T("Giờ xử lý TB", "Mean hours"),
}


def _rate_overrides(on_time: float, online: float) -> tuple[dict[str, object], ...]:
    return (
        rate_cell("on_time_rate", on_time),
        rate_cell("online_receipt_rate", online),
        unit_override("online_payment_rate", "percentunit", 1),
        unit_override("digitization_rate", "percentunit", 1),
        unit_override("mean_processing_hours", "h", 1),
    )


def agency_panels(on_time: float) -> list[Panel | Row]:
    """The agency an alert's link selects (Entity variable), day by day.

    Its dossiers with the band of its overdue anomalies, and its on-time rate against the
    target with the band of on-time-rate anomalies.
    """
    return [
        Row(T("Cơ quan đã chọn", "Selected agency")),
        entity_series(
            "dossier",
            T("Hồ sơ của cơ quan đã chọn (theo ngày)", "Dossiers of the selected agency (daily)"),
            "sum(k.received) AS received, sum(k.finished) AS finished, "
            "sum(k.open_late_at_end) AS overdue",
            {"received": NON_NEGATIVE, "finished": NON_NEGATIVE, "overdue": NON_NEGATIVE},
            {
                "received": T("Tiếp nhận", "Received"),
                "finished": T("Đã giải quyết", "Finished"),
                "overdue": T("Quá hạn cuối ngày", "Overdue at day end"),
            },
            kinds=("agency",),
            unit="short",
            daily=True,
            band_metrics=("overdue",),
            width=12,
        ),
        entity_series(
            "dossier",
            T("Tỷ lệ đúng hạn của cơ quan đã chọn", "On-time rate of the selected agency"),
            "if(sum(k.finished) + sum(k.open_at_end) = 0, NULL, "
            "1 - (sum(k.finished_late) + sum(k.open_late_at_end)) "
            "/ (sum(k.finished) + sum(k.open_at_end))) AS on_time_rate",
            {"on_time_rate": RATE},
            {"on_time_rate": T("Đúng hạn", "On time")},
            kinds=("agency",),
            unit="percentunit",
            thresholds=(("red", None), ("green", on_time)),
            daily=True,
            band_metrics=("on_time_rate",),
            width=12,
            max_value=1,
        ),
    ]


def build(profile: Profile) -> Dashboard:
    """The public-services dashboard (targets from the profile's rules)."""
    rules = profile.rules
    on_time, online = rules.on_time_rate_target, rules.online_receipt_target
    daily = f"""
SELECT window_start AS time,
       if(sum(finished) + sum(open_at_end) = 0, NULL,
          1 - (sum(finished_late) + sum(open_late_at_end)) / (sum(finished) + sum(open_at_end)))
       AS on_time_rate,
       if(sum(received) = 0, NULL, sum(received_online) / sum(received)) AS online_receipt_rate,
       if(sum(finished) = 0, NULL, sum(paid_online) / sum(finished)) AS online_payment_rate,
       if(sum(received) = 0, NULL, sum(digitized) / sum(received)) AS digitization_rate
FROM kpi_dossier_live
WHERE entity_kind = 'agency' AND window_size = 'day' AND {DAYS}
  AND {groups_in_areas("agency")}
GROUP BY time
ORDER BY time
"""
    by_agency = f"""
SELECT e.name AS agency, ifNull(ar.name, e.area_code) AS area, k.received AS received,
       k.finished AS finished, {PERIOD_RATES},
       s.open_now AS open_now, s.overdue_now AS overdue_now
FROM
(
    SELECT entity_id, {PERIOD_PARTS}
    FROM kpi_dossier_live
    WHERE entity_kind = 'agency' AND window_size = 'day' AND {DAYS}
      AND {groups_in_areas("agency")}
    GROUP BY entity_id
) AS k
INNER JOIN (SELECT entity_id, name, area_code FROM entities FINAL WHERE entity_kind = 'agency')
      AS e ON e.entity_id = k.entity_id
LEFT JOIN {AREA_NAMES} AS ar ON ar.code = e.area_code
LEFT JOIN
(
    SELECT agency_code, countIf(is_open = 1) AS open_now,
           countIf(is_open = 1 AND due_at < now()) AS overdue_now
    FROM dossier_state_latest GROUP BY agency_code
) AS s ON s.agency_code = k.entity_id
ORDER BY on_time_rate ASC
"""
    by_area = f"""
SELECT ar.name AS area, k.received AS received, k.finished AS finished, {PERIOD_RATES}
FROM
(
    SELECT area_code, {PERIOD_PARTS}
    FROM kpi_dossier_by_area
    WHERE area_level = '${{level}}' AND window_size = 'day' AND {DAYS}
      AND {in_areas("area_code")}
    GROUP BY area_code
) AS k
INNER JOIN {AREA_NAMES} AS ar ON ar.code = k.area_code
ORDER BY on_time_rate ASC
"""
    by_agency_level = f"""
SELECT k.agency_level AS agency_level, k.received AS received, k.finished AS finished,
       {PERIOD_RATES}
FROM
(
    SELECT lv.level AS agency_level, {PERIOD_PARTS}
    FROM
    (
        SELECT entity_id, window_start, received, received_online, finished, finished_late,
               open_at_end, open_late_at_end, paid_online, digitized, processing_hours_sum
        FROM kpi_dossier_live
        WHERE entity_kind = 'agency' AND window_size = 'day' AND {DAYS}
          AND {groups_in_areas("agency")}
    ) AS d
    INNER JOIN
    (
        SELECT e.entity_id AS entity_id, a.level AS level, a.depth AS depth
        FROM (SELECT entity_id, area_code FROM entities FINAL WHERE entity_kind = 'agency') AS e
        INNER JOIN (SELECT code, level, depth FROM areas FINAL) AS a ON a.code = e.area_code
    ) AS lv ON lv.entity_id = d.entity_id
    GROUP BY lv.level
) AS k
ORDER BY k.agency_level
"""
    backlog = f"""
SELECT countIf(is_open = 1) AS open_now,
       countIf(is_open = 1 AND due_at < now()) AS overdue_now
FROM dossier_state_latest
WHERE {under_areas("area_code")}
"""
    return Dashboard(
        SERVICES,
        T("IOC — Dịch vụ công", "IOC — Public services"),
        [
            series(
                T("Tỷ lệ theo ngày", "Daily rates"),
                daily,
                {
                    "time": None,
                    "on_time_rate": RATE,
                    "online_receipt_rate": RATE,
                    "online_payment_rate": RATE,
                    "digitization_rate": RATE,
                },
                unit="percentunit",
                width=16,
                max_value=1,
                names={
                    "on_time_rate": T("Đúng hạn", "On time"),
                    "online_receipt_rate": T("Tiếp nhận trực tuyến", "Received online"),
                    "online_payment_rate": T("Thanh toán trực tuyến", "Paid online"),
                    "digitization_rate": T("Số hoá", "Digitized"),
                },
                thresholds=(("red", None), ("green", on_time)),
                threshold_line=True,
                description=T(
                    f"Chỉ số theo Quyết định 766/QĐ-TTg; chỉ tiêu đúng hạn {on_time:.0%}",
                    f"Decision 766/QĐ-TTg indicators; on-time target {on_time:.0%}",
                ),
            ),
            table(
                T("Hồ sơ tồn (hiện tại)", "Backlog (now)"),
                backlog,
                {"open_now": NON_NEGATIVE, "overdue_now": NON_NEGATIVE},
                {
                    "open_now": T("Đang giải quyết", "Open"),
                    "overdue_now": T("Quá hạn", "Overdue"),
                },
                width=8,
                height=8,
            ),
            Row(T("Theo cơ quan", "By agency")),
            table(
                T("Theo cơ quan (trong khoảng thời gian)", "By agency (over the range)"),
                by_agency,
                {
                    "agency": None,
                    "area": None,
                    **RATE_COLUMNS,
                    "open_now": NON_NEGATIVE,
                    "overdue_now": NON_NEGATIVE,
                },
                {
                    "agency": T("Cơ quan", "Agency"),
                    "area": T("Địa bàn", "Area"),
                    **RATE_NAMES,
                    "open_now": T("Đang giải quyết", "Open now"),
                    "overdue_now": T("Quá hạn", "Overdue now"),
                },
                height=12,
                overrides=_rate_overrides(on_time, online),
            ),
            *agency_panels(on_time),
            Row(T("Theo địa bàn và cấp", "By area and level")),
            table(
                T("Theo địa bàn (cấp đã chọn)", "By area (selected level)"),
                by_area,
                {"area": None, **RATE_COLUMNS},
                {"area": T("Địa bàn", "Area"), **RATE_NAMES},
                width=14,
                overrides=_rate_overrides(on_time, online),
            ),
            table(
                T("Theo cấp cơ quan", "By agency level"),
                by_agency_level,
                {"agency_level": None, **RATE_COLUMNS},
                {"agency_level": T("Cấp", "Level"), **RATE_NAMES},
                width=10,
                overrides=(
                    *_rate_overrides(on_time, online),
                    value_names("agency_level", LEVEL_NAMES),
                ),
            ),
        ],
        variables=(*AREA_VARIABLES, entity_variable(("agency",))),
        annotations=(anomaly_annotations("dossier"),),
        time_from="now-30d",
        refresh="5m",
    )
