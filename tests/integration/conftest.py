"""Integration fixtures: the real local stack, started by deploy/local/up.sh (make test).

No fixture starts or skips silently: if a service does not answer, the session fails
with the service's log so the cause is on screen.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ioc.ops.db.executors import ChdbExecutor, ClickHouseExecutor
from ioc.ops.db.migrate import migrate
from ioc.ops.kafka_admin import admin_client, ensure_topics
from ioc.settings import Settings, settings_for_tests
from schemas.topics import registry


def _log_tail(settings: Settings, name: str, lines: int = 60) -> str:
    for path in sorted(Path(settings.data_dir).rglob(f"*{name}*.log")):
        text = path.read_text(errors="replace").splitlines()[-lines:]
        return f"\n----- {path} -----\n" + "\n".join(text)
    return f"\n(no log found for {name} under {settings.data_dir})"


def free_port() -> int:
    """A local port nothing listens on right now (for private instances and 'down' cases).

    ``IOC_TEST_PORTS=31000-31999``: one from that range (two people's runs on one machine).
    """
    span = os.environ.get("IOC_TEST_PORTS", "")
    candidates = [0]
    if span:
        lo, hi = (int(p) for p in span.split("-"))
        candidates = random.sample(range(lo, hi + 1), hi - lo + 1)
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError(f"no free port in IOC_TEST_PORTS={span}")


def run_script(script: Path, verb: str, env: dict[str, str], timeout_s: float = 90) -> None:
    """``bash deploy/local/<service>.sh start|stop`` for a private instance; fail with its output."""
    result = subprocess.run(
        ["bash", str(script), verb], env=env, capture_output=True, text=True, timeout=timeout_s,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"{script.name} {verb}:\n{result.stdout}\n{result.stderr}"


def port_taken(port: int) -> bool:
    """True when something answers on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def require_port(settings: Settings, name: str, port: int) -> None:
    """Fail the test loudly, with the service log, when a port does not answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3):
            return
    except OSError as exc:
        pytest.fail(
            f"{name} is not answering on 127.0.0.1:{port} ({exc}); start the stack with "
            f"`make up` (make test does it for you).{_log_tail(settings, name)}",
            pytrace=False,
        )


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topics, groups and databases of one test."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def clickhouse(settings: Settings) -> Iterator[ClickHouseExecutor]:
    """The real ClickHouse server (Debian's 18.16) over the native protocol."""
    require_port(settings, "clickhouse", settings.clickhouse_port)
    executor = ClickHouseExecutor.from_settings(settings)
    yield executor
    executor.close()


@pytest.fixture
def database(clickhouse: ClickHouseExecutor, unique: str) -> Iterator[str]:
    """A freshly migrated database of the real server, dropped afterwards."""
    name = f"ioc_test_{unique}"
    migrate(clickhouse, name)
    yield name
    clickhouse.execute(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture
def chdb(tmp_path: Path) -> Iterator[ChdbExecutor]:
    """Current ClickHouse in-process, in a fresh directory per test."""
    executor = ChdbExecutor(tmp_path / "chdb")
    yield executor
    executor.close()


@pytest.fixture(scope="session")
def kafka_ready(settings: Settings) -> Settings:
    """The real Kafka broker is answering, with the registry's topics in place."""
    require_port(settings, "kafka", settings.kafka_port)
    return settings


@pytest.fixture(scope="session", autouse=True)
def stack_ca() -> None:
    """Every process a test starts trusts the stack's CA (IOC_TLS_CA_FILE), Kafka's included,
    even one whose IOC_DATA_DIR is a folder of its own (where no CA is)."""
    os.environ.setdefault("IOC_TLS_CA_FILE", str(Settings().ca_file))


@pytest.fixture(scope="session")
def settings(stack_ca: None) -> Settings:
    """The session's settings, read after ``stack_ca``: their env_vars() carry the CA too."""
    return settings_for_tests()


@pytest.fixture(scope="session", autouse=True)
def registry_topics(settings: Settings) -> None:
    """Create the registry's topics before any test, as a deployment would.

    The broker does not auto-create topics, so a test (or a tool) producing to a
    registry topic finds it with the registry's partitions, retention and cleanup.
    """
    require_port(settings, "kafka", settings.kafka_port)
    admin = admin_client(settings)
    try:
        results = ensure_topics(
            admin,
            registry(settings.replay_horizon_days),
            profile=settings.partition_profile,
            replication_factor=settings.replication_factor,
        )
    finally:
        admin.close()
    wrong = [r for r in results if r.action == "partition-mismatch"]
    if wrong:
        pytest.fail(f"registry topics with the wrong partition count: {wrong}", pytrace=False)
