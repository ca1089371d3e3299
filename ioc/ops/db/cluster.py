"""The migrations for a replicated ClickHouse: one file, rendered for a named cluster.

With ``clickhouse_cluster`` empty the migrations run as written (one server). With a
cluster name (docs/decisions/0036-replicated-clickhouse.md) every statement a migration
may hold is rewritten, so the files stay the same for both layouts:

* ``CREATE TABLE db.t (...) ENGINE = XMergeTree(args)`` becomes the data table
  ``db.t_local`` on every node, ``ReplicatedXMergeTree('/clickhouse/tables/{shard}/db/t_local',
  '{replica}', args)`` (the same version column), plus ``db.t``, a ``Distributed`` table
  over it. Writers and readers keep using ``db.t``: the sink, the views and the panels'
  queries do not change.
* ``ALTER TABLE db.t ...`` alters ``db.t_local`` where the migrator is connected, and the
  replicated table carries the change to the shard's other replicas; then ``db.t`` is
  re-created ON CLUSTER so it has the new columns. Not ``ALTER ... ON CLUSTER``: 18.16
  refuses it on a Distributed table of a replicated shard, and on a replicated table its
  DDL queue lets two replicas of the shard race to run it ("Node exists: .../executed")
  and the query then hangs until its timeout. Hence one shard (:func:`check_one_shard`).
* ``CREATE VIEW``, ``DROP TABLE`` (of views) and ``CREATE DATABASE`` run ``ON CLUSTER``;
  ``x IN (SELECT ...)`` becomes ``GLOBAL IN``, evaluated once where the query starts (a
  plain IN over two Distributed tables is refused on a cluster of several shards).
* ``INSERT`` statements are left alone: they go through the Distributed table.

The Distributed tables still name a sharding key, so that the layout can grow shards
once the ALTERs can: rows that replace each other must meet on one shard, so it is a hash
of the table's sorting key without a last ``generation`` (the live views choose between
the generations of one key) or ``event_id`` (a UUID, which 18.16 cannot hash).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ioc.errors import MigrationError

_CREATE_TABLE = re.compile(
    r"^CREATE TABLE IF NOT EXISTS (?P<db>\w+)\.(?P<table>\w+)\s*\((?P<columns>.*)\)\s*"
    r"ENGINE\s*=\s*(?P<engine>\w*MergeTree)(?:\((?P<args>[^)]*)\))?(?P<rest>.*)$",
    re.S,
)
_ORDER_BY = re.compile(r"\bORDER BY\s+(\([^)]*\)|\w+)")
_CREATE_VIEW = re.compile(r"^CREATE VIEW IF NOT EXISTS (\w+\.\w+)\s+AS\b", re.S)
_DROP = re.compile(r"^DROP TABLE IF EXISTS (\w+\.\w+)\s*$")
_ALTER = re.compile(r"^ALTER TABLE (?P<db>\w+)\.(?P<table>\w+)\s+(?P<action>.*)$", re.S)
_CREATE_DATABASE = re.compile(r"^CREATE DATABASE IF NOT EXISTS (\w+)\s*$")
_IN_SUBQUERY = re.compile(r"(?<!GLOBAL)\s+IN\s*\(\s*SELECT\b")
_UNHASHABLE = ("generation", "event_id")

LOCAL_SUFFIX = "_local"


def shard_key(create_table: str) -> str:
    """The Distributed table's sharding expression for one ``CREATE TABLE`` statement."""
    match = _ORDER_BY.search(create_table)
    if not match:
        raise MigrationError(f"no ORDER BY to shard by in:\n{create_table}")
    columns = [c.strip() for c in match.group(1).strip("()").split(",") if c.strip()]
    if len(columns) > 1 and columns[-1] in _UNHASHABLE:
        columns = columns[:-1]
    return f"cityHash64({', '.join(columns)})"


def shard_keys(statements: Iterable[str]) -> dict[str, str]:
    """``db.table`` → sharding expression, for every table the statements create."""
    keys = {}
    for statement in statements:
        match = _CREATE_TABLE.match(statement.strip())
        if match:
            keys[f"{match['db']}.{match['table']}"] = shard_key(statement)
    return keys


def zookeeper_path(database: str, table: str, shared: bool = False) -> str:
    """Where a replicated table's replicas meet; ``shared``: one copy on every node."""
    return f"/clickhouse/tables/{'all' if shared else '{shard}'}/{database}/{table}"


def distributed(cluster: str, database: str, table: str, key: str) -> str:
    """``CREATE`` of the Distributed table ``db.table`` over ``db.table_local``."""
    local = table + LOCAL_SUFFIX
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.{table} ON CLUSTER {cluster} "
        f"AS {database}.{local} ENGINE = Distributed({cluster}, {database}, {local}, {key})"
    )


def _replicated_table(cluster: str, match: re.Match[str], key: str) -> list[str]:
    db, table = match["db"], match["table"]
    local = table + LOCAL_SUFFIX
    args = ", ".join(
        [f"'{zookeeper_path(db, local)}'", "'{replica}'"]
        + ([match["args"].strip()] if match["args"] and match["args"].strip() else [])
    )
    return [
        f"CREATE TABLE IF NOT EXISTS {db}.{local} ON CLUSTER {cluster}\n({match['columns']})\n"
        f"ENGINE = Replicated{match['engine']}({args}){match['rest']}",
        distributed(cluster, db, table, key),
    ]


def for_cluster(statements: list[str], cluster: str, keys: dict[str, str]) -> list[str]:
    """One migration's statements (already rendered for the server) for ``cluster``.

    ``keys``: :func:`shard_keys` of every migration, so an ``ALTER`` in a later file
    re-creates the Distributed table with the key its ``CREATE`` had.
    """
    out: list[str] = []
    for i, raw in enumerate(statements):
        statement = raw.strip()
        if match := _CREATE_TABLE.match(statement):
            out += _replicated_table(cluster, match, shard_key(statement))
        elif match := _ALTER.match(statement):
            name = f"{match['db']}.{match['table']}"
            if name not in keys:
                raise MigrationError(f"ALTER of {name}, which no migration creates")
            out.append(f"ALTER TABLE {name}{LOCAL_SUFFIX} {match['action']}")
            following = _ALTER.match(statements[i + 1].strip()) if i + 1 < len(statements) else None
            if not following or f"{following['db']}.{following['table']}" != name:
                # After the last ALTER of a run on one table: re-created once.
                out.append(f"DROP TABLE IF EXISTS {name} ON CLUSTER {cluster}")
                out.append(distributed(cluster, match["db"], match["table"], keys[name]))
        elif match := _CREATE_VIEW.match(statement):
            body = statement[match.end() :]
            body = _IN_SUBQUERY.sub(lambda m: m.group(0).replace("IN", "GLOBAL IN", 1), body)
            out.append(f"CREATE VIEW IF NOT EXISTS {match[1]} ON CLUSTER {cluster} AS{body}")
        elif match := _DROP.match(statement):
            out.append(f"DROP TABLE IF EXISTS {match[1]} ON CLUSTER {cluster}")
        elif match := _CREATE_DATABASE.match(statement):
            out.append(f"CREATE DATABASE IF NOT EXISTS {match[1]} ON CLUSTER {cluster}")
        elif statement.upper().startswith("INSERT"):
            out.append(statement)
        else:
            raise MigrationError(
                f"no cluster form for this statement (extend ioc.ops.db.cluster):\n{statement}"
            )
    return out


def check_one_shard(rows: list[tuple[object, ...]], cluster: str) -> None:
    """Refuse a cluster that is unknown or has several shards.

    ``rows``: ``(shard_num, replica_num)`` of each of its hosts in ``system.clusters``.
    """
    if not rows:
        raise MigrationError(f"the server has no cluster {cluster!r} in its remote_servers")
    shards = {row[0] for row in rows}
    if len(shards) > 1:
        raise MigrationError(
            f"cluster {cluster!r} has {len(shards)} shards; the migrations and `ioc db` chores "
            "support one shard of any number of replicas (decision 0036)"
        )


def registry_ddl(database: str, cluster: str) -> list[str]:
    """The migration registry: on every node of every shard, one replicated copy."""
    path = zookeeper_path(database, "schema_migrations", shared=True)
    return [
        f"CREATE DATABASE IF NOT EXISTS {database} ON CLUSTER {cluster}",
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations ON CLUSTER {cluster} "
        "(version UInt32, name String, checksum String, applied_at DateTime) "
        f"ENGINE = ReplicatedMergeTree('{path}', '{{replica}}') ORDER BY version",
    ]
