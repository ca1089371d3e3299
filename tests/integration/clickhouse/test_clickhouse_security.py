"""ClickHouse's users per role on the real 18.16 server (decision 0037): a private server
started by deploy/local/clickhouse.sh with the settings' users, reached as the pipeline
reaches it (the native protocol over TLS, the server's certificate checked).

Refused here: no password, a wrong one, an unknown user, plain TCP on the TLS port, a
client that does not trust the CA, and each role doing another's job where 18.16 can tell
(readonly profiles, ``<allow_databases>``). What 18.16 cannot refuse — the sink's DDL in
its own database, Grafana's user reading a raw table of its database — only current
ClickHouse's GRANTs do (deploy/compose/clickhouse-users.xml, docs/security.md).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from clickhouse_driver import Client
from clickhouse_driver.errors import NetworkError, ServerException

from ioc.ops.db.executors import ClickHouseExecutor, clickhouse_connect_args
from ioc.ops.db.migrate import migrate
from ioc.settings import Settings
from ioc.settings_clickhouse import ClickHouseRole
from tests.integration.conftest import free_port
from tests.integration.services import PrivateClickHouse

pytestmark = pytest.mark.integration

READONLY, DATABASE_ACCESS_DENIED = 164, 291
WRONG_PASSWORD, REQUIRED_PASSWORD, UNKNOWN_USER = 193, 194, 192
ROLES: tuple[ClickHouseRole, ...] = ("migrator", "sink", "replay", "reader")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateClickHouse]:
    ch = PrivateClickHouse(
        tmp_path_factory.mktemp("clickhouse"), free_port(), free_port(),
        extra_env={"IOC_CLICKHOUSE_CONFINE_DATABASES": "true"},  # as production: whatever the run's
    )  # fmt: skip
    ch.start()
    try:
        yield ch
    finally:
        ch.stop()


@pytest.fixture(scope="module")
def at(server: PrivateClickHouse, settings: Settings) -> Iterator[Settings]:
    """The settings pointed at the private server, its database migrated by the migrator."""
    pointed = server.settings(settings)
    migrator = ClickHouseExecutor.from_settings(pointed)
    migrate(migrator, pointed.clickhouse_database)
    migrator.execute("CREATE TABLE IF NOT EXISTS default.probe (x UInt8) ENGINE = Memory")
    yield pointed
    migrator.close()


def as_user(settings: Settings, user: str, password: str, **overrides: Any) -> Client:
    """A client over TLS like the pipeline's, with another user or password."""
    args = clickhouse_connect_args(settings, "reader") | {"user": user, "password": password}
    return Client(**(args | overrides), connect_timeout=3, send_receive_timeout=10)


def role(settings: Settings, name: ClickHouseRole) -> Client:
    user, password = settings.clickhouse_login(name)
    return as_user(settings, user, password.get_secret_value())


def grafana(settings: Settings) -> Client:
    password = settings.clickhouse_grafana_password.get_secret_value()
    return as_user(settings, settings.clickhouse_grafana_user, password)


def refused(client: Client, sql: str, code: int, data: list[Any] | None = None) -> str:
    with pytest.raises(ServerException) as raised:
        client.execute(sql, data) if data is not None else client.execute(sql)
    assert raised.value.code == code, raised.value.message
    return str(raised.value.message)


def test_each_role_does_its_job_over_tls(at: Settings) -> None:
    db = at.clickhouse_database
    sink = role(at, "sink")
    sink.execute(f"INSERT INTO {db}.generations (generation) VALUES", [(7,)])
    assert sink.execute(f"SELECT count() FROM {db}.events_qr") == [(0,)]
    assert len(role(at, "reader").execute(f"SELECT generation FROM {db}.live_generation")) == 1
    assert grafana(at).execute(f"SELECT count() FROM {db}.kpi_traffic_live") == [(0,)]
    replay = ClickHouseExecutor(role(at, "replay"))
    migrate(replay, "ioc_rebuild_security")  # ioc replay rebuild --into-database
    replay.execute("DROP DATABASE ioc_rebuild_security")
    for name in ROLES:
        assert role(at, name).connection.secure_socket


def test_no_password_a_wrong_one_or_an_unknown_user_is_refused(at: Settings) -> None:
    refused(as_user(at, "default", ""), "SELECT 1", REQUIRED_PASSWORD)  # default: disabled
    for name in ROLES:
        user, _ = at.clickhouse_login(name)
        refused(as_user(at, user, ""), "SELECT 1", REQUIRED_PASSWORD)
        refused(as_user(at, user, "not-the-password"), "SELECT 1", WRONG_PASSWORD)
    refused(as_user(at, at.clickhouse_grafana_user, "grafana"), "SELECT 1", WRONG_PASSWORD)
    refused(as_user(at, "intruder", "x"), "SELECT 1", UNKNOWN_USER)


def test_the_plain_ports_need_a_password_too(server: PrivateClickHouse, at: Settings) -> None:
    plain = {"port": server.port, "secure": False}
    refused(as_user(at, "default", "", **plain), "SELECT 1", REQUIRED_PASSWORD)
    user, _ = at.clickhouse_login("migrator")
    refused(as_user(at, user, "wrong", **plain), "SELECT 1", WRONG_PASSWORD)
    answer = httpx.get(f"http://127.0.0.1:{server.http_port}/", params={"query": "SELECT 1"})
    assert answer.status_code != 200
    assert "Password required" in answer.text, answer.text
    assert role(at, "migrator").execute("SELECT 1") == [(1,)]  # the right one still works


def test_tls_is_really_checked(server: PrivateClickHouse, at: Settings) -> None:
    user, password = at.clickhouse_login("reader")
    with pytest.raises(NetworkError) as untrusted:  # the system's CAs do not sign it
        as_user(at, user, password.get_secret_value(), ca_certs=None).execute("SELECT 1")
    assert "CERTIFICATE_VERIFY_FAILED" in str(untrusted.value)
    with pytest.raises((NetworkError, EOFError)):  # plain protocol on the TLS port
        as_user(at, user, password.get_secret_value(), secure=False).execute("SELECT 1")
    with ssl.create_default_context(cafile=str(server.ca_file)).wrap_socket(
        socket.create_connection(("127.0.0.1", server.tls_port)),
        server_hostname="127.0.0.1",
    ) as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_grafana_and_the_reader_only_read(at: Settings) -> None:
    db = at.clickhouse_database
    for client in (grafana(at), role(at, "reader")):
        refused(client, f"INSERT INTO {db}.generations (generation) VALUES", READONLY, [(9,)])
        refused(client, f"CREATE TABLE {db}.nope (x UInt8) ENGINE = Memory", READONLY)
        refused(client, f"DROP TABLE {db}.deadletter", READONLY)
        refused(client, f"ALTER TABLE {db}.events_qr DELETE WHERE 1", READONLY)
        # remote() would reach the server as another user: no table functions at all.
        refused(client, "SELECT * FROM remote('127.0.0.1', default.probe)", READONLY)
        refused(client, "SELECT * FROM default.probe", DATABASE_ACCESS_DENIED)
        refused(client, "SET readonly = 0", READONLY)


def test_the_sink_writes_only_its_database(at: Settings) -> None:
    sink = role(at, "sink")
    refused(sink, "CREATE DATABASE ioc_rebuild_by_sink", DATABASE_ACCESS_DENIED)  # replay's job
    refused(sink, "SELECT * FROM default.probe", DATABASE_ACCESS_DENIED)
    refused(sink, "INSERT INTO default.probe VALUES", DATABASE_ACCESS_DENIED, [(1,)])
    refused(sink, "DROP TABLE default.probe", DATABASE_ACCESS_DENIED)


def test_the_users_file_holds_hashes_only(server: PrivateClickHouse, at: Settings) -> None:
    users = Path(server.data_dir / "clickhouse" / "users.xml")
    assert users.stat().st_mode & 0o077 == 0
    text = users.read_text()
    for name in ROLES:
        _, password = at.clickhouse_login(name)
        assert password.get_secret_value() not in text
    assert "<password>" not in text
    assert text.count("<password_sha256_hex>") == 6  # the roles, Grafana and default
