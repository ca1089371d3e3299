"""The faust app's wiring, without a broker: partitions of expected entities, stores."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import pytest
from aiokafka.partitioner import DefaultPartitioner
from faust.transport.consumer import Fetcher

from schemas.results import Domain
from streams.murmur import partitioner
from streams.runtime.app import EXIT_DATA_DIR, DataDirError, SourceTopic, Worker, WorkerConfig
from streams.runtime.guards import GroupLeaveGuard, ServiceCrashGuard
from streams.runtime.messages import OutputTopics
from streams.topology import Topology
from tests.unit.streams.test_kpi_reference import profile

pytestmark = pytest.mark.unit


def config(**kw: object) -> WorkerConfig:
    data: dict[str, object] = {
        "app_id": "ioc-unit",
        "kafka": {"bootstrap_servers": "127.0.0.1:1"},
        "sources": {d: SourceTopic(f"src.{d.value}", 3) for d in Domain},
        "outputs": OutputTopics("kpi", "anomalies", "deadletter", "dq"),
        "topology": Topology.from_profile(profile()),
    }
    data.update(kw)
    return WorkerConfig(**data)  # type: ignore[arg-type]


def test_partitioner_is_kafkas_default() -> None:
    for key in ("QL13-01", "FD-PHUOCLONG-471", "CP-GATE-01", "AG-70-STP"):
        assert partitioner(3)(key) == DefaultPartitioner()(key.encode(), [0, 1, 2], [0, 1, 2])


def test_every_expected_entity_is_checked_by_exactly_one_partition() -> None:
    worker = Worker(config())
    for domain, kind in ((Domain.TRAFFIC, "sensor"), (Domain.ENERGY, "meter")):
        runtime = worker.runtimes[domain]
        seen = [e for p in range(3) for e in runtime.factory.expected(p)]
        listed = [e for e in worker.config.topology.expected if e[0] == kind]
        assert sorted(seen) == sorted(listed)
        for p in range(3):
            assert all(partitioner(3)(group) == p for _, _, group, _ in runtime.factory.expected(p))
    assert worker.runtimes[Domain.QR].factory.expected(0) == []


def test_only_the_memory_store_is_accepted() -> None:
    with pytest.raises(ValueError, match="memory://"):
        Worker(config(store="rocksdb://"))


@pytest.mark.parametrize(("stopping", "exits"), [(False, [75]), (True, [])])
def test_leaving_the_group_while_running_stops_the_process(
    stopping: bool, exits: list[int]
) -> None:
    """aiokafka's own log record, through its own logger: the guard sees what it will see."""
    exited: list[int] = []
    guard = GroupLeaveGuard(lambda: stopping, exited.append)
    logger = logging.getLogger("aiokafka.consumer.group_coordinator")
    logger.addHandler(guard)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        logger.info("Joined group 'g' (generation 1) with member_id m")
        assert exited == []
        logger.info("LeaveGroup request succeeded")
    finally:
        logger.removeHandler(guard)
        logger.setLevel(level)
    assert exited == exits


@pytest.mark.parametrize(("stopping", "exits"), [(False, [70]), (True, [])])
def test_a_crashed_faust_service_stops_the_process(stopping: bool, exits: list[int]) -> None:
    """mode's own crash log, from faust's own Fetcher: the worker must not carry on alive
    with nothing fetching."""
    exited: list[int] = []
    guard = ServiceCrashGuard(lambda: stopping, exited.append)
    logging.getLogger("faust").addHandler(guard)
    fetcher = Fetcher(app=None)
    try:
        fetcher.log.info("Starting...")
        assert exited == []
        try:
            raise KeyError("tp")
        except KeyError as exc:
            fetcher.log.exception("Crashed reason=%r", exc)
    finally:
        logging.getLogger("faust").removeHandler(guard)
    assert exited == exits


def test_the_data_directories_are_made_before_faust_starts(tmp_path: Path) -> None:
    worker = Worker(config(datadir=str(tmp_path / "faust" / "ioc-unit")))
    tables = worker.prepare_datadir()
    assert tables == tmp_path / "faust" / "ioc-unit" / "v1" / "tables"
    assert tables.is_dir()
    assert worker.prepare_datadir() == tables  # a restart finds them: nothing to write


def test_a_full_disk_is_one_clear_error_with_its_own_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: Path, *args: object, **kw: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    worker = Worker(config(datadir=str(tmp_path / "full")))
    monkeypatch.setattr(Path, "mkdir", full)
    with pytest.raises(DataDirError) as raised:
        worker.prepare_datadir()
    assert raised.value.code == EXIT_DATA_DIR == 73
    message = str(raised.value)
    assert f"{tmp_path / 'full'}: No space left on device (ENOSPC)" in message
    assert "Free space" in message
