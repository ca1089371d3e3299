"""The headline tiles of the overview: today's KPIs against their targets, open anomalies."""

from __future__ import annotations

from ioc.ops.grafana.model import Check, Panel, Sql, T
from ioc.ops.grafana.sql import NON_NEGATIVE, RATE, groups_in_areas, latest_window, under_areas

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
