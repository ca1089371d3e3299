"""Where ClickHouse is, who connects, and how the sink batches into it.

A base class of :class:`ioc.settings.Settings`, which alone is built and passed around:
the section lives apart only to keep one file readable.

Users per role (decision 0037): each component connects as its own ClickHouse user, picked
with :func:`ioc.ops.db.executors.clickhouse_client`'s ``role``. The local stack's
``deploy/local/clickhouse.sh`` creates them from these settings on each start.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

ClickHouseRole = Literal["migrator", "sink", "replay", "reader"]
"""migrator: DDL, ``ioc db`` (migrate, retention, erase, entities); sink: ``ioc sink``
writes; replay: ``ioc replay``; reader: read-only (alerter, exporter, demo probe)."""

_USER = r"^[A-Za-z0-9_]+$"


class ClickHouseSettings(BaseSettings):
    """The server, its users, the sink's batching."""

    clickhouse_host: str = "127.0.0.1"
    clickhouse_port: int = Field(default=9000, description="native protocol, plain TCP")
    clickhouse_http_port: int = 8123
    clickhouse_metrics_port: int = Field(
        default=9363,
        description="ioc clickhouse-exporter's /metrics (the built-in endpoint's port)",
    )
    clickhouse_database: str = "ioc"
    clickhouse_tls: bool = Field(
        default=True,
        description="Our clients use the native protocol over TLS (clickhouse_tls_port), "
        "verifying the server against IOC_TLS_CA_FILE's CA",
    )
    clickhouse_tls_port: int = Field(default=9440, description="native protocol over TLS")
    clickhouse_confine_databases: bool = Field(
        default=True,
        description="Local stack: the sink and reader users see only IOC_CLICKHOUSE_DATABASE "
        "(deploy/local/test.sh turns it off: the tests make a database each)",
    )
    clickhouse_migrator_user: str = Field(default="ioc_migrator", pattern=_USER)
    clickhouse_migrator_password: SecretStr = SecretStr("ioc-migrator-local")
    clickhouse_sink_user: str = Field(default="ioc_sink", pattern=_USER)
    clickhouse_sink_password: SecretStr = SecretStr("ioc-sink-local")
    clickhouse_replay_user: str = Field(default="ioc_replay", pattern=_USER)
    clickhouse_replay_password: SecretStr = SecretStr("ioc-replay-local")
    clickhouse_reader_user: str = Field(default="ioc_reader", pattern=_USER)
    clickhouse_reader_password: SecretStr = SecretStr("ioc-reader-local")
    clickhouse_grafana_user: str = Field(default="grafana", pattern=_USER)
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
    erase_settle_s: float = Field(
        default=35.0,
        ge=0,
        description="ioc db erase: after the delete, wait this long (more than the sink's 30 s "
        "insert timeout) and delete again what a sink write begun before the register landed",
    )

    def clickhouse_login(self, role: ClickHouseRole) -> tuple[str, SecretStr]:
        """The (user, password) of a component's role."""
        logins: dict[str, tuple[str, SecretStr]] = {
            "migrator": (self.clickhouse_migrator_user, self.clickhouse_migrator_password),
            "sink": (self.clickhouse_sink_user, self.clickhouse_sink_password),
            "replay": (self.clickhouse_replay_user, self.clickhouse_replay_password),
            "reader": (self.clickhouse_reader_user, self.clickhouse_reader_password),
        }
        return logins[role]
