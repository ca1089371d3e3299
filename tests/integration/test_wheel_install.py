"""A built wheel, installed from the runtime lock into a clean venv, runs outside the checkout.

What a deployment does (decisions 0017, 0018): build the wheel, install the locked
dependencies with their hashes, then the wheel without resolving anything, and from any
directory run ``ioc --version``, ``ioc db migrate``, ``ioc grafana build`` and
``ioc worker``. Nothing here may come from the checkout: the venv has no path to it, the
commands run in a directory outside it, and the build happens on a copy of the sources.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ioc import version
from ioc.ops.db.executors import ClickHouseExecutor
from ioc.ops.kafka_admin import admin_client
from ioc.settings import PROJECT_ROOT, Settings
from tests.integration.conftest import free_port

pytestmark = pytest.mark.integration

SOURCES = (
    "pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE",
    "THIRD_PARTY_NOTICES.md", "requirements", "ioc", "schemas", "streams", "connectors",
    "deploy",
)  # fmt: skip
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "local", "compose", "tests")


def _run(argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{argv} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _clean_env(settings: Settings, **ioc: str) -> dict[str, str]:
    """No IOC_, PYTHON* or VIRTUAL_ENV of this session; exactly the given settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("IOC_", "PYTHON", "VIRTUAL_ENV", "PIP_REQUIRE"))
    }
    env.update(settings.env_vars())
    env.update(ioc)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean venv with the runtime lock and the wheel; its bin/ directory."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in SOURCES:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=IGNORED)
        else:
            shutil.copy2(source, src / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    # The copy has no .git: the commit of this checkout is passed the way a Docker build does.
    env["IOC_BUILD_COMMIT"] = version.commit()
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(root / "dist"), str(src)],
        cwd=root, env=env,
    )  # fmt: skip
    (wheel,) = (root / "dist").glob("ioc_pipeline-*.whl")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=root, env=env)
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    lock = PROJECT_ROOT / "requirements" / "runtime.lock"
    _run([*pip, "--require-hashes", "-r", str(lock)], cwd=root, env=env, timeout=600)
    _run([*pip, "--no-deps", str(wheel)], cwd=root, env=env)
    shutil.rmtree(src)  # nothing may be read from the sources after this
    return venv / "bin"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory outside the checkout."""
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    assert not directory.is_relative_to(PROJECT_ROOT)
    return directory


def test_installed_package_is_the_wheel_not_the_checkout(
    installed: Path, elsewhere: Path, settings: Settings
) -> None:
    where = _run(
        [str(installed / "python"), "-c", "import ioc.assets as a; print(a.deploy_dir())"],
        cwd=elsewhere, env=_clean_env(settings),
    )  # fmt: skip
    deploy = Path(where.strip())
    assert deploy.name == "_deploy"
    assert deploy.is_relative_to(installed.parent)
    out = _run([str(installed / "ioc"), "--version"], cwd=elsewhere, env=_clean_env(settings))
    assert out.strip() == f"ioc-pipeline {version.version()} (commit {version.commit()})"
    assert version.commit() != "unknown"


def test_db_migrate_from_the_wheel(
    installed: Path,
    elsewhere: Path,
    settings: Settings,
    clickhouse: ClickHouseExecutor,
    unique: str,
) -> None:
    database = f"ioc_wheel_{unique}"
    env = _clean_env(settings, IOC_CLICKHOUSE_DATABASE=database, IOC_DATA_DIR=str(elsewhere))
    try:
        first = _run([str(installed / "ioc"), "db", "migrate"], cwd=elsewhere, env=env)
        assert "applied 0001_events" in first
        second = _run([str(installed / "ioc"), "db", "migrate"], cwd=elsewhere, env=env)
        assert "schema is up to date" in second
        rows = clickhouse.execute(f"SELECT count() FROM {database}.schema_migrations")
        migrations = list((PROJECT_ROOT / "deploy" / "clickhouse" / "migrations").glob("*.sql"))
        assert rows[0][0] == len(migrations)
    finally:
        clickhouse.execute(f"DROP DATABASE IF EXISTS {database}")


def test_grafana_build_from_the_wheel(installed: Path, elsewhere: Path, settings: Settings) -> None:
    env = _clean_env(settings, IOC_DATA_DIR=str(elsewhere))
    ioc = str(installed / "ioc")
    out = elsewhere / "grafana"
    _run([ioc, "grafana", "build", "--out", str(out)], cwd=elsewhere, env=env)
    checked_in = PROJECT_ROOT / "deploy" / "grafana"
    for path in checked_in.rglob("*"):
        if path.is_file():
            built = out / path.relative_to(checked_in)
            assert built.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), built
    # The package's own copies are current, and are never written to.
    assert "up to date" in _run([ioc, "grafana", "build", "--check"], cwd=elsewhere, env=env)
    refused = subprocess.run(
        [ioc, "grafana", "build"], cwd=elsewhere, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "--out" in refused.stdout


def _metrics(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            return str(response.read().decode())
    except OSError:
        return ""


def test_worker_from_the_wheel_starts_and_stops_on_sigterm(
    installed: Path, elsewhere: Path, kafka_ready: Settings, unique: str
) -> None:
    app_id, suffix, port = f"ioc-worker-wheel-{unique}", f".wheel-{unique}", free_port()
    env = _clean_env(
        kafka_ready,
        IOC_STREAM_APP_ID=app_id,
        IOC_STREAM_TOPIC_SUFFIX=suffix,
        IOC_STREAM_METRICS_PORT=str(port),
        IOC_DATA_DIR=str(elsewhere / "data"),
        IOC_CONSUMER_MAX_POLL_INTERVAL_MS="60000",
        IOC_STREAM_TICK_INTERVAL_S="0",
    )
    log_path = elsewhere / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [str(installed / "ioc"), "worker", "--loglevel", "info"],
            cwd=elsewhere, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        metrics = ""
        while time.monotonic() < deadline and worker.poll() is None:
            metrics = _metrics(port)
            if metrics and re.search(r"\bReady\b", log_path.read_text(errors="replace")):
                break
            time.sleep(0.5)  # polling interval of a deadline loop
        log = log_path.read_text(errors="replace")
        assert worker.poll() is None, f"worker exited {worker.returncode}:\n{log[-4000:]}"
        assert re.search(r"\bReady\b", log), f"worker never said Ready:\n{log[-4000:]}"
        commit, release = version.commit(), version.version()
        assert f'ioc_build_info{{commit="{commit}",version="{release}"}} 1.0' in metrics
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0, log_path.read_text(errors="replace")[-4000:]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
        admin = admin_client(kafka_ready)
        try:
            mine = [t for t in admin.list_topics() if t.endswith(suffix) or t.startswith(app_id)]
            if mine:
                admin.delete_topics(mine)
        finally:
            admin.close()
