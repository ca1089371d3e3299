"""load-entities, retention, erasure and the read-only Grafana user, on the real server."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime

import pytest
from clickhouse_driver import Client
from clickhouse_driver.errors import ServerException
from pydantic import SecretStr

from connectors.sinks.clickhouse.rows import COLUMNS, Origin, rows_for
from ioc.ops.db.executors import ClickHouseExecutor, clickhouse_connect_args
from ioc.ops.db.maintenance import drop_expired, erase_subject, expired_partitions, load_entities
from ioc.settings import PROJECT_ROOT, Settings
from schemas.privacy import PiiHasher
from schemas.province.inventory import load_inventory
from schemas.province.loading import load_profile
from tests.factories import qr_scan, subject_hash

pytestmark = pytest.mark.integration


def insert(ch: ClickHouseExecutor, database: str, values: list) -> None:
    rows = [row for i, v in enumerate(values) for _, row in rows_for(v, Origin("t", 0, i), 0)]
    ch.insert(f"{database}.events_qr", COLUMNS["events_qr"], rows)


def scalar(ch: ClickHouseExecutor, sql: str) -> int:
    return int(ch.execute(sql)[0][0])


def test_load_entities_twice_keeps_one_copy(clickhouse: ClickHouseExecutor, database: str) -> None:
    profile = load_profile("binh-phuoc-2021")
    first = load_entities(clickhouse, database, profile)
    second = load_entities(clickhouse, database, profile)
    assert first == second
    assert scalar(clickhouse, f"SELECT count() FROM {database}.entities FINAL") == first.entities
    assert (
        scalar(clickhouse, f"SELECT count() FROM {database}.areas FINAL WHERE level = 'district'")
        == 11
    )
    # Another profile replaces the first: the views never mix two hierarchies.
    load_entities(clickhouse, database, load_profile("dong-nai-2025"))
    assert (
        scalar(clickhouse, f"SELECT count() FROM {database}.areas FINAL WHERE level = 'district'")
        == 0
    )


def test_load_entities_from_the_example_inventory(
    clickhouse: ClickHouseExecutor, database: str
) -> None:
    """docs/examples/inventory-binh-phuoc.csv replaces the profile's illustrative entities."""
    profile = load_profile("binh-phuoc-2021")
    load_entities(clickhouse, database, profile)
    inventory = load_inventory(PROJECT_ROOT / "docs/examples/inventory-binh-phuoc.csv", profile)
    report = load_entities(clickhouse, database, inventory.profile)
    assert report.entities == sum(inventory.counts.values()) == 22
    rows = clickhouse.execute(
        f"SELECT entity_kind, entity_id, group_id, name, area_code, latitude, longitude "
        f"FROM {database}.entities FINAL ORDER BY entity_kind, entity_id"
    )
    assert len(rows) == 22  # the shipped profile's 379 illustrative rows are gone
    by_id = {(r[0], r[1]): r[2:] for r in rows}
    assert by_id[("sensor", "VDS-QL14-DXO-01-N")] == (
        "QL14-DXO-01", "VDS-QL14-DXO-01-N", "25195", 11.536, 106.897,
    )  # fmt: skip
    assert by_id[("meter", "PC03EE0012347")][:1] == ("E14-4-471",)
    assert by_id[("checkpoint", "QR-CHO-DXO")][1:3] == ("Chợ Đồng Xoài", "25195")
    assert by_id[("agency", "AG-689")][2] == "689"
    kinds = clickhouse.execute(
        f"SELECT entity_kind, count() FROM {database}.entities FINAL GROUP BY entity_kind"
    )
    assert {str(k): int(n) for k, n in kinds} == {k.value: n for k, n in inventory.counts.items()}
    # The areas are the profile's, unchanged.
    assert scalar(clickhouse, f"SELECT count() FROM {database}.areas FINAL") == len(
        profile.areas.areas
    )


def test_retention_drops_only_expired_months(clickhouse: ClickHouseExecutor, database: str) -> None:
    old = qr_scan(scanned_at=datetime(2026, 1, 15, tzinfo=UTC))
    recent = qr_scan(scanned_at=datetime(2026, 11, 20, tzinfo=UTC), subject_hash=subject_hash("x"))
    insert(clickhouse, database, [old, recent])
    today = date(2026, 11, 26)
    assert expired_partitions(clickhouse, database, 90, today) == [("events_qr", "202601")]
    assert drop_expired(clickhouse, database, 90, today) == [("events_qr", "202601")]
    assert scalar(clickhouse, f"SELECT count() FROM {database}.events_qr") == 1
    assert drop_expired(clickhouse, database, 90, today) == []


def test_erase_removes_one_subject_only(clickhouse: ClickHouseExecutor, database: str) -> None:
    target, other = subject_hash("079201000001"), subject_hash("079201000002")
    insert(clickhouse, database, [qr_scan(subject_hash=target), qr_scan(subject_hash=other)])
    assert erase_subject(clickhouse, database, target)["events_qr"] == 1
    remaining = clickhouse.execute(f"SELECT subject_hash FROM {database}.events_qr")
    assert remaining == [(other,)]


def test_grafana_user_is_read_only_and_confined_to_ioc(
    settings: Settings, clickhouse: ClickHouseExecutor
) -> None:
    from ioc.ops.db.migrate import migrate

    migrate(clickhouse, settings.clickhouse_database)
    grafana = Client(
        **clickhouse_connect_args(settings, "reader")
        | {
            "user": settings.clickhouse_grafana_user,
            "password": settings.clickhouse_grafana_password.get_secret_value(),
        }
    )
    db = settings.clickhouse_database
    assert grafana.execute(f"SELECT count() FROM {db}.kpi_traffic_live") is not None
    with pytest.raises(ServerException):
        grafana.execute(f"INSERT INTO {db}.generations (generation) VALUES", [(99,)])
    with pytest.raises(ServerException):
        grafana.execute("CREATE TABLE default.nope (x UInt8) ENGINE = Memory")
    clickhouse.execute("CREATE TABLE IF NOT EXISTS default.grafana_probe (x UInt8) ENGINE = Memory")
    try:
        with pytest.raises(ServerException) as denied:
            grafana.execute("SELECT * FROM default.grafana_probe")
        assert denied.value.code == 291  # DATABASE_ACCESS_DENIED, not "no such table"
    finally:
        clickhouse.execute("DROP TABLE IF EXISTS default.grafana_probe")


def test_erase_by_identifier_reaches_rows_hashed_before_a_key_rotation(
    settings: Settings, clickhouse: ClickHouseExecutor, database: str
) -> None:
    """``ioc db erase --identifier``: hashed with the current key and every rotated-out
    one (IOC_PII_PREVIOUS_KEYS), so the person's rows from before the rotation go too."""
    old_key, new_key = "k0-" + "o" * 40, "k1-" + "n" * 40
    person, other = "079201000001", "079201000002"
    before = PiiHasher(old_key.encode(), "k0")
    after = PiiHasher(new_key.encode(), "k1")
    insert(
        clickhouse,
        database,
        [
            qr_scan(subject_hash=before.hash(person), pii_key_id="k0"),
            qr_scan(subject_hash=after.hash(person), pii_key_id="k1"),
            qr_scan(subject_hash=after.hash(other), pii_key_id="k1"),
        ],
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env |= settings.model_copy(
        update={
            "clickhouse_database": database,
            "pii_hmac_key": SecretStr(new_key),
            "pii_key_id": "k1",
            "pii_previous_keys": SecretStr(f"k0:{old_key}"),
            "erase_settle_s": 0.0,
        }
    ).env_vars()
    done = subprocess.run(
        [sys.executable, "-m", "ioc", "db", "erase", "--identifier", person, "--reason", "req 1"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "events_qr: 1 rows erased (key k1)" in done.stdout
    assert "events_qr: 1 rows erased (key k0)" in done.stdout
    assert old_key not in done.stdout + done.stderr
    remaining = clickhouse.execute(f"SELECT subject_hash FROM {database}.events_qr")
    assert remaining == [(after.hash(other),)]
    # Both hashes are in the erasure register (decision 0041); the identifier is not.
    register = clickhouse.execute(
        f"SELECT key_id, subject_hash, reason FROM {database}.erased_subjects ORDER BY key_id"
    )
    assert register == [("k0", before.hash(person), "req 1"), ("k1", after.hash(person), "req 1")]
