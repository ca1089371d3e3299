"""The dossier outbox poller against real PostgreSQL and Kafka: snapshot, transfers,
out-of-order commits, a crash between Kafka and the position, and SIGKILL mid-stream."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from kafka.partitioner.default import murmur2

from connectors.sources.edge import TopicRoutes
from connectors.sources.outbox.poller import OutboxPoller
from connectors.sources.outbox.seed import StatusChange, record_change, seed
from connectors.sources.outbox.sql import OPEN_STATUSES
from ioc.settings import Settings
from ioc.wiring import connectors as wire
from schemas.timeutil import utcnow
from tests.integration.connectors.conftest import (
    LoopThread,
    assert_murmur2_partitioning,
    count_records,
    counter,
    read_topic,
    values,
    wait_until,
)
from tests.integration.services import PrivateService

pytestmark = pytest.mark.integration


def connect(settings: Settings, **kw: Any) -> psycopg.Connection[Any]:
    """As the one-stop-shop system (its owner role), the position schema on the path."""
    path = f"{settings.outbox_schema},{settings.outbox_position_schema}"
    return psycopg.connect(**wire.pg_conninfo(settings), options=f"-c search_path={path}", **kw)


def expected_events(settings: Settings) -> tuple[int, int]:
    """(history rows, rows that moved a dossier to another agency)."""
    with connect(settings) as conn:
        rows = conn.execute("SELECT count(*) FROM dossier_status_history").fetchone()
        moves = conn.execute(
            """SELECT count(*) FROM (
                 SELECT agency_code, lag(agency_code) OVER (PARTITION BY dossier_id ORDER BY id) AS prev
                 FROM dossier_status_history) t
               WHERE prev IS NOT NULL AND prev <> agency_code"""
        ).fetchone()
    assert rows is not None
    assert moves is not None
    return int(rows[0]), int(moves[0])


def change(dossier: str, status: str, agency: str = "000.00.31.H10", **kw: Any) -> StatusChange:
    now = utcnow()
    return StatusChange(
        dossier_id=dossier,
        procedure_code="1.000777",
        agency_code=agency,
        area_code=kw.pop("area_code", "689"),
        level=4,
        channel="online",
        status=status,
        changed_at=kw.pop("changed_at", now),
        applicant_id="070987654321",
        received_at=now - timedelta(hours=2),
        due_at=now + timedelta(days=3),
        **kw,
    )


def start_poller(lt: LoopThread, settings: Settings) -> OutboxPoller:
    poller = wire.poller(settings)
    lt.run(poller.start())
    lt.run(poller.caught_up.wait(), timeout=60)
    return poller


def test_snapshot_then_changes_and_a_transfer(
    loop_thread: LoopThread, pg_settings: Settings, routes: TopicRoutes
) -> None:
    with connect(pg_settings) as conn:
        seed(conn, dossiers=40, now=utcnow(), rng=random.Random(7))
        open_rows = conn.execute(
            "SELECT last_history_id FROM dossier WHERE status = ANY(%s)", (list(OPEN_STATUSES),)
        ).fetchall()
    open_ids = {int(r[0]) for r in open_rows}
    assert open_ids, "the seed should leave some dossiers open"
    topic = routes.topic("dossier")

    poller = start_poller(loop_thread, pg_settings)
    try:
        snapshot = values(read_topic(pg_settings, topic))
        assert {v["outbox_id"] for v in snapshot} == open_ids  # current state, once each
        assert len(snapshot) == len(open_ids)
        assert all(v["applicant_hash"] and "applicant_id" not in v for v in snapshot)
        with connect(pg_settings) as conn:
            record_change(conn, change("T.1", "received"))
            record_change(conn, change("T.1", "processing"))
            moved = record_change(
                conn, change("T.1", "processing", "000.00.35.H10", area_code="696")
            )
        wait_until(
            lambda: poller.position is not None and poller.position.last_id >= moved, 20, "T.1"
        )
    finally:
        loop_thread.run(poller.stop())

    records = read_topic(pg_settings, topic)
    assert len(records) == len(open_ids) + 4  # received, processing, transferred_out + processing
    transfer = [
        (r, v)
        for r, v in zip(records, values(records), strict=True)
        if v["status"] == "transferred_out"
    ]
    assert len(transfer) == 1
    record, value = transfer[0]
    assert record.key == b"000.00.31.H10"  # keyed by the agency it left
    assert value["area_code"] == "689"
    assert value["outbox_id"] == moved
    assert record.partition == (murmur2(b"000.00.31.H10") & 0x7FFFFFFF) % 3
    assert_murmur2_partitioning(records, 3)

    # A restart neither repeats the snapshot nor anything written before.
    poller = start_poller(loop_thread, pg_settings)
    try:
        with connect(pg_settings) as conn:
            last = record_change(conn, change("T.1", "completed", "000.00.35.H10", area_code="696"))
        wait_until(
            lambda: poller.position is not None and poller.position.last_id >= last, 20, "last"
        )
    finally:
        loop_thread.run(poller.stop())
    assert len(read_topic(pg_settings, topic)) == len(open_ids) + 5


def test_out_of_order_commit_is_neither_lost_nor_duplicated(
    loop_thread: LoopThread, pg_settings: Settings, routes: TopicRoutes
) -> None:
    poller = start_poller(loop_thread, pg_settings)
    late_conn = connect(pg_settings)
    try:
        with connect(pg_settings) as conn:
            record_change(conn, change("O.1", "received"))
        late_conn.execute("SELECT 1")  # open the transaction record_change then joins
        late_id = record_change(late_conn, change("O.2", "received"))  # not committed yet
        with connect(pg_settings) as conn:
            later_id = record_change(conn, change("O.3", "received"))
        assert later_id > late_id
        wait_until(
            lambda: poller.position is not None and poller.position.last_id >= later_id, 20, "O.3"
        )
        late_conn.commit()  # id late_id becomes visible after a higher id was written
        wait_until(
            lambda: poller.position is not None and late_id in poller.position.seen_ids, 20, "O.2"
        )
        assert counter(poller.registry, "ioc_outbox_late_rows_total") == 1
    finally:
        late_conn.close()
        loop_thread.run(poller.stop())
    ids = sorted(v["outbox_id"] for v in values(read_topic(pg_settings, routes.topic("dossier"))))
    assert ids == sorted([late_id, later_id, late_id - 1])


def fail_nth_position_write(settings: Settings, n: int) -> None:
    """Make the real PostgreSQL refuse the n-th position write as a lost connection.

    A trigger on the position table raises SQLSTATE 08006 (connection_failure), which
    the driver reports as an OperationalError, exactly as a dropped connection would:
    the batch is already in Kafka, its position never reaches PostgreSQL.
    """
    with connect(settings, autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE position_writes")
        conn.execute(
            f"""
            CREATE FUNCTION fail_nth_position_write() RETURNS trigger LANGUAGE plpgsql
            SECURITY DEFINER AS $$  -- runs in the poller's session, with the test's rights
            BEGIN
                IF nextval('position_writes') = {int(n)} THEN
                    RAISE EXCEPTION 'connection lost (test trigger)' USING ERRCODE = '08006';
                END IF;
                RETURN NEW;
            END $$
            """
        )
        # BEFORE INSERT fires once per upsert, whether it then inserts or updates.
        conn.execute(
            "CREATE TRIGGER fail_nth_position_write BEFORE INSERT ON ioc_outbox_position "
            "FOR EACH ROW EXECUTE FUNCTION fail_nth_position_write()"
        )


@pytest.mark.faults
def test_crash_after_kafka_before_position_writes_nothing_twice(
    loop_thread: LoopThread, pg_settings: Settings, routes: TopicRoutes
) -> None:
    settings = pg_settings.model_copy(update={"outbox_initial": "history", "outbox_batch_size": 20})
    with connect(settings) as conn:
        seed(conn, dossiers=30, now=utcnow(), rng=random.Random(3))
    rows, moves = expected_events(settings)
    fail_nth_position_write(settings, 4)  # the 3rd batch is in Kafka, its position is not
    poller = wire.poller(settings)
    loop_thread.run(poller.start())
    try:
        wait_until(
            lambda: poller.position is not None and len(poller.position.seen_ids) == rows,
            60,
            "rows",
        )
        assert counter(poller.registry, "ioc_outbox_errors_total") == 1
        duplicates = counter(
            poller.registry,
            "ioc_connector_events_total",
            connector="outbox",
            stream="dossier",
            outcome="duplicate",
        )
        assert duplicates > 0  # the re-read batch was recognised from the Kafka tail
    finally:
        loop_thread.run(poller.stop())
    records = values(read_topic(settings, routes.topic("dossier")))
    assert len(records) == rows + moves
    assert len({r["event_id"] for r in records}) == rows + moves


@pytest.mark.faults
def test_sigkill_mid_stream_and_an_out_of_order_commit(
    pg_settings: Settings, routes: TopicRoutes, tmp_path: Path
) -> None:
    settings = pg_settings.model_copy(update={"outbox_initial": "history", "outbox_batch_size": 5})
    env = {
        **os.environ,
        "IOC_CONNECTOR_TOPIC_SUFFIX": settings.connector_topic_suffix,
        "IOC_OUTBOX_SCHEMA": settings.outbox_schema,
        "IOC_OUTBOX_POSITION_SCHEMA": settings.outbox_position_schema,
        "IOC_OUTBOX_CONSUMER": settings.outbox_consumer,
        "IOC_OUTBOX_POLL_INTERVAL_S": "0.05",
        "IOC_OUTBOX_BATCH_SIZE": "5",
        "IOC_OUTBOX_INITIAL": "history",
        "IOC_OUTBOX_METRICS_PORT": "0",
    }
    log = tmp_path / "poller.log"
    topic = routes.topic("dossier")

    def spawn() -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "ioc", "connector", "outbox", "run"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def in_kafka() -> int:
        return count_records(settings, topic)

    late_conn = connect(settings)
    with connect(settings) as conn:
        seed(conn, dossiers=5, now=utcnow(), rng=random.Random(11), prefix="A")
        late_conn.execute("SELECT 1")
        late_id = record_change(late_conn, change("LATE.1", "received"))  # held open
        seed(conn, dossiers=120, now=utcnow(), rng=random.Random(12), prefix="B")
    proc = spawn()
    try:
        wait_until(lambda: in_kafka() >= 100, 60, f"100 records (log: {log})")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        late_conn.commit()
        with connect(settings) as conn:
            seed(conn, dossiers=20, now=utcnow(), rng=random.Random(13), prefix="C")
        rows, moves = expected_events(settings)
        assert in_kafka() < rows + moves, "the kill should land mid-stream"
        proc = spawn()
        wait_until(lambda: in_kafka() >= rows + moves, 60, f"all rows (log: {log})")
        with connect(settings) as conn:

            def settled() -> bool:
                row = conn.execute(
                    "SELECT last_id, seen_ids FROM ioc_outbox_position WHERE consumer = %s",
                    (settings.outbox_consumer,),
                ).fetchone()
                conn.commit()
                return row is not None and len(row[1]) == rows

            wait_until(settled, 30, "the position to cover every row")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
    finally:
        late_conn.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    records = values(read_topic(settings, topic))
    ids = [r["event_id"] for r in records]
    assert len(ids) == rows + moves  # no duplicate record
    assert len(set(ids)) == rows + moves
    main = [r["outbox_id"] for r in records if r["status"] != "transferred_out"]
    assert sorted(main) == list(range(1, rows + 1))  # no gap: every history id, once
    assert late_id in main


@pytest.mark.faults
def test_postgres_restarted_mid_poll_loses_and_doubles_nothing(
    loop_thread: LoopThread, pg_settings: Settings, routes: TopicRoutes, tmp_path: Path
) -> None:
    """Issue 17's fault: the one-stop-shop database restarted (by its own script, a fast
    shutdown: connections cut) while the poller reads it. It reconnects; every row
    reaches Kafka once, rows written after the restart too. The restart and the
    recovery are timed."""
    database = PrivateService("postgres", tmp_path / "pg")
    database.start()
    try:
        settings = pg_settings.model_copy(
            update={
                "postgres_port": database.port,
                "tls_ca_file": str(database.ca_file),  # the stack's, shared
                "outbox_initial": "history",
                "outbox_batch_size": 5,
            }
        )
        wire.prepare_outbox_db(settings)
        with connect(settings) as conn:
            seed(conn, dossiers=60, now=utcnow(), rng=random.Random(21), prefix="P")
        poller = wire.poller(settings)
        loop_thread.run(poller.start())
        try:
            wait_until(lambda: poller.position is not None, 30, "the first batch")
            began = time.monotonic()
            restarted = database.restart()
            with connect(settings) as conn:
                seed(conn, dossiers=20, now=utcnow(), rng=random.Random(22), prefix="Q")
            rows, moves = expected_events(settings)
            wait_until(
                lambda: poller.position is not None and len(poller.position.seen_ids) == rows,
                90,
                "every row after the restart",
            )
            recovered = time.monotonic() - began
            print(
                f"PostgreSQL restart {restarted:.1f} s; all rows in Kafka after {recovered:.1f} s"
            )
            assert counter(poller.registry, "ioc_outbox_errors_total") >= 1  # it saw the outage
        finally:
            loop_thread.run(poller.stop())
    finally:
        database.stop()
    records = values(read_topic(settings, routes.topic("dossier")))
    ids = [r["event_id"] for r in records]
    assert len(ids) == rows + moves
    assert len(set(ids)) == rows + moves
    main = [r["outbox_id"] for r in records if r["status"] != "transferred_out"]
    assert sorted(main) == list(range(1, rows + 1))
