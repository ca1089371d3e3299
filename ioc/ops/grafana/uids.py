"""Stable identifiers of what `ioc grafana` publishes: links and alerts depend on them."""

from __future__ import annotations

FOLDER_UID = "ioc"
CLICKHOUSE_UID = "ioc-clickhouse"
PROMETHEUS_UID = "ioc-prometheus"
CLICKHOUSE_TYPE = "grafana-clickhouse-datasource"
PROMETHEUS_TYPE = "prometheus"

OVERVIEW = "ioc-overview"
TRAFFIC = "ioc-traffic"
ENERGY = "ioc-energy"
SERVICES = "ioc-services"
QR = "ioc-qr"
ANOMALIES = "ioc-anomalies"
PIPELINE = "ioc-pipeline"

DOMAIN_DASHBOARDS = {"traffic": TRAFFIC, "energy": ENERGY, "qr": QR, "dossier": SERVICES}
"""Where an anomaly of each domain is looked at (alert links, anomaly table links)."""
