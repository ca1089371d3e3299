"""IOC overview: the wall screen — today's headline KPIs, the map, what is wrong now.

The headline tiles are :mod:`ioc.ops.grafana.dashboards.overview_tiles`, the map
:mod:`ioc.ops.grafana.dashboards.overview_map`; the list of open alerts is here.
"""

from __future__ import annotations

from ioc.ops.grafana.dashboards.common import DOMAIN_NAMES, SEVERITY_NAMES, value_names
from ioc.ops.grafana.dashboards.overview_map import geomap
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
