"""Pipeline health for engineers: every process's /metrics, data freshness, data quality.

Data quality per source comes from ClickHouse (the workers' per-minute counts, migration
0006), not from Prometheus: it is data operators can query over any range.
"""

from __future__ import annotations

from dataclasses import dataclass

from ioc.ops.grafana.dashboards.common import (
    DOMAIN_NAMES,
    LEGEND,
    LINES,
    series,
    table,
    unit_override,
    value_names,
)
from ioc.ops.grafana.model import Dashboard, Panel, Prom, Row, T
from ioc.ops.grafana.sql import NON_NEGATIVE
from ioc.ops.grafana.uids import PIPELINE
from schemas.province.profile import Profile

RI = "$__rate_interval"
JOBS = "ioc-worker|ioc-sink|ioc-alerter|ioc-http|ioc-mqtt|ioc-outbox|ioc-notify"
PLATFORM_JOBS = "kafka|clickhouse|node"


def prom(
    title: T, *targets: Prom, unit: str = "short", width: int = 12, alert: AlertLine | None = None
) -> Panel:
    """A Prometheus time series; with ``alert``, a dashed red line where that alert fires."""
    if alert is None:
        return Panel(
            "timeseries", title, list(targets), width=width, unit=unit, options=LEGEND, custom=LINES
        )
    return Panel(
        "timeseries",
        title,
        list(targets),
        width=width,
        unit=unit,
        options=LEGEND,
        custom={**LINES, "thresholdsStyle": {"mode": "dashed"}},
        thresholds=(("green", None), ("red", alert.value)),
        description=T(
            f"Đường đỏ: ngưỡng của cảnh báo {alert.name} (deploy/prometheus/rules)",
            f"Red line: where {alert.name} fires (deploy/prometheus/rules)",
        ),
    )


@dataclass(frozen=True, slots=True)
class AlertLine:
    """The value at which a pipeline alert fires, drawn on the panel of the same series.

    A unit test reads deploy/prometheus/rules/ and checks the rule compares with this
    very value, so the line cannot drift from the alert.
    """

    name: str
    value: float


@dataclass(frozen=True, slots=True)
class HealthPanel:
    title: T
    expr: str
    legend: str
    unit: str
    alert: AlertLine | None = None


# Also run against the real Prometheus by the tests.
FLOW: tuple[HealthPanel, ...] = (
    HealthPanel(
        T("Bản ghi vào theo luồng", "Records in by stream"),
        f"sum by (stream, outcome) (rate(ioc_stream_records_total[{RI}]))",
        "{{stream}} {{outcome}}",
        "reqps",
    ),
    HealthPanel(
        T("Sự kiện tại cổng vào", "Events at the connectors"),
        f"sum by (connector, outcome) (rate(ioc_connector_events_total[{RI}]))",
        "{{connector}} {{outcome}}",
        "reqps",
    ),
    HealthPanel(
        T("Thư chết (dead letter)", "Dead letters"),
        f"sum by (stream, reason) (rate(ioc_stream_deadletters_total[{RI}])) or "
        f"sum by (stream, reason) (rate(ioc_connector_dead_letters_total[{RI}]))",
        "{{stream}} {{reason}}",
        "reqps",
    ),
    HealthPanel(
        T("Dòng ghi vào ClickHouse", "Rows written to ClickHouse"),
        f"sum by (table) (rate(ioc_sink_rows_written_total[{RI}]))",
        "{{table}}",
        "rowsps",
    ),
    HealthPanel(
        T("Độ trễ sự kiện → ClickHouse (p95)", "Event → ClickHouse latency (p95)"),
        "histogram_quantile(0.95, sum by (le) "
        f"(rate(ioc_sink_event_to_written_seconds_bucket[{RI}])))",
        "p95",
        "s",
        AlertLine("IocSinkFallingBehind", 60),
    ),
    HealthPanel(
        T("Thời gian ghi một bảng (p95)", "Insert duration per table (p95)"),
        "histogram_quantile(0.95, sum by (le, table) "
        f"(rate(ioc_sink_insert_duration_seconds_bucket[{RI}])))",
        "{{table}}",
        "s",
    ),
    HealthPanel(
        T("Độ trễ tiêu thụ (consumer lag)", "Consumer lag"),
        "sum by (stream) (ioc_stream_consumer_lag)",
        "{{stream}}",
        "short",
        AlertLine("IocConsumerLagGrowing", 1000),
    ),
    HealthPanel(
        T("Độ trễ watermark", "Watermark delay"),
        "max by (stream) (ioc_stream_watermark_delay_seconds)",
        "{{stream}}",
        "s",
    ),
    HealthPanel(
        T("Sink tạm dừng / thử lại", "Sink paused / retries"),
        f"max(ioc_sink_paused) or sum(rate(ioc_sink_retries_total[{RI}]))",
        "",
        "short",
    ),
    HealthPanel(
        T("Cảnh báo gửi Alertmanager", "Alerts to Alertmanager"),
        "sum(ioc_alerter_firing_alerts) or sum(ioc_alerter_pending_alerts)",
        "",
        "short",
    ),
    # ioc notify: what IocNotifyDeliveryFailing counts (outcome != ok over 15 min), and
    # what is still waiting per channel.
    HealthPanel(
        T("Tin nhắn ioc notify trong 15 phút", "ioc notify messages per 15 min"),
        "sum by (channel, outcome) (increase(ioc_notify_sent_total[15m]))",
        "{{channel}} {{outcome}}",
        "short",
    ),
    HealthPanel(
        T("Tin nhắn đang chờ gửi (ioc notify)", "Messages waiting (ioc notify)"),
        "sum by (channel) (ioc_notify_queue_depth)",
        "{{channel}}",
        "short",
    ),
)
# The platform under the pipeline (rules/platform.yml): what its alerts watch.
PLATFORM: tuple[HealthPanel, ...] = (
    HealthPanel(
        T("Kafka: partition thiếu bản sao", "Kafka: under-replicated partitions"),
        "sum by (instance) (kafka_server_replicamanager_underreplicatedpartitions)",
        "{{instance}}",
        "short",
        AlertLine("IocKafkaUnderReplicatedPartitions", 0),
    ),
    HealthPanel(
        T("Kafka: partition không có leader", "Kafka: partitions without a leader"),
        "max(kafka_controller_kafkacontroller_offlinepartitionscount)",
        "offline",
        "short",
        AlertLine("IocKafkaOfflinePartitions", 0),
    ),
    HealthPanel(
        T("ClickHouse: số part lớn nhất một partition", "ClickHouse: most parts in a partition"),
        "max by (instance) (ClickHouseAsyncMetrics_MaxPartCountForPartition)",
        "{{instance}}",
        "short",
        AlertLine("IocClickHouseTooManyParts", 150),
    ),
    HealthPanel(
        T("Dung lượng đĩa còn trống", "Disk space free"),
        "min by (instance, mountpoint) (node_filesystem_avail_bytes"
        '{fstype!~"tmpfs|ramfs|overlay|squashfs"} / node_filesystem_size_bytes)',
        "{{instance}} {{mountpoint}}",
        "percentunit",
        AlertLine("IocDiskAlmostFull", 0.10),
    ),
)
PANELS = FLOW + PLATFORM
UP = f'up{{job=~"{JOBS}|{PLATFORM_JOBS}"}}'

FRESHNESS = """
SELECT 'events_traffic' AS table_name, max(written_at_ms) AS last_ms FROM events_traffic
UNION ALL SELECT 'events_energy', max(written_at_ms) FROM events_energy
UNION ALL SELECT 'events_qr', max(written_at_ms) FROM events_qr
UNION ALL SELECT 'events_dossier', max(written_at_ms) FROM events_dossier
UNION ALL SELECT 'kpi_traffic', max(written_at_ms) FROM kpi_traffic
UNION ALL SELECT 'kpi_energy', max(written_at_ms) FROM kpi_energy
UNION ALL SELECT 'kpi_qr', max(written_at_ms) FROM kpi_qr
UNION ALL SELECT 'kpi_dossier', max(written_at_ms) FROM kpi_dossier
UNION ALL SELECT 'anomalies', max(written_at_ms) FROM anomalies
UNION ALL SELECT 'dq', max(written_at_ms) FROM dq
"""

# Data quality: dq_by_source sums a source's partitions per minute (live generation).
DQ_BY_SOURCE = """
SELECT domain, source, events, invalid, late, duplicates,
       if(events + invalid = 0, NULL, (invalid + late + duplicates) / (events + invalid))
       AS problem_share,
       last_seen
FROM
(
    SELECT domain, source, sum(events) AS events, sum(invalid) AS invalid,
           sum(late) AS late, sum(duplicates) AS duplicates, max(last_seen) AS last_seen
    FROM dq_by_source
    WHERE $__timeFilter(window_start)
    GROUP BY domain, source
)
ORDER BY problem_share DESC, events DESC
"""
DQ_PROBLEMS = """
SELECT $__timeInterval(window_start) AS time, concat(domain, ' · ', source) AS source,
       sum(invalid + late + duplicates) AS problems
FROM dq_by_source
WHERE $__timeFilter(window_start)
GROUP BY time, source
ORDER BY time
"""
DQ_REASONS = """
SELECT domain, source, reason, sum(invalid) AS invalid
FROM dq_invalid_by_reason
WHERE $__timeFilter(window_start)
GROUP BY domain, source, reason
ORDER BY invalid DESC
"""


def data_quality() -> list[Panel | Row]:
    """Events, invalid (by reason), late and duplicates per source, from ClickHouse."""
    return [
        Row(T("Chất lượng dữ liệu theo nguồn", "Data quality by source")),
        table(
            T("Chất lượng dữ liệu theo nguồn", "Data quality by source"),
            DQ_BY_SOURCE,
            {
                "domain": None,
                "source": None,
                "events": NON_NEGATIVE,
                "invalid": NON_NEGATIVE,
                "late": NON_NEGATIVE,
                "duplicates": NON_NEGATIVE,
                "problem_share": (0.0, 1.0),
                "last_seen": None,
            },
            {
                "domain": T("Luồng", "Stream"),
                "source": T("Nguồn", "Source"),
                "events": T("Sự kiện", "Events"),
                "invalid": T("Không hợp lệ", "Invalid"),
                "late": T("Đến trễ", "Late"),
                "duplicates": T("Trùng lặp", "Duplicates"),
                "problem_share": T("Tỷ lệ lỗi", "Problem share"),
                "last_seen": T("Sự kiện mới nhất", "Newest event"),
            },
            width=16,
            height=9,
            description=T(
                "Sự kiện = hợp lệ (kể cả trễ và trùng); không hợp lệ = vào thư chết. "
                "Tỷ lệ lỗi = (không hợp lệ + trễ + trùng) / (sự kiện + không hợp lệ).",
                "Events = valid (late and duplicates included); invalid = dead-lettered. "
                "Problem share = (invalid + late + duplicates) / (events + invalid).",
            ),
            overrides=(
                value_names("domain", DOMAIN_NAMES),
                unit_override("problem_share", "percentunit", 1),
            ),
        ),
        table(
            T("Không hợp lệ theo lý do", "Invalid by reason"),
            DQ_REASONS,
            {"domain": None, "source": None, "reason": None, "invalid": NON_NEGATIVE},
            {
                "domain": T("Luồng", "Stream"),
                "source": T("Nguồn", "Source"),
                "reason": T("Lý do", "Reason"),
                "invalid": T("Số bản ghi", "Records"),
            },
            width=8,
            height=9,
            overrides=(value_names("domain", DOMAIN_NAMES),),
        ),
        series(
            T(
                "Bản ghi không hợp lệ, trễ, trùng theo nguồn",
                "Invalid, late and duplicate records by source",
            ),
            DQ_PROBLEMS,
            {"time": None, "source": None, "problems": NON_NEGATIVE},
            unit="short",
            width=24,
            label="source",
        ),
    ]


def build(profile: Profile) -> Dashboard:
    """The pipeline-health dashboard."""
    up = Panel(
        "stat",
        T("Tiến trình đang chạy", "Processes up"),
        [Prom(UP, "{{job}} {{instance}}", instant=True)],
        width=24,
        height=4,
        thresholds=(("red", None), ("green", 1)),
        options={
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "none",
            "textMode": "value_and_name",
            "justifyMode": "auto",
            "orientation": "auto",
        },
        overrides=(),
    )
    freshness = table(
        T("Lần ghi gần nhất (ClickHouse)", "Last write (ClickHouse)"),
        f"""
SELECT table_name, fromUnixTimestamp64Milli(toInt64(last_ms)) AS last_written,
       greatest(0, (toUnixTimestamp64Milli(now64(3)) - toInt64(last_ms)) / 1000)
       AS seconds_ago
FROM ({FRESHNESS.strip()})
WHERE last_ms > 0
ORDER BY seconds_ago DESC
""",
        {"table_name": None, "last_written": None, "seconds_ago": (0, None)},
        {
            "table_name": T("Bảng", "Table"),
            "last_written": T("Ghi lúc", "Written at"),
            "seconds_ago": T("Cách đây", "Ago"),
        },
        width=12,
        height=9,
        overrides=(unit_override("seconds_ago", "s", 0),),
    )
    return Dashboard(
        PIPELINE,
        T("IOC — Sức khỏe hệ thống", "IOC — Pipeline health"),
        [
            up,
            Row(T("Luồng dữ liệu", "Data flow")),
            *(prom(p.title, Prom(p.expr, p.legend), unit=p.unit, alert=p.alert) for p in FLOW),
            freshness,
            Row(T("Nền tảng: Kafka, ClickHouse, đĩa", "Platform: Kafka, ClickHouse, disks")),
            *(prom(p.title, Prom(p.expr, p.legend), unit=p.unit, alert=p.alert) for p in PLATFORM),
            *data_quality(),
        ],
        time_from="now-3h",
        description=T(
            "Cảnh báo tương ứng: deploy/prometheus/rules; xử lý: docs/runbook.md",
            "Matching alerts: deploy/prometheus/rules; what to do: docs/runbook.md",
        ),
    )
