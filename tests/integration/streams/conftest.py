"""Fixtures for the worker tests: unique topics and app ids, the real ``ioc worker``
as a subprocess, a producer that records where every event landed, a results reader.

Nothing waits with sleep: every wait polls a condition until a deadline.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from ioc.kafka_client import kafka_client_options
from ioc.ops.kafka_admin import admin_client, ensure_topics
from ioc.settings import Settings, settings_for_tests
from ioc.wiring.worker import worker_topics
from schemas.base import Event
from schemas.domains import CONTRACTS
from schemas.results import Domain, KpiRecord
from schemas.timeutil import to_ms
from schemas.topics import (
    CONTROL_HEADER,
    DEADLETTER,
    DOSSIER_STATUS,
    ENERGY_READINGS,
    KPI,
    QR_SCANS,
    TRAFFIC_OBS,
)

PROJECT = Path(__file__).resolve().parents[3]
SOURCES = {
    Domain.TRAFFIC: TRAFFIC_OBS,
    Domain.ENERGY: ENERGY_READINGS,
    Domain.QR: QR_SCANS,
    Domain.DOSSIER: DOSSIER_STATUS,
}


def wait_for(
    condition: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.2
) -> Any:
    """Poll ``condition`` until it returns something truthy, or fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what}", pytrace=False)
        time.sleep(interval_s)  # polling interval of a deadline loop, not a synchronisation


@dataclass
class StreamStack:
    """One test's topics, worker settings and processes."""

    settings: Settings
    env: dict[str, str]
    log_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def suffix(self) -> str:
        return self.settings.stream_topic_suffix

    def topic(self, name: str) -> str:
        return name + self.suffix

    def source(self, domain: Domain) -> str:
        return self.topic(SOURCES[domain])

    # --- processes ----------------------------------------------------------------------

    def start_worker(self, name: str = "w") -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"worker-{name}-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "ioc", "worker", "--loglevel", "info"],
            cwd=PROJECT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    def dump_tasks(self) -> None:
        """Ask every live worker to log where each of its asyncio tasks waits (SIGUSR2,
        streams.runtime.diagnostics), so that a stalled worker's log says why."""
        live = [p for p in self.processes if p.poll() is None]
        for process in live:
            process.send_signal(signal.SIGUSR2)
        if live:
            time.sleep(2)  # the dump is written by the worker's own event loop

    def diagnosis(self, lines: int = 8, width: int = 200) -> str:
        """A short account of every worker, for the head of a failure message.

        CI shows the first ~10,000 characters and the last ~2,000 of a failed run, not
        the middle where pytest puts captured output: a live worker's last SIGUSR2 dump
        (:meth:`dump_tasks`) and last ``lines`` log lines go into the message instead,
        each line cut at ``width`` characters; an exited worker gets its last 3 lines.
        """
        parts = []
        for index, process in enumerate(self.processes):
            found = sorted(self.log_dir.glob(f"worker-*-{index}.log"))
            if not found:
                continue
            text = found[0].read_text(errors="replace")
            alive = process.poll() is None
            dump_at = text.rfind("where each domain's agent is")
            shown = []
            if alive and dump_at >= 0:
                shown = text[dump_at:].split("\n[", 1)[0].splitlines()
            shown += ["--- last lines ---", *text.rstrip().splitlines()[-(lines if alive else 3) :]]
            state = "alive" if alive else f"exited {process.returncode}"
            body = "\n".join(line[:width] for line in shown)
            parts.append(f"----- {found[0].name} ({state}) -----\n{body}")
        return "\n".join(parts)

    def wait_for(
        self,
        condition: Callable[[], Any],
        timeout_s: float,
        what: str,
        interval_s: float = 0.2,
        detail: Callable[[], str] = str,
    ) -> Any:
        """:func:`wait_for` on the workers: on a timeout, the full logs are printed and
        the failure says what each worker was doing, then ``detail()``."""
        try:
            return wait_for(condition, timeout_s, what, interval_s)
        except pytest.fail.Exception:
            self.dump_tasks()
            print(self.logs(tail=60_000))
            message = f"timed out after {timeout_s}s waiting for {what}"
            raise AssertionError(f"{message}\n{self.diagnosis()}\n{detail()}") from None

    def logs(self, tail: int = 6000) -> str:
        return "\n".join(
            f"----- {p.name} -----\n" + p.read_text(errors="replace")[-tail:]
            for p in sorted(self.log_dir.glob("worker-*.log"))
        )

    # --- Kafka --------------------------------------------------------------------------

    def produce(self, domain: Domain, events: list[Event]) -> dict[int, list[tuple[int, Event]]]:
        """Produce in order, keyed by group, stamped with event time; (offset, event) per partition."""

        async def run() -> dict[int, list[tuple[int, Event]]]:
            producer = AIOKafkaProducer(
                **kafka_client_options(self.settings), acks="all", enable_idempotence=True
            )
            await producer.start()
            try:
                futures = [
                    await producer.send(
                        self.source(domain),
                        e.to_json(),
                        key=e.key.encode(),
                        timestamp_ms=to_ms(e.event_time),
                    )
                    for e in events
                ]
                landed: dict[int, list[tuple[int, Event]]] = {}
                for event, future in zip(events, futures, strict=True):
                    meta = await future
                    landed.setdefault(meta.partition, []).append((meta.offset, event))
                return landed
            finally:
                await producer.stop()

        return asyncio.run(run())

    def produce_ticks(self, domain: Domain, at_ms: int, partitions: int = 3) -> None:
        """Control ticks into every partition (what an idle worker would produce)."""

        async def run() -> None:
            producer = AIOKafkaProducer(**kafka_client_options(self.settings), acks="all")
            await producer.start()
            try:
                for p in range(partitions):
                    await producer.send_and_wait(
                        self.source(domain),
                        b"",
                        partition=p,
                        timestamp_ms=at_ms,
                        headers=[(CONTROL_HEADER, b"tick")],
                    )
            finally:
                await producer.stop()

        asyncio.run(run())

    def foreign(self, topic: str, payload: bytes, partition: int = 0) -> None:
        """A record written by another tool, kcat-style: no key, produce time as timestamp."""
        producer = KafkaProducer(**kafka_client_options(self.settings), acks="all")
        try:
            producer.send(topic, payload, partition=partition).get(timeout=30)
        finally:
            producer.close()

    def read_all(self, topic: str) -> list[Any]:
        """Every record of a topic right now (kafka-python, no group)."""
        consumer = KafkaConsumer(
            **kafka_client_options(self.settings),
            enable_auto_commit=False,
            consumer_timeout_ms=300,
        )
        try:
            partitions = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in partitions]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            end = consumer.end_offsets(tps)
            records: list[Any] = []
            deadline = time.monotonic() + 20
            while (
                any(consumer.position(tp) < end[tp] for tp in tps) and time.monotonic() < deadline
            ):
                for batch in consumer.poll(timeout_ms=200).values():
                    records += batch
            return records
        finally:
            consumer.close()

    def source_log(self, domain: Domain, *, ticks: bool) -> dict[int, list[tuple[str, Any]]]:
        """Each partition of ``domain``'s source topic as the broker holds it, in offset
        order: ("event", event), and ("tick", timestamp ms) for control ticks if ``ticks``."""
        model = CONTRACTS[domain].model
        found: dict[int, list[tuple[str, Any]]] = {}
        for r in sorted(self.read_all(self.source(domain)), key=lambda r: (r.partition, r.offset)):
            if any(k == CONTROL_HEADER for k, _ in r.headers or ()):
                if ticks:
                    found.setdefault(r.partition, []).append(("tick", int(r.timestamp)))
            else:
                found.setdefault(r.partition, []).append(
                    ("event", model.model_validate_json(r.value))
                )
        return found

    def kpis(self) -> list[KpiRecord]:
        return [KpiRecord.model_validate_json(r.value) for r in self.read_all(self.topic(KPI))]

    def deadletters(self) -> list[dict[str, Any]]:
        import orjson

        return [orjson.loads(r.value) for r in self.read_all(self.topic(DEADLETTER))]

    def committed(self) -> dict[tuple[str, int], int]:
        """The worker group's committed offsets of the source topics."""
        consumer = KafkaConsumer(
            **kafka_client_options(self.settings),
            group_id=self.settings.stream_app_id,
            enable_auto_commit=False,
        )
        try:
            found = {}
            for domain in SOURCES:
                for p in consumer.partitions_for_topic(self.source(domain)) or ():
                    tp = TopicPartition(self.source(domain), p)
                    found[(tp.topic, p)] = consumer.committed(tp) or 0
            return found
        finally:
            consumer.close()

    def commit_group(self, offsets: dict[tuple[str, int], int], timeout_s: float = 30) -> None:
        """Set the worker group's committed offsets (once its dead members have expired)."""
        from kafka.errors import NoError
        from kafka.structs import OffsetAndMetadata

        admin = admin_client(self.settings)
        wanted = {
            TopicPartition(topic, p): OffsetAndMetadata(n, "", -1)
            for (topic, p), n in offsets.items()
        }
        try:

            def committed() -> bool:
                try:
                    result = admin.alter_group_offsets(self.settings.stream_app_id, wanted)
                except Exception:  # the group still has the killed member: not yet empty
                    return False
                return all(error is NoError for error in result.values())

            wait_for(committed, timeout_s, "the group's offsets to be altered")
        finally:
            admin.close()

    def delete_topics(self) -> None:
        """Delete this test's topics and the workers' changelogs (the broker is shared)."""
        admin = admin_client(self.settings)
        try:
            mine = [
                t
                for t in admin.list_topics()
                if t.endswith(self.suffix) or t.startswith(self.settings.stream_app_id + "-")
            ]
            if mine:
                admin.delete_topics(mine)
        finally:
            admin.close()

    def end_offsets(self) -> dict[tuple[str, int], int]:
        consumer = KafkaConsumer(**kafka_client_options(self.settings))
        try:
            tps = [
                TopicPartition(self.source(d), p)
                for d in SOURCES
                for p in consumer.partitions_for_topic(self.source(d)) or ()
            ]
            return {(tp.topic, tp.partition): n for tp, n in consumer.end_offsets(tps).items()}
        finally:
            consumer.close()


def open_stack(unique: str, log_dir: Path, **overrides: object) -> StreamStack:
    """A stack on unique topics (created up front, so events can be produced before a
    worker runs); ``overrides`` change the worker settings (all passed through its env)."""
    settings = settings_for_tests(
        **{
            "stream_topic_suffix": f".it-{unique}",
            "stream_app_id": f"ioc-worker-it-{unique}",
            "stream_metrics_port": 0,
            "stream_batch_size": 50,
            "stream_batch_within_s": 0.05,
            "stream_commit_interval_s": 0.3,
            "stream_tick_interval_s": 0,
            "max_clock_skew_s": 5,
            "allowed_lateness_s": 120,
            # A worker's stretch of CPU-bound work (a month-to-date of many dossiers)
            # keeps faust's fetcher from polling: 10 s (settings_for_tests) is too tight
            # for a two-core machine that also runs the test's producer.
            "consumer_max_poll_interval_ms": 60_000,
            # Source retention follows the replay horizon (30 days): a scenario dated at
            # the end of last month is 31 days old on the 1st, and one moved to another
            # day (tests/clock.py) can be months old; the broker would delete its records
            # while the test reads them.
            "replay_horizon_days": 3_650,
            **overrides,
        }
    )
    admin = admin_client(settings)
    try:
        ensure_topics(
            admin,
            worker_topics(settings),
            profile="dev",
            replication_factor=settings.replication_factor,
        )
    finally:
        admin.close()
    # The worker gets exactly this test's settings, ports included (a machine may
    # run the stack on other ports).
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env |= settings.env_vars()
    return StreamStack(settings, env, log_dir)


@pytest.fixture
def stream_stack(kafka_ready: Settings, unique: str, tmp_path: Path) -> Iterator[StreamStack]:
    """Unique topics and settings for one test; its workers stopped and topics deleted after."""
    stack = open_stack(unique, tmp_path)
    yield stack
    stack.stop_all()
    stack.delete_topics()
