"""Anomalies: every incident of the live generation, with links to the panel that shows it."""

from __future__ import annotations

from ioc.ops.grafana.dashboards.common import (
    DOMAIN_NAMES,
    SEVERITY_NAMES,
    STATE_NAMES,
    series,
    table,
    unit_override,
    value_names,
)
from ioc.ops.grafana.model import Dashboard, T, Variable
from ioc.ops.grafana.sql import AREA_NAMES, AREA_VARIABLES, NON_NEGATIVE, under_areas
from ioc.ops.grafana.uids import ANOMALIES, DOMAIN_DASHBOARDS
from schemas.province.profile import Profile

DOMAIN = Variable(
    "domain",
    T("Lĩnh vực", "Domain"),
    values=tuple(DOMAIN_NAMES.items()),
    multi=True,
    include_all=True,
)
SEVERITY = Variable(
    "severity",
    T("Mức độ", "Severity"),
    values=tuple(SEVERITY_NAMES.items()),
    multi=True,
    include_all=True,
)
FILTERS = (
    "$__conditionalAll(domain IN (${domain:singlequote}), $domain) "
    "AND $__conditionalAll(severity IN (${severity:singlequote}), $severity)"
)
# The panel that shows an anomaly: its domain's dashboard, its time range ± 30 minutes,
# its entity selected (as an alert's link: connectors.sinks.alerter).
DASHBOARD_OF = (
    "multiIf("
    + ", ".join(f"domain = '{d}', '{uid}'" for d, uid in DOMAIN_DASHBOARDS.items())
    + f", '{ANOMALIES}')"
)
LINK = (
    "/d/${__data.fields.dashboard_uid}?orgId=1&from=${__data.fields.link_from}"
    "&to=${__data.fields.link_to}&var-area=${__data.fields.area_code}"
    "&var-entity=${__data.fields.entity_id}"
)


def build(profile: Profile) -> Dashboard:
    """The anomalies dashboard."""
    incidents = f"""
SELECT x.started_at AS started_at, x.ended_at AS ended_at, x.state AS state,
       x.severity AS severity, x.domain AS domain, x.metric AS metric,
       x.entity_kind AS entity_kind, x.entity_id AS entity_id, x.group_id AS group_id,
       ifNull(ar.name, x.area_code) AS area, x.observed AS observed, x.expected AS expected,
       x.expected_low AS expected_low, x.expected_high AS expected_high, x.score AS score,
       x.detector AS detector, x.description AS description,
       dateDiff('minute', x.started_at, ifNull(x.ended_at, now())) AS duration_min,
       x.anomaly_id AS anomaly_id, x.area_code AS area_code,
       {DASHBOARD_OF} AS dashboard_uid,
       toUnixTimestamp(x.started_at - INTERVAL 30 MINUTE) * 1000 AS link_from,
       toUnixTimestamp(ifNull(x.ended_at, now()) + INTERVAL 30 MINUTE) * 1000 AS link_to
FROM anomalies_live AS x
LEFT JOIN {AREA_NAMES} AS ar ON ar.code = x.area_code
WHERE x.started_at <= $__toTime AND (x.ended_at IS NULL OR x.ended_at >= $__fromTime)
  AND {FILTERS} AND {under_areas("x.area_code")}
ORDER BY x.state = 'open' DESC, x.started_at DESC
LIMIT 1000
"""
    per_interval = f"""
SELECT $__timeInterval(started_at) AS time, domain, count() AS opened
FROM anomalies_live
WHERE $__timeFilter(started_at) AND {FILTERS} AND {under_areas("area_code")}
GROUP BY time, domain
ORDER BY time
"""
    open_by = f"""
SELECT domain, countIf(severity = 'critical') AS critical,
       countIf(severity = 'warning') AS warning, countIf(severity = 'info') AS info
FROM anomalies_live
WHERE state = 'open' AND {FILTERS} AND {under_areas("area_code")}
GROUP BY domain
ORDER BY domain
"""
    link = {
        "title": T("Mở bảng điều khiển", "Open the dashboard"),
        "url": LINK,
        "targetBlank": False,
    }
    return Dashboard(
        ANOMALIES,
        T("IOC — Bất thường", "IOC — Anomalies"),
        [
            series(
                T("Bất thường mới theo lĩnh vực", "New anomalies by domain"),
                per_interval,
                {"time": None, "domain": None, "opened": NON_NEGATIVE},
                unit="short",
                width=16,
                label="domain",
            ),
            table(
                T("Đang mở theo lĩnh vực", "Open by domain"),
                open_by,
                {
                    "domain": None,
                    "critical": NON_NEGATIVE,
                    "warning": NON_NEGATIVE,
                    "info": NON_NEGATIVE,
                },
                {
                    "domain": T("Lĩnh vực", "Domain"),
                    "critical": T("Nghiêm trọng", "Critical"),
                    "warning": T("Cảnh báo", "Warning"),
                    "info": T("Thông tin", "Info"),
                },
                width=8,
                height=8,
                overrides=(value_names("domain", DOMAIN_NAMES),),
            ),
            table(
                T("Danh sách bất thường", "Anomalies"),
                incidents,
                {
                    "started_at": None,
                    "ended_at": None,
                    "state": None,
                    "severity": None,
                    "domain": None,
                    "metric": None,
                    "entity_id": None,
                    "area": None,
                    "observed": None,
                    "expected": None,
                    "expected_low": None,
                    "expected_high": None,
                    "score": NON_NEGATIVE,
                    "duration_min": NON_NEGATIVE,
                    "dashboard_uid": None,
                    "link_from": NON_NEGATIVE,
                    "link_to": NON_NEGATIVE,
                },
                {
                    "started_at": T("Bắt đầu", "Started"),
                    "ended_at": T("Kết thúc", "Ended"),
                    "state": T("Trạng thái", "State"),
                    "severity": T("Mức", "Severity"),
                    "domain": T("Lĩnh vực", "Domain"),
                    "metric": T("Chỉ số", "Metric"),
                    "entity_kind": T("Loại", "Kind"),
                    "entity_id": T("Đối tượng", "Entity"),
                    "group_id": T("Nhóm", "Group"),
                    "area": T("Địa bàn", "Area"),
                    "observed": T("Đo được", "Observed"),
                    "expected": T("Kỳ vọng", "Expected"),
                    "expected_low": T("Cận dưới", "Band low"),
                    "expected_high": T("Cận trên", "Band high"),
                    "score": T("Điểm", "Score"),
                    "detector": T("Bộ phát hiện", "Detector"),
                    "description": T("Mô tả", "Description"),
                    "duration_min": T("Phút", "Minutes"),
                },
                height=16,
                description=T(
                    "Bằng chứng của mỗi bất thường: giá trị đo được, giá trị kỳ vọng và khoảng"
                    " bình thường (cận dưới – cận trên) mà bộ phát hiện dùng để quyết định;"
                    " ô trống: không có cận ở phía đó.",
                    "Each anomaly's evidence: the observed value, the expected one and the band"
                    " the detector judged normal (band low – band high); an empty cell: no"
                    " bound on that side.",
                ),
                hidden=("anomaly_id", "area_code", "dashboard_uid", "link_from", "link_to"),
                overrides=(
                    {
                        "matcher": {"id": "byName", "options": "entity_id"},
                        "properties": [{"id": "links", "value": [link]}],
                    },
                    unit_override("score", "none", 2),
                    value_names("severity", SEVERITY_NAMES),
                    value_names("domain", DOMAIN_NAMES),
                    value_names("state", STATE_NAMES),
                ),
            ),
        ],
        variables=(*AREA_VARIABLES, DOMAIN, SEVERITY),
        time_from="now-7d",
    )
