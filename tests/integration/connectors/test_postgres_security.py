"""PostgreSQL as the stack runs it (deploy/local/postgres.sh, issue 16 part 3): TLS only,
passwords checked, and the outbox poller's role able to read the one-stop-shop's tables
and write its own position — nothing else. Each refusal is the real server's."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from ioc.settings import Settings
from ioc.wiring import connectors as wire
from tests.integration.conftest import require_port

pytestmark = pytest.mark.integration


def as_poller(settings: Settings) -> psycopg.Connection:
    path = f"{settings.outbox_schema},{settings.outbox_position_schema}"
    return psycopg.connect(
        **wire.pg_conninfo(settings, "poller"), options=f"-c search_path={path}", autocommit=True
    )


def test_the_poller_reads_the_dossier_tables_and_writes_only_its_position(
    pg_settings: Settings,
) -> None:
    with as_poller(pg_settings) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (pg_settings.outbox_user,)
        assert conn.execute("SELECT count(*) FROM dossier_status_history").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM dossier").fetchone() == (0,)
        conn.execute(
            "INSERT INTO ioc_outbox_position (consumer) VALUES ('security-test') "
            "ON CONFLICT (consumer) DO UPDATE SET updated_at = now()"
        )
        assert conn.execute("SHOW ssl").fetchone() == ("on",)
        assert conn.info.pgconn.ssl_in_use


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO dossier_status_history (dossier_id, procedure_code, agency_code, area_code,"
        " level, channel, status, changed_at) VALUES ('X', 'p', 'a', '1', 1, 'online',"
        " 'received', now())",
        "UPDATE dossier SET status = 'finished'",
        "DELETE FROM dossier_status_history",
        "TRUNCATE dossier",
        "CREATE TABLE {schema}.planted (x int)",
        "CREATE TABLE {schema}_position.planted (x int)",
        "DROP TABLE ioc_outbox_position",
        "ALTER TABLE dossier ADD COLUMN planted int",
    ],
)
def test_the_poller_may_not_do_the_systems_job(pg_settings: Settings, statement: str) -> None:
    with as_poller(pg_settings) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute(statement.format(schema=pg_settings.outbox_schema))


def test_a_wrong_or_missing_password_is_refused(conn_settings: Settings) -> None:
    require_port(conn_settings, "postgres", conn_settings.postgres_port)
    for password in ("not-the-password", ""):
        info = {**wire.pg_conninfo(conn_settings, "poller"), "password": password}
        with pytest.raises(psycopg.OperationalError) as refused:
            psycopg.connect(**info).close()
        assert "password" in str(refused.value), refused.value


def test_a_connection_without_tls_is_refused(conn_settings: Settings) -> None:
    require_port(conn_settings, "postgres", conn_settings.postgres_port)
    info = {**wire.pg_conninfo(conn_settings), "sslmode": "disable"}
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(**info).close()
    assert "no encryption" in str(refused.value), refused.value


def test_the_server_certificate_is_verified(conn_settings: Settings) -> None:
    """verify-full against the stack's CA passes; against the system's CAs it does not
    (the local CA is not one of them): the client really checks who it talks to."""
    require_port(conn_settings, "postgres", conn_settings.postgres_port)
    info = wire.pg_conninfo(conn_settings)
    assert info["sslmode"] == "verify-full"
    psycopg.connect(**info).close()
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(**{**info, "sslrootcert": "system"}).close()
    assert "certificate verify failed" in str(refused.value), refused.value
