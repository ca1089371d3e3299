"""The worker's disk full (issue 17): its data dir on a small tmpfs with every block and
inode taken. A worker that must create its directories there stops at once, with one
clear line and exit code 73; once space returns a restart resumes from the changelogs
and the committed offsets, and every KPI equals the reference, none counted twice.

With the memory store the worker writes nothing else to disk (decision 0038): the disk
filling up again under a running worker, and a restart while it is full, change nothing.
The month-end scenario (traffic, energy) is fed through the file connector in three
parts, one per phase; the reference is computed from what the source topics hold.

A private single broker (deploy/local/kafka.sh, ports 32092-32094): the stack's broker is
not needed, and a broker restarted under the test by someone else would blur the fault.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.results import Domain
from schemas.timeutil import to_ms
from streams.runtime.app import EXIT_DATA_DIR
from tests import clock
from tests.integration.conftest import port_taken, run_script
from tests.integration.streams.conftest import PROJECT, StreamStack, open_stack
from tests.integration.streams.test_worker import (
    LATENESS_MS,
    SKEW_MS,
    expected_now,
    month_end_day,
    profile,
    wait_until_equal,
)
from tests.integration.streams.test_worker_dq import dq_records
from tests.unit.streams import harness, reference, reference_base, scenario

pytestmark = [pytest.mark.integration, pytest.mark.scenario_date, pytest.mark.faults]

KAFKA_PORT = 32092
CONTROLLER_PORT = 32093
METRICS_PORT = 32094
DISK = "size=2M,nr_inodes=64"
"""A tmpfs this small fills in milliseconds; nr_inodes, because a tmpfs whose blocks are
all taken still makes directories (ext4 would refuse them)."""
PARTS = 3
DOMAINS = [Domain.TRAFFIC, Domain.ENERGY]

Logs = dict[Domain, dict[int, list[tuple[str, Any]]]]


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private single broker, started and stopped by the project's script; its CA file.

    Secured like the stack's (TLS + SASL): kafka.sh makes a CA in the broker's data dir.
    """
    taken = [p for p in (KAFKA_PORT, CONTROLLER_PORT, METRICS_PORT) if port_taken(p)]
    if taken:
        pytest.fail(f"the private broker's ports are taken: {taken}", pytrace=False)
    data_dir = tmp_path_factory.mktemp("kafka")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")} | {
        "IOC_DATA_DIR": str(data_dir),
        "IOC_KAFKA_PORT": str(KAFKA_PORT),
        "IOC_KAFKA_CONTROLLER_PORT": str(CONTROLLER_PORT),
        "IOC_KAFKA_METRICS_PORT": str(METRICS_PORT),
        "IOC_KAFKA_BROKERS": "1",
    }
    script = PROJECT / "deploy" / "local" / "kafka.sh"
    try:
        run_script(script, "start", env, timeout_s=180)
        yield data_dir / "pki" / "ca.pem"
    finally:
        run_script(script, "stop", env, timeout_s=60)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A fresh tmpfs of fixed size; the test fails (never skips) when it cannot be mounted."""
    mount = tmp_path / "data"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", DISK, "tmpfs", str(mount)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(
            f"cannot mount a tmpfs ({DISK}) at {mount}; this test needs root (or "
            f"CAP_SYS_ADMIN): {result.stderr.strip() or result.returncode}",
            pytrace=False,
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True, timeout=30)


def fill(disk: Path) -> list[Path]:
    """Take every block and every inode of ``disk``; what to delete to give them back."""
    taken = [disk / "filler"]
    fd = os.open(taken[0], os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, bytes(65_536))
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    while True:
        path = disk / f"inode-{len(taken)}"
        try:
            path.touch()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            break
        taken.append(path)
    with pytest.raises(OSError, match="No space left on device"):
        (disk / "probe").mkdir()
    return taken


def free(taken: list[Path]) -> None:
    for path in taken:
        path.unlink()


class Feed:
    """The scenario of DOMAINS fed in PARTS parts, one per phase of the fault, through the
    file connector (``ioc connector file``, one process per domain, side by side); the
    reference reads back what the source topics hold."""

    def __init__(self, stack: StreamStack, seed: int, folder: Path) -> None:
        generated = scenario.generate(
            profile(), month_end_day(), seed=seed, lateness_s=LATENESS_MS // 1000
        )
        self.stack = stack
        self.folder = folder
        self.events = {d: generated.streams[d] for d in DOMAINS}
        self.fed = 0

    def begin(self) -> list[tuple[int, subprocess.Popen[bytes]]]:
        """Start feeding the next part of every domain's events; :meth:`end` waits."""
        env = {**self.stack.env, "IOC_CONNECTOR_TOPIC_SUFFIX": self.stack.suffix}
        runs = []
        for domain, events in self.events.items():
            size = -(-len(events) // PARTS)
            part = events[self.fed * size : (self.fed + 1) * size]
            path = self.folder / f"{domain.value}-{self.fed}.jsonl"
            path.write_bytes(b"".join(e.to_json() + b"\n" for e in part))
            command = [sys.executable, "-m", "ioc", "connector", "file", str(path),
                       "--stream", domain.value, "--no-progress"]  # fmt: skip
            runs.append((len(part), subprocess.Popen(
                command, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )))  # fmt: skip
        self.fed += 1
        return runs

    def end(self, runs: list[tuple[int, subprocess.Popen[bytes]]]) -> None:
        """Every connector of a part done, each line accepted."""
        for lines, run in runs:
            out = run.communicate(timeout=120)[0].decode(errors="replace")
            assert run.returncode == 0, out
            assert f"accepted {lines}, dead-lettered 0" in out, out

    def next(self) -> None:
        """Feed the next part of every domain's events."""
        self.end(self.begin())

    def logs(self) -> Logs:
        """Each source partition as the broker holds it, control ticks left out."""
        return {domain: self.stack.source_log(domain, ticks=False) for domain in DOMAINS}

    def counts(self) -> dict[tuple[Domain, int], int]:
        """Events fed per source partition."""
        return {(d, p): len(log) for d, by in self.logs().items() for p, log in by.items()}

    def expected(self) -> dict[Any, reference_base.Expected]:
        """The reference of what was fed so far, with no tick: the windows the events' own
        watermark closed."""
        found: dict[Any, reference_base.Expected] = {}
        for domain, logs in self.logs().items():
            found.update(reference.expected_kpis(domain.value, logs, profile(), LATENESS_MS))
        return found


def counted(stack: StreamStack) -> dict[tuple[Domain, int], int]:
    """Events counted by the worker's data quality per partition (latest version of each
    minute): every event fed counted once, whatever happened to it."""
    latest: dict[tuple[Any, ...], Any] = {}
    for r in dq_records(stack):
        key = (r.domain, r.partition, r.source, r.window_start)
        if key not in latest or r.version >= latest[key].version:
            latest[key] = r
    found: dict[tuple[Domain, int], int] = {}
    for r in latest.values():
        found[(r.domain, r.partition)] = found.get((r.domain, r.partition), 0) + r.events
    return found


def test_a_full_data_dir_stops_the_worker_loudly_and_a_restart_resumes_when_space_returns(
    kafka: Path, small_disk: Path, unique: str, tmp_path: Path
) -> None:
    stack = open_stack(
        unique,
        tmp_path,
        kafka_port=KAFKA_PORT,
        kafka_controller_port=CONTROLLER_PORT,
        data_dir=str(small_disk),
        tls_ca_file=str(kafka),
    )
    assert stack.settings.kafka_bootstrap == f"127.0.0.1:{KAFKA_PORT}"
    try:
        feed = Feed(stack, seed=38, folder=tmp_path)
        taken = fill(small_disk)

        # 1. The worker cannot make its directories: it stops at once, saying why, while
        # the feed goes on.
        feeding = feed.begin()
        started = time.monotonic()
        first = stack.start_worker("disk-full")
        code = first.wait(timeout=60)
        stopped_s = time.monotonic() - started
        feed.end(feeding)
        log = stack.logs()
        assert code == EXIT_DATA_DIR, stack.diagnosis()
        assert f"{small_disk / 'faust'}" in log
        assert "No space left on device (ENOSPC)" in log
        assert "Traceback" not in log
        assert not any(stack.committed().values())
        assert stack.kpis() == []

        # 2. Space returns: a restart resumes, nothing lost, nothing counted twice.
        free(taken)
        space_back = time.monotonic()
        second = stack.start_worker("space-back")
        expected = feed.expected()
        assert len(expected) > 50  # windows the feed's own watermark closed
        wait_until_equal(stack, expected, timeout_s=90)
        recovered_s = time.monotonic() - space_back
        directories = sorted(str(p.relative_to(small_disk)) for p in small_disk.rglob("*"))
        assert directories == [
            "faust",
            f"faust/{stack.settings.stream_app_id}",
            f"faust/{stack.settings.stream_app_id}/v1",
            f"faust/{stack.settings.stream_app_id}/v1/tables",
        ]

        # 3. The disk fills up again under the running worker, which writes nothing there.
        taken = fill(small_disk)
        feed.next()
        wait_until_equal(stack, feed.expected(), timeout_s=60)
        assert second.poll() is None, stack.diagnosis()

        # 4. A restart on the full disk: its directories exist, nothing else is written.
        second.terminate()
        assert second.wait(timeout=30) == 0, stack.diagnosis()
        stack.start_worker("restart-while-full")
        feed.next()
        for domain in DOMAINS:
            stack.produce_ticks(domain, to_ms(clock.now()) - SKEW_MS)
        results = wait_until_equal(stack, expected_now(feed.logs()), timeout_s=90)
        assert not harness.conflicts(results)
        stack.wait_for(
            lambda: counted(stack) == feed.counts(),
            30,
            "every event fed counted once by data quality",
            detail=lambda: f"counted {counted(stack)}, fed {feed.counts()}",
        )
        assert stack.deadletters() == []
        assert sum(feed.counts().values()) == sum(len(e) for e in feed.events.values())
        assert stack.processes[-1].poll() is None, stack.diagnosis()
        free(taken)
        print(
            f"disk full: the worker stopped with code {code} {stopped_s:.1f} s after its "
            f"start; KPIs equal the reference {recovered_s:.1f} s after space returned; "
            f"{sum(feed.counts().values())} events, {len(results)} KPI records"
        )
    finally:
        stack.stop_all()
        stack.delete_topics()
