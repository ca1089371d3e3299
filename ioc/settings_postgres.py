"""The one-stop-shop database and the outbox poller that reads it (docs/connectors.md).

A base class of :class:`ioc.settings.Settings`, which alone is built and passed around:
the section lives apart only to keep one file readable.

Two PostgreSQL roles (docs/security.md, "PostgreSQL"): ``postgres_user`` is the
one-stop-shop system's own (it owns the dossier tables; ``ioc connector outbox init-db``
and the simulator's seeding use it), ``outbox_user`` is the poller's, which may only read
those tables and write its position in a schema of its own.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class PostgresSettings(BaseSettings):
    """Where the dossier database is, who connects, how the poller reads it."""

    postgres_host: str = Field(
        default="127.0.0.1", description="The one-stop-shop database the outbox poller reads"
    )
    postgres_port: int = 5432
    postgres_user: str = "ioc"
    postgres_password: SecretStr = SecretStr("ioc")
    postgres_database: str = "dossier"
    postgres_sslmode: SslMode = Field(
        default="verify-full",
        description="libpq sslmode; verify-full checks the server certificate against the CA",
    )
    outbox_consumer: str = Field(default="ioc-outbox", pattern=r"^[A-Za-z0-9_.\-]+$")
    outbox_schema: str = Field(default="public", pattern=r"^[a-z_][a-z0-9_]*$")
    outbox_poll_interval_s: float = Field(default=1.0, gt=0)
    outbox_overlap_ids: int = Field(
        default=1_000, ge=1, description="Ids below the position re-read for late commits"
    )
    outbox_batch_size: int = Field(default=500, ge=1)
    outbox_initial: Literal["snapshot", "history"] = Field(
        default="snapshot", description="First start: open dossiers' state, or the whole history"
    )
    outbox_metrics_port: int = 9482
    outbox_user: str = Field(default="ioc_outbox", description="The poller's read-only role")
    outbox_password: SecretStr = SecretStr("ioc-outbox-local")
    outbox_position_schema: str = Field(
        default="ioc_connector",
        pattern=r"^[a-z_][a-z0-9_]*$",
        description="Where the poller keeps its position: the only place it may write",
    )
