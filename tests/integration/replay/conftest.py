"""One small pipeline run shared by the replay tests: simulated history → worker → sink.

Eight simulated hours of the small ``dong-nai-2025`` profile (18:00 → 02:00, so a
local midnight and its dossier day close inside; dossiers from 06:00), on this
module's own topics, app id, consumer group and database. Everything is deleted
afterwards; the local stack itself is shared and left running.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clickhouse_driver import Client
from kafka import KafkaProducer, TopicPartition
from kafka.admin import OffsetSpec
from kafka.errors import CoordinatorLoadInProgressError, CoordinatorNotAvailableError

from ioc.kafka_client import kafka_client_options
from ioc.ops.db.executors import ClickHouseExecutor, clickhouse_client
from ioc.ops.db.migrate import migrate
from ioc.ops.kafka_admin import admin_client, ensure_topics
from ioc.settings import Settings, settings_for_tests
from ioc.wiring.worker import worker_topics
from schemas.domains import CONTRACTS
from schemas.province.loading import load_profile
from schemas.topics import ANOMALIES, CONTROL_HEADER, KPI, registry
from tests import clock
from tests.integration.conftest import require_port
from tests.integration.sink.harness import drive, make_output

PROJECT = Path(__file__).resolve().parents[3]
KPI_TABLES = ("kpi_traffic", "kpi_energy", "kpi_qr", "kpi_dossier")
PROFILE = "dong-nai-2025"


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll until ``condition()`` is truthy, or fail with ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what}", pytrace=False)
        time.sleep(0.3)  # polling interval of a deadline loop, not a synchronisation


@dataclass
class Pipeline:
    settings: Settings
    env: dict[str, str]
    start: datetime
    end: datetime
    sink_group: str
    work: Path

    @property
    def db(self) -> str:
        return self.settings.clickhouse_database

    def topic(self, name: str) -> str:
        return name + self.settings.stream_topic_suffix

    def client(self) -> Client:
        return clickhouse_client(self.settings, role="migrator")

    def ioc(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the ``ioc`` command line as a user would, with this pipeline's settings."""
        return subprocess.run(
            [sys.executable, "-m", "ioc", *args],
            cwd=self.work,
            env={**self.env, **(env or {}), "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def run_sink(self, timeout_s: float = 60) -> None:
        """The real sink over the KPI and anomaly topics, until it committed their ends."""
        specs = {
            s.name: dataclasses.replace(s, name=self.topic(s.name))
            for s in registry(30)
            if s.name in (KPI, ANOMALIES)
        }
        sink = make_output(self.settings, specs, self.db, self.sink_group)
        topics = [self.topic(KPI), self.topic(ANOMALIES)]
        assert drive(sink, lambda: self.caught_up(self.sink_group, topics), timeout_s), "sink"

    def caught_up(self, group: str, topics: list[str]) -> bool:
        admin = admin_client(self.settings)
        try:
            tps = [
                TopicPartition(t, p["partition_index"])
                for d in admin.describe_topics(topics)
                for p in d["partitions"]
                for t in [d["name"]]
            ]
            ends = {tp: v.offset for tp, v in admin.list_partition_offsets(
                {tp: OffsetSpec.LATEST for tp in tps}).items()}  # fmt: skip
            done = admin.list_group_offsets({group: tps}).get(group, {})
        except (CoordinatorNotAvailableError, CoordinatorLoadInProgressError):
            # A broker started seconds ago is still creating __consumer_offsets: the group
            # has not caught up yet (make test-dates on a cold stack hit this).
            return False
        finally:
            admin.close()
        return all(
            ends[tp] == 0 or (done.get(tp) is not None and done[tp].offset == ends[tp])
            for tp in tps
        )

    def live(self, table: str, lo: datetime, hi: datetime, db: str | None = None) -> dict[Any, Any]:
        """What panels read: the table's *_live view, windows starting in [lo, hi)."""
        rows = self.client().execute(
            f"SELECT * FROM {db or self.db}.{table}_live "
            f"WHERE window_start >= toDateTime({int(lo.timestamp())}) "
            f"AND window_start < toDateTime({int(hi.timestamp())})"
        )
        columns = [c for c, *_ in self.client().execute(f"DESCRIBE TABLE {self.db}.{table}")]
        skip = {"computed_at_ms", "generation", "sequence", "version", "written_at_ms"}
        keep = [i for i, c in enumerate(columns) if c not in skip]
        return {(r[0], r[1], r[3], r[4]): tuple(r[i] for i in keep) for r in rows}


def _ticks(pipe: Pipeline, at_ms: int) -> None:
    producer = KafkaProducer(**kafka_client_options(pipe.settings), acks="all")
    try:
        for topic in (c.topic for c in CONTRACTS.values()):
            for p in producer.partitions_for(pipe.topic(topic)):
                producer.send(pipe.topic(topic), value=b"", partition=p, timestamp_ms=at_ms,
                              headers=[(CONTROL_HEADER, b"tick")])  # fmt: skip
        producer.flush(30)
    finally:
        producer.close()


def last_working_day(day: date) -> date:
    """``day`` or the latest working day before it (the profile's calendar decides)."""
    profile = load_profile(PROFILE)
    while not profile.is_working_day(day):
        day -= timedelta(days=1)
    return day


def _env(settings: Settings, overrides: dict[str, object]) -> dict[str, str]:
    # Every setting of this test, ports included (a machine may run the stack elsewhere).
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    return env | settings.env_vars()


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """Simulated history through the real worker and sink; the *_live views filled."""
    import uuid

    unique = uuid.uuid4().hex[:10]
    overrides: dict[str, object] = {
        "stream_topic_suffix": f".rp-{unique}",
        "stream_app_id": f"ioc-worker-rp-{unique}",
        "clickhouse_database": f"ioc_rp_{unique}",
        "province_profile": PROFILE,
        "stream_metrics_port": 0,
        "stream_commit_interval_s": 0.3,
        "stream_tick_interval_s": 0,
        "replay_lookback_s": 3_600,  # shorter than the data: the dossier snapshot is used
        # Source retention follows the horizon; a scenario moved to another day
        # (tests/clock.py) can be months old.
        "replay_horizon_days": 3_650,
        # A CPU-bound stretch of the worker can exceed 10 s on two cores (decision 0016).
        "consumer_max_poll_interval_ms": 60_000,
    }
    settings = settings_for_tests(**overrides)
    require_port(settings, "kafka", settings.kafka_port)
    require_port(settings, "clickhouse", settings.clickhouse_port)
    work = tmp_path_factory.mktemp("replay")
    start = clock.local_midnight(clock.today() - timedelta(days=2)) + timedelta(hours=18)
    pipe = Pipeline(settings, _env(settings, overrides), start, start + timedelta(hours=8),
                    f"ioc-sink-rp-{unique}", work)  # fmt: skip
    executor = ClickHouseExecutor.from_settings(settings)
    migrate(executor, pipe.db)
    admin = admin_client(settings)
    ensure_topics(admin, worker_topics(settings), profile="dev", replication_factor=1)
    admin.close()
    worker: subprocess.Popen[bytes] | None = None
    try:
        # Telemetry and QR for the night; dossiers from the morning of the last working
        # day (that very day, or the Friday before a weekend, or the eve of Tết), so that
        # office hours give the dossier day open dossiers to count and the rebuild a
        # snapshot to start from, whatever day the scenario falls on.
        for domains, begin in (
            ("traffic,energy,qr", start),
            ("dossier", clock.local_midnight(last_working_day(start.date())) + timedelta(hours=6)),
        ):
            sim = pipe.ioc(
                "simulate", "--to", "kafka", "--fast", "--profile", PROFILE, "--seed", "3",
                "--start", begin.isoformat(), "--period", f"{(pipe.end - begin) // timedelta(hours=1)}h",
                "--domains", domains, "--topic-suffix", settings.stream_topic_suffix,
            )  # fmt: skip
            assert sim.returncode == 0, sim.stdout + sim.stderr
        # What an idle worker does: a control tick at the end of the data into every
        # source partition, so the night's last windows (and the dossier day) close.
        _ticks(pipe, int(pipe.end.timestamp() * 1000))
        log = (work / "worker.log").open("wb")
        worker = subprocess.Popen(
            [sys.executable, "-m", "ioc", "worker", "--loglevel", "warning"],
            cwd=work, env=pipe.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        sources = [pipe.topic(c.topic) for c in CONTRACTS.values()]
        wait_for(lambda: worker.poll() is None and pipe.caught_up(settings.stream_app_id, sources),
                 90, "the worker to commit every source record")  # fmt: skip
        worker.terminate()
        worker.wait(timeout=30)
        pipe.run_sink()
        yield pipe
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        admin = admin_client(settings)
        try:
            mine = [
                t for t in admin.list_topics()
                if t.endswith(settings.stream_topic_suffix) or t.startswith(settings.stream_app_id)
                or unique in t
            ]  # fmt: skip
            if mine:
                admin.delete_topics(mine)
        finally:
            admin.close()
        for (name,) in executor.execute("SHOW DATABASES"):
            if unique in str(name):
                executor.execute(f"DROP DATABASE IF EXISTS {name}")
        executor.close()
