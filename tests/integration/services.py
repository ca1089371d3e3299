"""Private instances of the stack's services, each started by the project's own script
(deploy/local/*.sh) in a test's folder on free ports: what a fault test may stop, kill or
hang without touching the session's stack."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from clickhouse_driver import Client

from ioc.ops.db.executors import clickhouse_client
from ioc.ops.monitoring import Service, monitoring_client
from ioc.settings import PROJECT_ROOT, Settings
from ioc.settings_clickhouse import ClickHouseRole
from tests.integration.conftest import free_port, run_script

LOCAL = PROJECT_ROOT / "deploy" / "local"


def monitoring(service: Service, port: int, data_dir: Path) -> httpx.Client:
    """A client of a Prometheus or Alertmanager that deploy/local/<service>.sh started with
    ``data_dir``: HTTPS trusting that folder's CA (lib.sh ensure_pki), and the credentials
    of the settings the script read (the same environment: decision 0034)."""
    return monitoring_client(Settings(), service, port=port, ca_file=data_dir / "pki" / "ca.pem")


def ensure_pki(env: dict[str, str]) -> None:
    """The CA and certificate of a private stack's data dir, before its services start."""
    script = f"source {LOCAL / 'lib.sh'}; load_settings; ensure_pki"
    subprocess.run(["bash", "-c", script], env=env, check=True, capture_output=True, timeout=60)


def share_stack_pki(data_dir: Path) -> None:
    """Seed a private service's data dir with the local stack's CA and certificate.

    lib.sh ensure_pki keeps what it finds, so the private service serves a certificate of
    the stack's CA, which every client of the tests already trusts.
    """
    stack = Settings().data_dir / "pki"
    if not (data_dir / "pki").exists() and (stack / "ca.pem").is_file():
        shutil.copytree(stack, data_dir / "pki")


@dataclass
class PrivateClickHouse:
    """A ClickHouse server of this test alone, started by the project's own script."""

    data_dir: Path
    port: int
    http_port: int
    tls_port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def ca_file(self) -> Path:
        """The CA of its data dir (lib.sh ensure_pki), which signed its TLS certificate."""
        return self.data_dir / "pki" / "ca.pem"

    def client_env(self) -> dict[str, str]:
        """What a pipeline process needs to reach this server: its ports and its CA."""
        return {
            "IOC_CLICKHOUSE_PORT": str(self.port),
            "IOC_CLICKHOUSE_HTTP_PORT": str(self.http_port),
            "IOC_CLICKHOUSE_TLS_PORT": str(self.tls_port),
            "IOC_TLS_CA_FILE": str(self.ca_file),
        }

    def settings(self, settings: Settings) -> Settings:
        """``settings`` pointed at this server (the same users and passwords)."""
        return settings.model_copy(
            update={
                "clickhouse_port": self.port,
                "clickhouse_http_port": self.http_port,
                "clickhouse_tls_port": self.tls_port,
                "tls_ca_file": str(self.ca_file),
            }
        )

    def client(self, settings: Settings, role: ClickHouseRole, **kwargs: Any) -> Client:
        """A client of this server as ``role``'s user, as the pipeline connects (TLS)."""
        return clickhouse_client(self.settings(settings), role=role, **kwargs)

    def _run(self, verb: str) -> None:
        # The stack's CA and certificate, not one of its own: the pipeline's clients trust
        # one CA (IOC_TLS_CA_FILE) for every service, Kafka included.
        share_stack_pki(self.data_dir)
        env = {
            **os.environ,
            "IOC_LOCAL_SETTINGS_LOADED": "",
            "IOC_DATA_DIR": str(self.data_dir),
            **self.client_env(),
            **self.extra_env,
        }
        run_script(LOCAL / "clickhouse.sh", verb, env)

    def start(self) -> None:
        self._run("start")

    def stop(self) -> None:
        self._run("stop")

    def pid(self) -> int:
        return int((self.data_dir / "run" / "clickhouse.pid").read_text().strip())

    def fail(self, fault: str, seconds: float) -> None:
        """The fault for ``seconds``, then the server back as its operator would bring it."""
        if fault == "stopped":
            self.stop()
            time.sleep(seconds)
            self.start()
        elif fault == "killed":  # mid-insert, most likely: the feed never pauses
            os.kill(self.pid(), signal.SIGKILL)
            time.sleep(seconds)
            self.start()
        elif fault == "hung":  # accepts connections, answers nothing
            os.kill(self.pid(), signal.SIGSTOP)
            time.sleep(seconds)
            os.kill(self.pid(), signal.SIGCONT)
        else:
            raise ValueError(fault)


@dataclass
class PrivateService:
    """A Mosquitto or PostgreSQL of this test alone (deploy/local/<name>.sh in its folder, on
    a free port, with the stack's CA): what a restart test may stop and start.

    Only its folder and port are its own: the script takes every other setting from the
    defaults, as the stack's does, so the pipeline's accounts and passwords work on it.
    """

    name: str
    """The script's: ``mosquitto`` or ``postgres``."""
    data_dir: Path
    port: int = field(default_factory=free_port)

    @property
    def env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith("IOC_")} | {
            "IOC_DATA_DIR": str(self.data_dir),
            f"IOC_{self.name.upper()}_PORT": str(self.port),
        }

    @property
    def ca_file(self) -> Path:
        return self.data_dir / "pki" / "ca.pem"

    def run(self, verb: str) -> None:
        run_script(LOCAL / f"{self.name}.sh", verb, self.env)

    def start(self) -> None:
        # One CA for every service (Kafka's too): the clients trust IOC_TLS_CA_FILE only.
        share_stack_pki(self.data_dir)
        self.run("start")

    def stop(self) -> None:
        self.run("stop")

    def restart(self) -> float:
        """Stopped and started again by its script; the seconds that took."""
        began = time.monotonic()
        self.stop()
        self.start()
        return time.monotonic() - began


@dataclass
class PrivatePrometheus:
    data_dir: Path
    port: int
    env: dict[str, str]

    def run(self, verb: str) -> None:
        environ = {
            **os.environ,
            "IOC_LOCAL_SETTINGS_LOADED": "",
            "IOC_DATA_DIR": str(self.data_dir),
            "IOC_PROMETHEUS_PORT": str(self.port),
            "IOC_PROMETHEUS_SCRAPE_INTERVAL": "1s",
            **self.env,
        }
        run_script(LOCAL / "prometheus.sh", verb, environ)

    def api(self, path: str, **params: str) -> Any:
        with monitoring("prometheus", self.port, self.data_dir) as client:
            response = client.get(f"/api/v1/{path}", params=params)
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]

    def wait_for(
        self,
        query: str,
        ok: Callable[[list[Any]], bool],
        timeout_s: float = 45,
        check: Callable[[], None] = lambda: None,
    ) -> list[Any]:
        deadline = time.monotonic() + timeout_s
        result: list[Any] = []
        while time.monotonic() < deadline:
            check()
            result = self.api("query", query=query)["result"]
            if ok(result):
                return result
            time.sleep(0.5)
        raise AssertionError(f"{query}: {result} after {timeout_s} s")


def private_prometheus(tmp_path: Path, **ports: str) -> PrivatePrometheus:
    # Its rules must not page through the shared Alertmanager.
    return PrivatePrometheus(
        tmp_path / "stack", free_port(), {**ports, "IOC_ALERTMANAGER_PORT": str(free_port())}
    )
