"""`ioc sink` runs as a process: serves /metrics, writes, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from ioc.ops.db.executors import ClickHouseExecutor
from ioc.settings import Settings
from schemas.topics import DEADLETTER
from tests.factories import dead_letter
from tests.integration.conftest import free_port
from tests.integration.sink.harness import produce

pytestmark = pytest.mark.integration


def test_ioc_sink_process(
    settings: Settings, clickhouse: ClickHouseExecutor, database: str, unique: str
) -> None:
    marker = f"cmd-{unique}"
    produce(settings, DEADLETTER, [dead_letter(source_topic=marker, offset=1)])
    port = free_port()
    env = {
        **os.environ,
        "IOC_CLICKHOUSE_DATABASE": database,
        "IOC_SINK_GROUP_ID": f"ioc-sink-cmd-{unique}",
        "IOC_SINK_METRICS_PORT": str(port),
        "IOC_SINK_BATCH_MAX_AGE_S": "0.2",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "ioc", "sink"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        found = 0
        while time.monotonic() < deadline and not found:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            found = int(
                clickhouse.execute(
                    f"SELECT count() FROM {database}.deadletter FINAL WHERE source_topic = '{marker}'"
                )[0][0]
            )
            time.sleep(0.2)
        assert found == 1
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'ioc_sink_rows_written_total{table="deadletter"}' in metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out.decode()


@pytest.mark.faults
def test_ioc_sink_sigkilled_mid_batch_loses_and_doubles_nothing(
    settings: Settings, clickhouse: ClickHouseExecutor, database: str, unique: str
) -> None:
    """SIGKILL while batches are being written, a restart, and every record once."""
    marker = f"kill-{unique}"
    total = 6_000
    produce(
        settings,
        DEADLETTER,
        [dead_letter(source_topic=marker, offset=i) for i in range(total)],
    )
    env = {
        **os.environ,
        "IOC_CLICKHOUSE_DATABASE": database,
        "IOC_SINK_GROUP_ID": f"ioc-sink-kill-{unique}",
        "IOC_SINK_METRICS_PORT": "0",
        "IOC_SINK_BATCH_MAX_ROWS": "200",  # many small batches: the kill lands mid-stream
        "IOC_SINK_BATCH_MAX_AGE_S": "0.05",
    }

    def count(final: str = "FINAL") -> int:
        return int(
            clickhouse.execute(
                f"SELECT count() FROM {database}.deadletter {final} WHERE source_topic = '{marker}'"
            )[0][0]
        )

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "ioc", "sink"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    proc = start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and count() == 0:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            time.sleep(0.02)
        proc.kill()
        proc.wait(timeout=10)
        at_kill = count()
        assert 0 < at_kill < total, f"killed at {at_kill} of {total}: not mid-stream"
        proc = start()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and count() < total:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            time.sleep(0.2)
        assert count() == total
        # What a panel without FINAL counts too (the part merge may not have run yet):
        # a re-written batch must not show up as more rows once merged.
        clickhouse.execute(f"OPTIMIZE TABLE {database}.deadletter FINAL")
        assert count("") == total
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
