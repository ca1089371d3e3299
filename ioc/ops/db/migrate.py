"""Numbered SQL migrations, applied once each and recorded, for old and current servers.

Migration files use two small template forms so one file serves ClickHouse 18.16
(what Debian ships, what runs here) and current ClickHouse (production, chdb):
``LC(T)`` becomes ``LowCardinality(T)`` where supported, and ``[[feature: clause]]``
keeps the clause only where the server has the feature (``ttl``, ``codec``).
Features come from ``SELECT version()``, never from a setting someone forgot to change.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ioc import assets
from ioc.errors import MigrationError
from ioc.ops.db import cluster as layout
from ioc.ops.db.executors import SqlExecutor

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_OPTIONAL = re.compile(r"\[\[(\w+):\s*(.*?)\]\]", re.S)
_LC = re.compile(r"\bLC\(([A-Za-z0-9]+)\)")


@dataclass(frozen=True, slots=True)
class ServerFeatures:
    """What the connected server supports, from its version number."""

    version: tuple[int, ...]
    ttl: bool
    codec: bool
    low_cardinality: bool
    datetime64: bool

    @classmethod
    def from_version(cls, text: str) -> ServerFeatures:
        """Features of a server reporting ``text`` from ``SELECT version()``."""
        parts = tuple(int(p) for p in re.findall(r"\d+", text)[:3])
        if not parts:
            raise MigrationError(f"cannot parse server version {text!r}")
        return cls(
            version=parts,
            ttl=parts >= (19, 6),
            codec=parts >= (19, 1),
            # Experimental (behind a setting) before 19.0; plain String there.
            low_cardinality=parts >= (19, 0),
            datetime64=parts >= (20, 1),
        )

    def has(self, name: str) -> bool:
        """Whether a template feature name is supported."""
        if name not in {"ttl", "codec", "low_cardinality", "datetime64"}:
            raise MigrationError(f"unknown migration feature {name!r}")
        return bool(getattr(self, name))


@dataclass(frozen=True, slots=True)
class Migration:
    number: int
    name: str
    text: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the file as written (not as rendered: that differs per server)."""
        return hashlib.sha256(self.text.encode()).hexdigest()


def load(directory: Path | None = None) -> list[Migration]:
    """Every migration file (default: :func:`ioc.assets.migrations_dir`), in order.

    Refuses gaps and duplicate numbers.
    """
    directory = directory or assets.migrations_dir()
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        number = int(match.group(1))
        if number in found:
            raise MigrationError(f"two migrations numbered {number}")
        found[number] = Migration(number, match.group(2), path.read_text(encoding="utf-8"))
    numbers = sorted(found)
    if numbers != list(range(1, len(numbers) + 1)):
        raise MigrationError(f"migration numbers must be 1..n without gaps, found {numbers}")
    return [found[n] for n in numbers]


def render(text: str, features: ServerFeatures, params: dict[str, object]) -> list[str]:
    """The statements of one migration for one server."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    body = _OPTIONAL.sub(lambda m: m.group(2) if features.has(m.group(1)) else "", body)
    body = _LC.sub(
        lambda m: f"LowCardinality({m.group(1)})" if features.low_cardinality else m.group(1), body
    )
    body = body.format(**params)
    return [stmt.strip() for stmt in body.split(";") if stmt.strip()]


def _ensure_registry(executor: SqlExecutor, database: str, cluster: str) -> None:
    # A database is migrated for one layout for good: the other's DDL would not fit it.
    rows = executor.execute(
        "SELECT engine FROM system.tables "
        f"WHERE database = '{database}' AND name = 'schema_migrations'"
    )
    if rows and str(rows[0][0]).startswith("Replicated") != bool(cluster):
        was = "a cluster" if str(rows[0][0]).startswith("Replicated") else "one server"
        now = f"cluster {cluster!r}" if cluster else "one server (clickhouse_cluster empty)"
        raise MigrationError(
            f"database {database} was migrated for {was}; the settings now say {now} "
            "(docs/decisions/0036-replicated-clickhouse.md: moving a database)"
        )
    if cluster:
        layout.check_one_shard(
            executor.execute(
                f"SELECT shard_num, replica_num FROM system.clusters WHERE cluster = '{cluster}'"
            ),
            cluster,
        )
        for statement in layout.registry_ddl(database, cluster):
            executor.execute(statement)
        return
    executor.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
    executor.execute(
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations "
        "(version UInt32, name String, checksum String, applied_at DateTime) "
        "ENGINE = MergeTree ORDER BY version"
    )


def applied(executor: SqlExecutor, database: str) -> dict[int, str]:
    """{number: checksum} of the migrations already recorded."""
    rows = executor.execute(f"SELECT version, checksum FROM {database}.schema_migrations")
    return {int(v): str(c) for v, c in rows}


def migrate(
    executor: SqlExecutor,
    database: str,
    *,
    raw_retention_days: int = 90,
    migrations: list[Migration] | None = None,
    cluster: str = "",
) -> list[Migration]:
    """Apply every migration not yet recorded; return those applied (empty the second time).

    ``cluster``: empty for one server; a cluster's name renders every statement for it
    (:mod:`ioc.ops.db.cluster`, run once, ON CLUSTER, from any node).
    """
    for name in (database, cluster or "_"):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise MigrationError(f"invalid database or cluster name {name!r}")
    version_rows = executor.execute("SELECT version()")
    features = ServerFeatures.from_version(str(version_rows[0][0]))
    _ensure_registry(executor, database, cluster)
    done = applied(executor, database)
    params: dict[str, object] = {"db": database, "raw_retention_days": raw_retention_days}
    migrations = migrations if migrations is not None else load()
    keys = (
        layout.shard_keys(s for m in migrations for s in render(m.text, features, params))
        if cluster
        else {}
    )
    newly: list[Migration] = []
    for migration in migrations:
        if migration.number in done:
            if done[migration.number] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.number:04d}_{migration.name} was edited after it was "
                    "applied; add a new migration instead"
                )
            continue
        statements = render(migration.text, features, params)
        if cluster:
            statements = layout.for_cluster(statements, cluster, keys)
        for statement in statements:
            try:
                executor.execute(statement)
            except Exception as exc:
                raise MigrationError(
                    f"migration {migration.number:04d}_{migration.name} failed: {exc}\n{statement}"
                ) from exc
        # Recorded after its statements: they are all IF NOT EXISTS, so a crash in
        # between re-runs them harmlessly.
        executor.execute(
            f"INSERT INTO {database}.schema_migrations (version, name, checksum, applied_at) "
            f"SELECT {migration.number}, '{migration.name}', '{migration.checksum}', now()"
        )
        newly.append(migration)
    return newly
