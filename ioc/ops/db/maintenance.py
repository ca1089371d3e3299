"""Database chores: load the profile, drop expired partitions, erase one person's events.

These talk to ClickHouse through the SqlExecutor protocol, so the same code runs on
the real server and on chdb.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, datetime

import orjson

from ioc.errors import MigrationError
from ioc.ops.db.cluster import LOCAL_SUFFIX
from ioc.ops.db.executors import SqlExecutor
from schemas.province.entities import EntityKind
from schemas.province.profile import Profile
from schemas.timeutil import LOCAL_TZ

RAW_TABLES = ("events_qr", "events_traffic", "events_energy", "events_dossier")
_HASH = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class LoadReport:
    areas: int
    area_paths: int
    entities: int


def _altered(database: str, table: str, cluster: str) -> str:
    """What ``ALTER TABLE`` names for a mutation or a dropped partition.

    The table, or on a cluster its replicated data table where we are connected: the
    replicated table carries the mutation to the shard's other replicas (not ON CLUSTER:
    18.16's DDL queue lets two replicas race to run it; decision 0036).
    """
    return f"{database}.{table}{LOCAL_SUFFIX}" if cluster else f"{database}.{table}"


def _data_table(table: str, cluster: str) -> str:
    """The name the data parts and mutations of ``table`` are listed under."""
    return table + LOCAL_SUFFIX if cluster else table


def load_entities(
    executor: SqlExecutor, database: str, profile: Profile, *, cluster: str = ""
) -> LoadReport:
    """Write the profile's areas (with every ancestor path) and entities.

    Rows of this profile are replaced by newer loads (ReplacingMergeTree on
    loaded_at_ms), and rows an earlier load wrote that this one does not (an
    illustrative meter after ``--inventory`` brought the real ones) are deleted after
    the insert; a database serves one profile at a time, so rows of other profiles
    are deleted first, keeping the area views unambiguous.
    """
    loaded_at = time.time_ns() // 1_000_000
    name = profile.name
    for table in ("areas", "area_paths", "entities"):
        executor.execute(
            f"ALTER TABLE {_altered(database, table, cluster)} DELETE WHERE profile != '{name}'"
        )
        wait_for_mutations(executor, database, _data_table(table, cluster))
    depth = {level: i for i, level in enumerate(profile.areas.levels)}
    areas = [
        (name, a.code, a.name, a.level, depth[a.level], a.parent_code or "", a.latitude,
         a.longitude, loaded_at)
        for a in profile.areas.areas
    ]  # fmt: skip
    paths = [
        (name, a.code, a.level, anc.code, anc.level, depth[anc.level], loaded_at)
        for a in profile.areas.areas
        for anc in profile.areas.ancestors(a.code)
    ]
    entities = []
    for kind in EntityKind:
        for entity in profile.entities(kind):
            entity_id = profile.id_of(kind, entity)
            attributes = entity.model_dump(mode="json")
            entities.append(
                (
                    name, kind.value, entity_id, profile.group_of(kind, entity_id),
                    str(attributes.get("name", entity_id)), profile.area_of(kind, entity_id),
                    entity.latitude, entity.longitude, orjson.dumps(attributes).decode(), loaded_at,
                )
            )  # fmt: skip
    executor.insert(
        f"{database}.areas",
        ["profile", "code", "name", "level", "depth", "parent_code", "latitude", "longitude",
         "loaded_at_ms"],
        areas,
    )  # fmt: skip
    executor.insert(
        f"{database}.area_paths",
        ["profile", "code", "level", "ancestor_code", "ancestor_level", "ancestor_depth",
         "loaded_at_ms"],
        paths,
    )  # fmt: skip
    executor.insert(
        f"{database}.entities",
        ["profile", "entity_kind", "entity_id", "group_id", "name", "area_code", "latitude",
         "longitude", "attributes", "loaded_at_ms"],
        entities,
    )  # fmt: skip
    for table in ("areas", "area_paths", "entities"):
        executor.execute(
            f"ALTER TABLE {_altered(database, table, cluster)} DELETE "
            f"WHERE profile = '{name}' AND loaded_at_ms < {loaded_at}"
        )
        wait_for_mutations(executor, database, _data_table(table, cluster))
    return LoadReport(len(areas), len(paths), len(entities))


def expired_partitions(
    executor: SqlExecutor, database: str, retention_days: int, today: date, *, cluster: str = ""
) -> list[tuple[str, str]]:
    """(table, partition) of raw-event months that ended more than retention_days ago."""
    names = {_data_table(t, cluster): t for t in RAW_TABLES}
    rows = executor.execute(
        f"SELECT DISTINCT table, partition FROM system.parts WHERE database = '{database}' "
        f"AND active AND table IN ({', '.join(repr(t) for t in names)})"
    )
    expired = []
    for data_table, partition in rows:
        table = names[str(data_table)]
        month = str(partition).strip("'")
        year, mon = int(month[:4]), int(month[4:6])
        # The first day of the next month: everything in the partition is older.
        end = date(year + mon // 12, mon % 12 + 1, 1)
        if (today - end).days > retention_days:
            expired.append((str(table), month))
    return sorted(expired)


def drop_expired(
    executor: SqlExecutor, database: str, retention_days: int, today: date, *, cluster: str = ""
) -> list[tuple[str, str]]:
    """Drop whole expired partitions (for servers without TTL, like 18.16)."""
    dropped = expired_partitions(executor, database, retention_days, today, cluster=cluster)
    for table, month in dropped:
        executor.execute(f"ALTER TABLE {_altered(database, table, cluster)} DROP PARTITION {month}")
    return dropped


def erase_subject(
    executor: SqlExecutor, database: str, subject_hash: str, *, cluster: str = ""
) -> dict[str, int]:
    """Delete one person's raw events (and dead letters naming the hash); return counts found."""
    if not _HASH.match(subject_hash):
        raise MigrationError("a subject hash is 64 lowercase hex characters")
    targets = {
        "events_qr": f"subject_hash = '{subject_hash}'",
        "events_dossier": f"applicant_hash = '{subject_hash}'",
        "deadletter": f"position(payload, '{subject_hash}') > 0",
    }
    found: dict[str, int] = {}
    for table, condition in targets.items():
        found[table] = int(
            executor.execute(f"SELECT count() FROM {database}.{table} WHERE {condition}")[0][0]
        )
        if found[table]:
            executor.execute(
                f"ALTER TABLE {_altered(database, table, cluster)} DELETE WHERE {condition}"
            )
            wait_for_mutations(executor, database, _data_table(table, cluster))
    return found


def wait_for_mutations(
    executor: SqlExecutor, database: str, table: str, timeout_s: float = 60
) -> None:
    """ALTER ... DELETE is asynchronous on every server version: wait until it is applied."""
    deadline = time.monotonic() + timeout_s
    query = (
        f"SELECT count() FROM system.mutations WHERE database = '{database}' "
        f"AND table = '{table}' AND is_done = 0"
    )
    while int(executor.execute(query)[0][0]) > 0:
        if time.monotonic() > deadline:
            raise MigrationError(f"mutation on {database}.{table} not done after {timeout_s} s")
        time.sleep(0.1)


def today_local(now: datetime) -> date:
    """The calendar day in the IOC's zone (partitions are by local month)."""
    return now.astimezone(LOCAL_TZ).date()
