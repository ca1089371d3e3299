"""SQL of the outbox connector: the DDL files, the poll and the snapshot queries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from connectors.sources.base import ConfigurationError

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]*$")

OPEN_STATUSES = (
    "registered",
    "received",
    "processing",
    "supplement_requested",
    "payment_requested",
)
"""Statuses of a dossier still being handled; the first-start snapshot emits these."""

_COLUMNS = """h.id, h.dossier_id, h.procedure_code, h.agency_code, h.area_code, h.level,
    h.channel, h.status, h.previous_status, h.applicant_id, h.changed_at, h.received_at,
    h.due_at, h.paid_online, h.digitized"""

# The previous row of the same dossier tells whether this change moved it to another
# agency (then a transferred_out event is keyed by the old agency).
POLL = f"""
SELECT {_COLUMNS}, prev.agency_code AS previous_agency, prev.area_code AS previous_area
FROM dossier_status_history h
LEFT JOIN LATERAL (
    SELECT p.agency_code, p.area_code FROM dossier_status_history p
    WHERE p.dossier_id = h.dossier_id AND p.id < h.id
    ORDER BY p.id DESC LIMIT 1
) prev ON true
WHERE h.id > %(low)s AND NOT (h.id = ANY(%(seen)s))
ORDER BY h.id
LIMIT %(limit)s
"""

SNAPSHOT = f"""
SELECT {_COLUMNS}, NULL::text AS previous_agency, NULL::text AS previous_area
FROM dossier d JOIN dossier_status_history h ON h.id = d.last_history_id
WHERE d.status = ANY(%(open)s)
ORDER BY h.id
"""

MAX_ID = "SELECT coalesce(max(id), 0) FROM dossier_status_history"
WINDOW_IDS = "SELECT id FROM dossier_status_history WHERE id > %(low)s ORDER BY id"


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One status-history row, with the agency of the dossier's previous row."""

    id: int
    dossier_id: str
    procedure_code: str
    agency_code: str
    area_code: str
    level: int
    channel: str
    status: str
    previous_status: str | None
    applicant_id: str | None
    changed_at: datetime
    received_at: datetime | None
    due_at: datetime | None
    paid_online: bool
    digitized: bool
    previous_agency: str | None
    previous_area: str | None

    @classmethod
    def from_record(cls, record: tuple[Any, ...]) -> HistoryRow:
        """From a cursor row in the column order of POLL / SNAPSHOT."""
        return cls(*record)


def check_schema(schema: str) -> str:
    """A schema name safe to put in search_path."""
    if not _SCHEMA.match(schema):
        raise ConfigurationError(f"invalid PostgreSQL schema name {schema!r}")
    return schema


def ddl_files(ddl_dir: Path) -> list[Path]:
    """The numbered DDL files of ``ddl_dir``, in order."""
    return sorted(ddl_dir.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def apply_ddl(conn: psycopg.Connection[Any], schema: str, ddl_dir: Path) -> list[str]:
    """Create the schema and apply every DDL file of ``ddl_dir`` in it (each is idempotent).

    ``ddl_dir`` is the deploy files' ``postgres/`` (``ioc.assets.postgres_dir()``): the
    composition root knows where they are, the connector does not.
    """
    check_schema(schema)
    applied = []
    with conn.transaction():
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        for path in ddl_files(ddl_dir):
            conn.execute(path.read_text())
            applied.append(path.name)
    return applied


POLLER_READS = ("dossier", "dossier_status_history")
"""The system's tables the poller's role may read (and nothing else of that schema)."""


def prepare_poller(
    conn: psycopg.Connection[Any], schema: str, position_schema: str, ddl_dir: Path, role: str
) -> list[str]:
    """The poller's position schema and table, and its role's rights: read, never write.

    Run by the system's owner (``ioc connector outbox init-db``) after :func:`apply_ddl`.
    ``role`` must exist (a database administrator creates login roles; the local stack's
    postgres.sh does). A position table an older version kept beside the dossier tables
    is moved, not recreated: the poller resumes where it was.
    """
    check_schema(schema)
    check_schema(position_schema)
    source, position = sql.Identifier(schema), sql.Identifier(position_schema)
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        if cur.fetchone() is None:
            raise ConfigurationError(
                f"PostgreSQL role {role!r} does not exist: create it as an administrator "
                f"(CREATE ROLE {role} LOGIN PASSWORD '...'), then run init-db again"
            )
    with conn.transaction():
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(position))
        old = f"{schema}.ioc_outbox_position"
        new = f"{position_schema}.ioc_outbox_position"
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass(%s), to_regclass(%s)", (old, new))
            had_old, has_new = cur.fetchone() or (None, None)
        if had_old is not None and has_new is None and schema != position_schema:
            conn.execute(
                sql.SQL("ALTER TABLE {}.ioc_outbox_position SET SCHEMA {}").format(source, position)
            )
    applied = apply_ddl(conn, position_schema, ddl_dir / "position")
    grantee = sql.Identifier(role)
    with conn.transaction():
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(source, grantee))
        tables = sql.SQL(", ").join(
            sql.SQL("{}.{}").format(source, sql.Identifier(t)) for t in POLLER_READS
        )
        conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(tables, grantee))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(position, grantee))
        conn.execute(
            sql.SQL("GRANT SELECT, INSERT, UPDATE ON {}.ioc_outbox_position TO {}").format(
                position, grantee
            )
        )
    return applied
