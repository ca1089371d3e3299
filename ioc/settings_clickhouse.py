"""Where ClickHouse is, who connects, and how the sink batches into it.

A base class of :class:`ioc.settings.Settings`, which alone is built and passed around:
the section lives apart only to keep one file readable.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings


class ClickHouseSettings(BaseSettings):
    """The server, its users, the sink's batching."""

    clickhouse_host: str = "127.0.0.1"
    clickhouse_port: int = 9000
    clickhouse_http_port: int = 8123
    clickhouse_metrics_port: int = Field(
        default=9363,
        description="ioc clickhouse-exporter's /metrics (the built-in endpoint's port)",
    )
    clickhouse_database: str = "ioc"
    clickhouse_user: str = "default"
    clickhouse_password: SecretStr = SecretStr("")
    clickhouse_grafana_user: str = "grafana"
    clickhouse_grafana_password: SecretStr = SecretStr("grafana-readonly")

    # --- a replicated ClickHouse (docs/decisions/0036-replicated-clickhouse.md) ----
    clickhouse_cluster: str = Field(
        default="",
        pattern=r"^([A-Za-z_][A-Za-z0-9_]*)?$",
        description="Cluster name of remote_servers; empty = one server (no replication)",
    )
    clickhouse_alt_hosts: str = Field(
        default="",
        description="Other replicas as host:port,host:port; clients fail over to them",
    )
    clickhouse_replicas: int = Field(
        default=2, ge=1, le=2, description="Local stack: replicas of the local cluster's shard"
    )
    clickhouse_interserver_port: int = Field(
        default=9009, description="Local stack: replicas fetch parts from each other here"
    )
    zookeeper_port: int = Field(default=2181, description="Local stack: ZooKeeper's client port")

    # --- ClickHouse sink ---------------------------------------------------------
    sink_group_id: str = "ioc-sink"
    sink_batch_max_rows: int = 50_000
    sink_batch_max_age_s: float = 1.0
    sink_backoff_max_s: float = 10.0
    sink_metrics_port: int = 9310
