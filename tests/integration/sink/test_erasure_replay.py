"""Erasure that a replay cannot undo (decision 0041), on the real Kafka and ClickHouse.

A person's scans, dossier change and dead letter go through the real sink; ``ioc db
erase`` takes them out of ClickHouse; the stored rows are then lost (as a restore from
an empty table would) and a new sink group re-reads the same Kafka records from the
start: everyone else's rows come back, the erased person's do not, and the sink counts
what it dropped. ``ioc replay copy`` leaves the person's records out of a replay copy.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from kafka import KafkaConsumer, TopicPartition

from connectors.sinks.clickhouse.sink import ClickHouseSink
from ioc.kafka_client import kafka_client_options
from ioc.ops.db.executors import ClickHouseExecutor
from ioc.ops.db.maintenance import wait_for_mutations
from ioc.ops.kafka_admin import admin_client
from ioc.settings import Settings
from schemas.topics import DEADLETTER, DOSSIER_STATUS, QR_SCANS
from tests import clock
from tests.factories import dead_letter, dossier, qr_scan, subject_hash
from tests.integration.sink.harness import drive, end_offsets, make_output, produce, unique_topics

pytestmark = [pytest.mark.integration, pytest.mark.scenario_date]

TABLES = ("events_qr", "events_dossier", "deadletter")


def counts(ch: ClickHouseExecutor, db: str, digest: str) -> dict[str, int]:
    where = {
        "events_qr": f"subject_hash = '{digest}'",
        "events_dossier": f"applicant_hash = '{digest}'",
        "deadletter": f"position(payload, '{digest}') > 0",
    }
    return {
        t: int(ch.execute(f"SELECT count() FROM {db}.{t} FINAL WHERE {w}")[0][0])
        for t, w in where.items()
    }


def ioc(settings: Settings, database: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env |= settings.model_copy(
        update={"clickhouse_database": database, "erase_settle_s": 1.0}
    ).env_vars()
    return subprocess.run(
        [sys.executable, "-m", "ioc", *args],
        env=env | {"COLUMNS": "200"}, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def read_all(settings: Settings, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(**kafka_client_options(settings), enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        out: list[bytes] = []
        while any(consumer.position(tp) < end[tp] for tp in tps):
            for batch in consumer.poll(timeout_ms=500).values():
                out.extend(r.value for r in batch)
        return out
    finally:
        consumer.close()


def test_an_erased_person_does_not_come_back_with_a_replay(
    settings: Settings, clickhouse: ClickHouseExecutor, database: str, unique: str
) -> None:
    try:
        specs = unique_topics(settings, unique)
        person, other = subject_hash(f"erase-{unique}-a"), subject_hash(f"erase-{unique}-b")
        start = (clock.now() - timedelta(hours=3)).replace(microsecond=0)
        minute = timedelta(minutes=1)
        scans = [
            qr_scan(subject_hash=who, scanned_at=start + i * minute, device_id=f"DEV-{i}")
            for i in range(3)
            for who in (person, other)
        ]
        changes = [
            dossier(dossier_id=f"D-{unique}-{i}", outbox_id=i + 1, applicant_hash=who,
                    changed_at=start + i * minute, received_at=start)
            for i, who in enumerate((person, other))
        ]  # fmt: skip
        letters = [
            dead_letter(offset=i, failed_at=start, payload=f'{{"subject_hash": "{who}", "x": 1')
            for i, who in enumerate((person, other))
        ]
        produce(settings, specs[QR_SCANS].name, scans)
        produce(settings, specs[DOSSIER_STATUS].name, changes)
        produce(settings, specs[DEADLETTER].name, letters)
        topics = [specs[n].name for n in (QR_SCANS, DOSSIER_STATUS, DEADLETTER)]
        ends = end_offsets(settings, topics)
        wanted = {"events_qr": 3, "events_dossier": 1, "deadletter": 1}

        def caught_up(sink: ClickHouseSink) -> bool:
            return all(sink.committed.get(tp, 0) >= offset for tp, offset in ends.items())

        live = make_output(settings, specs, database, f"ioc-sink-erase-{unique}")
        assert drive(live, lambda: caught_up(live), timeout_s=60)
        assert counts(clickhouse, database, person) == wanted

        erased = ioc(settings, database, "db", "erase", "--subject-hash", person,
                     "--reason", f"request {unique}")  # fmt: skip
        assert erased.returncode == 0, erased.stdout + erased.stderr
        assert "events_qr: 3 rows erased (key given)" in erased.stdout
        assert counts(clickhouse, database, person) == dict.fromkeys(TABLES, 0)
        assert counts(clickhouse, database, other) == wanted
        register = clickhouse.execute(
            f"SELECT subject_hash, key_id, reason, until_ms - erased_at_ms "
            f"FROM {database}.erased_subjects"
        )
        assert register == [
            (person, "given", f"request {unique}", settings.max_clock_skew_s * 1000)
        ]

        # The stored rows are lost (a restore from an empty table), and the same Kafka
        # records are read again from the start by a new group: a rebuild from Kafka.
        for table in TABLES:
            clickhouse.execute(f"ALTER TABLE {database}.{table} DELETE WHERE 1")
            wait_for_mutations(clickhouse, database, table)
        for table in TABLES:
            assert int(clickhouse.execute(f"SELECT count() FROM {database}.{table}")[0][0]) == 0
        replay = make_output(settings, specs, database, f"ioc-sink-erase-replay-{unique}")
        assert drive(replay, lambda: caught_up(replay), timeout_s=60)
        assert counts(clickhouse, database, other) == wanted  # everyone else came back
        assert counts(clickhouse, database, person) == dict.fromkeys(TABLES, 0)  # not them
        dropped = {t: replay.metrics.erased_dropped.labels(table=t)._value.get() for t in TABLES}
        assert dropped == {"events_qr": 3, "events_dossier": 1, "deadletter": 1}
        # Their dossier's status stays (it names no one): the backlog panels still count it.
        state = clickhouse.execute(
            f"SELECT count() FROM {database}.dossier_state FINAL WHERE dossier_id = 'D-{unique}-0'"
        )
        assert state == [(1,)]

        # A replay copy leaves the erased person out and keeps everyone else.
        into = f"{specs[QR_SCANS].name}.replay.erase"
        copied = ioc(settings, database, "replay", "copy", "--topic", specs[QR_SCANS].name,
                     "--from", (start - minute).isoformat(), "--to", clock.now().isoformat(),
                     "--into", into, "--execute")  # fmt: skip
        assert copied.returncode == 0, copied.stdout + copied.stderr
        assert "3 left out: erased subjects (1 in the register)" in copied.stdout
        values = read_all(settings, into)
        assert len(values) == 3
        assert all(other.encode() in v and person.encode() not in v for v in values)
    finally:
        admin = admin_client(settings)
        try:
            admin.delete_topics([t for t in admin.list_topics() if unique in t])
            groups = [g["group_id"] for g in admin.list_groups() if unique in g["group_id"]]
            if groups:
                admin.delete_groups(groups)
        finally:
            admin.close()
