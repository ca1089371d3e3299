"""Each component's ClickHouse login and TLS (decision 0037), without a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ioc.ops.db.access import FRESHNESS_TABLES, PANEL_VIEWS, definer_views, grafana_grants
from ioc.ops.db.executors import clickhouse_connect_args
from ioc.settings import Settings

pytestmark = pytest.mark.unit


def test_each_role_has_its_own_user_and_password() -> None:
    settings = Settings(clickhouse_sink_password="sink-secret", tls_ca_file="/etc/ca.pem")
    logins = {role: settings.clickhouse_login(role) for role in ("migrator", "sink", "replay", "reader")}  # fmt: skip
    assert len({user for user, _ in logins.values()}) == 4
    assert "default" not in {user for user, _ in logins.values()}
    args = clickhouse_connect_args(settings, "sink")
    assert (args["user"], args["password"]) == ("ioc_sink", "sink-secret")


def test_tls_by_default_verified_against_the_ca() -> None:
    args = clickhouse_connect_args(Settings(tls_ca_file="/etc/ca.pem"), "reader")
    assert args["port"] == 9440
    assert (args["secure"], args["verify"], args["ca_certs"]) == (True, True, "/etc/ca.pem")
    local = clickhouse_connect_args(Settings(data_dir=Path("/d")), "reader")
    assert local["ca_certs"] == "/d/pki/ca.pem"  # the local stack's CA
    plain = clickhouse_connect_args(Settings(clickhouse_tls=False), "migrator")
    assert plain["port"] == 9000
    assert "secure" not in plain


def test_user_names_are_safe_in_users_xml() -> None:
    with pytest.raises(ValidationError):
        Settings(clickhouse_sink_user="sink><admin")


class Recorder:
    def __init__(self, version: str) -> None:
        self.version, self.sql = version, []

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        self.sql.append(sql)
        return [(self.version,)] if sql == "SELECT version()" else []


def test_panel_views_become_definer_only_where_the_server_has_it() -> None:
    old = Recorder("18.16.1")
    assert definer_views(old, "ioc") == []  # type: ignore[arg-type]
    assert old.sql == ["SELECT version()"]
    current = Recorder("25.8.3.1")
    done = definer_views(current, "ioc")  # type: ignore[arg-type]
    assert done == [f"ALTER TABLE ioc.{v} MODIFY SQL SECURITY DEFINER" for v in PANEL_VIEWS]


def test_grafana_grants_name_no_raw_table_whole() -> None:
    grants = grafana_grants("ioc", "grafana")
    assert "GRANT SELECT ON ioc.kpi_traffic_live TO grafana" in grants
    for table in FRESHNESS_TABLES:
        assert f"GRANT SELECT ON ioc.{table} TO grafana" not in grants
        assert f"GRANT SELECT(written_at_ms) ON ioc.{table} TO grafana" in grants
    assert not [g for g in grants if "deadletter" in g]
