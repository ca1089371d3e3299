"""Two ways to run SQL: the real server (clickhouse-driver, native protocol) and chdb.

chdb is current ClickHouse in-process; tests use it to prove the DDL and panel
queries also run on the servers production has, while the real server we can start
here is the old 18.16.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import orjson
from clickhouse_driver import Client

from ioc.settings import Settings
from ioc.settings_clickhouse import ClickHouseRole


def clickhouse_connect_args(settings: Settings, role: ClickHouseRole) -> dict[str, Any]:
    """Host, port, the role's user and password, and TLS for a clickhouse-driver client.

    With ``clickhouse_tls`` (the default) the native protocol over TLS on
    ``clickhouse_tls_port``, the server's certificate verified against ``settings.ca_file``
    (a missing CA file fails at connect, never falls back to plain TCP).
    """
    user, password = settings.clickhouse_login(role)
    args: dict[str, Any] = {
        "host": settings.clickhouse_host,
        "port": settings.clickhouse_port,
        "user": user,
        "password": password.get_secret_value(),
    }
    if settings.clickhouse_tls:
        args |= {
            "port": settings.clickhouse_tls_port,
            "secure": True,
            "verify": True,
            "ca_certs": str(settings.ca_file),
        }
    return args


def clickhouse_client(
    settings: Settings,
    *,
    role: ClickHouseRole,
    database: str | None = None,
    connect_timeout: float = 5,
    send_receive_timeout: float = 60,
) -> Client:
    """A clickhouse-driver client for the configured server (native protocol).

    On a cluster (decision 0036) it fails over to ``clickhouse_alt_hosts`` when its server
    does not answer, and an insert into a Distributed table returns only once a replica
    holds the rows (``insert_distributed_sync``): what the sink commits to Kafka is stored,
    its retries send the same block (de-duplicated by the replicated table), and its next
    read sees its last write. The setting travels with every query: a user whose profile
    has ``readonly=1`` refuses it on 18.16 (such a user needs ``readonly=2`` on a cluster).
    """
    if database is None:
        # A confined user (sink, reader, Grafana: decision 0037) may not even open a session
        # in "default": it connects to its own database. The migrator and replay create
        # databases, so theirs may not exist yet.
        database = "default" if role in ("migrator", "replay") else settings.clickhouse_database
    extra: dict[str, Any] = {}
    if settings.clickhouse_alt_hosts:
        extra["alt_hosts"] = settings.clickhouse_alt_hosts
    if settings.clickhouse_cluster:
        extra["settings"] = CLUSTER_CLIENT_SETTINGS
    return Client(
        **clickhouse_connect_args(settings, role),
        database=database,
        connect_timeout=connect_timeout,
        send_receive_timeout=send_receive_timeout,
        **extra,
    )


CLUSTER_CLIENT_SETTINGS: dict[str, Any] = {"insert_distributed_sync": 1}
"""Query settings of every client of a cluster (see :func:`clickhouse_client`)."""


class SqlExecutor(Protocol):
    """Runs one SQL statement and returns its rows."""

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        """Run one statement; return its rows (empty for DDL)."""

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows column-by-name."""

    def close(self) -> None:
        """Release the connection."""


class ClickHouseExecutor:
    """The real server through clickhouse-driver's native protocol."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        database: str | None = None,
        role: ClickHouseRole = "migrator",
    ) -> ClickHouseExecutor:
        """A client for the configured server (no database: migrations create it).

        As the migrator by default: ``ioc db`` (migrate, retention, erase, entities).
        """
        return cls(clickhouse_client(settings, role=role, database=database or "default"))

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        """Run one statement; return its rows."""
        rows = self.client.execute(sql)
        return list(rows) if rows else []

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Columnar-friendly insert: rows go as the data argument."""
        # Rows go as the data argument: an INSERT ... VALUES without it hangs
        # until the 300 s timeout on this driver/server pair.
        self.client.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES", list(rows))

    def close(self) -> None:
        """Close the connection."""
        self.client.disconnect()


def _json_value(value: Any) -> Any:
    # DateTime columns take epoch seconds unambiguously, whatever the column's zone.
    if isinstance(value, datetime):
        return int(value.timestamp())
    return value


class ChdbExecutor:
    """Current ClickHouse in-process (chdb), with a persistent session directory."""

    def __init__(self, path: Path) -> None:
        from chdb import session  # a test/dev dependency: imported only when used

        self.session = session.Session(str(path))

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        """Run one statement; return its rows (parsed from JSONCompact)."""
        result = self.session.query(sql, "JSONCompact")
        text = result.bytes() if hasattr(result, "bytes") else bytes(result)
        if not text.strip():
            return []
        data = orjson.loads(text).get("data", [])
        return [tuple(row) for row in data]

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows as JSONEachRow."""
        lines = b"\n".join(
            orjson.dumps(dict(zip(columns, row, strict=True)), default=str) for row in rows
        )
        self.session.query(
            f"INSERT INTO {table} ({', '.join(columns)}) FORMAT JSONEachRow {lines.decode()}"
        )

    def close(self) -> None:
        """Release the session."""
        self.session.close()
