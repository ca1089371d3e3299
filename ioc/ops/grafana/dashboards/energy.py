"""Energy: demand, voltage quality and the feeders."""

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
from ioc.ops.grafana.uids import ENERGY
from schemas.province.profile import Profile

VOLTS = (0.0, 1_000.0)
ENERGY_KINDS = ("meter", "feeder")


def _by_area(value: str) -> str:
    return f"""
SELECT $__timeInterval(k.window_start) AS time, a.name AS area, {value}
FROM kpi_energy_by_area AS k
INNER JOIN {AREA_NAMES} AS a ON a.code = k.area_code
WHERE k.area_level = '${{level}}' AND k.window_size = {WINDOW}
  AND $__timeFilter(k.window_start) AND {in_areas("k.area_code")}
GROUP BY time, area
ORDER BY time
"""


def _combined(value: str) -> str:
    return f"""
SELECT $__timeInterval(k.window_start) AS time, {value}
FROM kpi_energy_by_area AS k
WHERE k.area_level = '${{level}}' AND k.window_size = {WINDOW}
  AND $__timeFilter(k.window_start) AND {in_areas("k.area_code")}
GROUP BY time
ORDER BY time
"""


def build(profile: Profile) -> Dashboard:
    """The energy dashboard (voltage bands from the profile's rules)."""
    rules = profile.rules
    nominal = 220.0
    low, high = nominal * rules.undervoltage_ratio, nominal * rules.overvoltage_ratio
    last = latest_window("kpi_energy_live", "feeder", "15m", "2 HOUR")
    feeders = f"""
SELECT f.name AS feeder, ifNull(ar.name, f.area_code) AS area,
       k.energy_kwh / 0.25 AS demand_kw,
       k.voltage_min_v AS voltage_min_v,
       if(k.voltage_samples = 0, NULL, k.voltage_sum / k.voltage_samples) AS voltage_mean_v,
       k.voltage_max_v AS voltage_max_v,
       k.seconds_outside_voltage / 60 AS minutes_outside,
       k.meters_reporting AS meters_reporting, k.meters_expected AS meters_expected,
       k.register_resets AS register_resets
FROM
(
    SELECT * FROM kpi_energy_live
    WHERE entity_kind = 'feeder' AND window_size = '15m' AND window_start = {last}
      AND {groups_in_areas("feeder")}
) AS k
INNER JOIN (SELECT entity_id, name, area_code FROM entities FINAL WHERE entity_kind = 'feeder')
      AS f ON f.entity_id = k.entity_id
LEFT JOIN {AREA_NAMES} AS ar ON ar.code = f.area_code
ORDER BY voltage_min_v ASC
"""
    band = (("red", None), ("green", low), ("red", high))
    return Dashboard(
        ENERGY,
        T("IOC — Điện năng", "IOC — Energy"),
        [
            Row(T("Theo địa bàn", "By area")),
            series(
                T("Phụ tải (MW)", "Demand (MW)"),
                _by_area(f"sum(k.energy_kwh) / {BUCKET_HOURS} / 1000 AS demand_mw"),
                {"time": None, "area": None, "demand_mw": (0, 10_000)},
                unit="MW",
                description=T(
                    "Công suất trung bình từ điện năng đo được (chỉ số công tơ)",
                    "Mean power from metered energy (register deltas)",
                ),
                label="area",
            ),
            series(
                T("Điện áp thấp nhất / trung bình / cao nhất", "Voltage min / mean / max"),
                _combined(
                    "min(k.voltage_min_v) AS voltage_min_v, "
                    "if(sum(k.voltage_samples) = 0, NULL, "
                    "sum(k.voltage_sum) / sum(k.voltage_samples)) AS voltage_mean_v, "
                    "max(k.voltage_max_v) AS voltage_max_v"
                ),
                {
                    "time": None,
                    "voltage_min_v": VOLTS,
                    "voltage_mean_v": VOLTS,
                    "voltage_max_v": VOLTS,
                },
                unit="volt",
                thresholds=band,
                threshold_line=True,
                description=T(
                    f"Các địa bàn đã chọn; dải cho phép {low:.0f}–{high:.0f} V "
                    f"(±10% của {nominal:.0f} V)",
                    f"Selected areas; allowed band {low:.0f}–{high:.0f} V "
                    f"(±10% of {nominal:.0f} V)",
                ),
                names={
                    "voltage_min_v": T("Thấp nhất", "Min"),
                    "voltage_mean_v": T("Trung bình", "Mean"),
                    "voltage_max_v": T("Cao nhất", "Max"),
                },
            ),
            series(
                T("Phút ngoài dải điện áp", "Minutes outside the voltage band"),
                _by_area("sum(k.seconds_outside_voltage) / 60 AS minutes_outside"),
                {"time": None, "area": None, "minutes_outside": NON_NEGATIVE},
                unit="m",
                label="area",
            ),
            series(
                T("Công tơ báo số / dự kiến", "Meters reporting / expected"),
                _by_area(
                    "if(sum(k.meters_expected) = 0, NULL, "
                    "sum(k.meters_reporting) / sum(k.meters_expected)) AS meters_reporting"
                ),
                {"time": None, "area": None, "meters_reporting": RATE},
                unit="percentunit",
                max_value=1,
                label="area",
            ),
            Row(T("Đối tượng đã chọn", "The selected entity")),
            entity_series(
                "energy",
                T("Điện áp của đối tượng đã chọn", "Voltage of the selected entity"),
                "min(k.voltage_min_v) AS voltage_min_v, "
                "if(sum(k.voltage_samples) = 0, NULL, "
                "sum(k.voltage_sum) / sum(k.voltage_samples)) AS voltage_mean_v, "
                "max(k.voltage_max_v) AS voltage_max_v",
                {"voltage_min_v": VOLTS, "voltage_mean_v": VOLTS, "voltage_max_v": VOLTS},
                {
                    "voltage_min_v": T("Thấp nhất", "Min"),
                    "voltage_mean_v": T("Trung bình", "Mean"),
                    "voltage_max_v": T("Cao nhất", "Max"),
                },
                kinds=ENERGY_KINDS,
                unit="volt",
                thresholds=band,
            ),
            Row(T("Xuất tuyến (15 phút gần nhất)", "Feeders (newest 15 min)")),
            table(
                T("Xuất tuyến", "Feeders"),
                feeders,
                {
                    "feeder": None,
                    "area": None,
                    "demand_kw": (0, 1_000_000),
                    "voltage_min_v": VOLTS,
                    "voltage_mean_v": VOLTS,
                    "voltage_max_v": VOLTS,
                    "minutes_outside": (0, 15 * 1_000),
                    "meters_reporting": NON_NEGATIVE,
                    "meters_expected": NON_NEGATIVE,
                    "register_resets": NON_NEGATIVE,
                },
                {
                    "feeder": T("Xuất tuyến", "Feeder"),
                    "area": T("Địa bàn", "Area"),
                    "demand_kw": T("Phụ tải kW", "Demand kW"),
                    "voltage_min_v": T("U min", "V min"),
                    "voltage_mean_v": T("U TB", "V mean"),
                    "voltage_max_v": T("U max", "V max"),
                    "minutes_outside": T("Phút ngoài dải", "Minutes outside band"),
                    "meters_reporting": T("Công tơ báo số", "Meters reporting"),
                    "meters_expected": T("Công tơ", "Meters"),
                    "register_resets": T("Reset công tơ", "Register resets"),
                },
                overrides=(
                    unit_override("demand_kw", "kwatt", 1),
                    unit_override("voltage_min_v", "volt", 1),
                    unit_override("voltage_mean_v", "volt", 1),
                    unit_override("voltage_max_v", "volt", 1),
                    unit_override("minutes_outside", "m", 1),
                ),
            ),
        ],
        variables=(*AREA_VARIABLES, entity_variable(ENERGY_KINDS)),
        annotations=(anomaly_annotations("energy"),),
        time_from="now-6h",
    )
