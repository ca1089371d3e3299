"""`ioc demo --no-tty --duration N` end to end: simulator → connectors → worker → sink.

The demo's non-interactive mode exits 0 only when every stream the simulator sent
through the real connectors reached ClickHouse, and KPI rows did. Its own topics,
groups, database, MQTT topics and outbox schema, so it shares the stack safely.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from ioc.ops.db.executors import ClickHouseExecutor
from ioc.ops.kafka_admin import admin_client
from ioc.settings import settings_for_tests
from ioc.wiring.connectors import pg_conninfo
from tests.integration.conftest import require_port

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[3]


def test_demo_runs_the_whole_pipeline_and_rows_arrive(tmp_path: Path) -> None:
    unique = uuid.uuid4().hex[:10]
    overrides: dict[str, object] = {
        "data_dir": tmp_path,
        "clickhouse_database": f"ioc_demo_{unique}",
        "stream_topic_suffix": f".demo-{unique}",
        "stream_app_id": f"ioc-worker-demo-{unique}",
        "sink_group_id": f"ioc-sink-demo-{unique}",
        "outbox_schema": f"demo_{unique}",
        "outbox_consumer": f"demo-{unique}",
        "mqtt_client_id": f"bridge-demo-{unique}",
        "mqtt_traffic_topics": f"it/demo-{unique}/city/traffic/+/obs",
        "mqtt_energy_topics": f"it/demo-{unique}/city/energy/+/reading",
        # Its own data dir, the stack's services: trust the stack's CA (lib.sh ensure_pki).
        "tls_ca_file": str(settings_for_tests().ca_file),
        "stream_commit_interval_s": 0.5,
    }
    settings = settings_for_tests(**overrides)
    for name, port in (("kafka", settings.kafka_port), ("clickhouse", settings.clickhouse_port),
                       ("mosquitto", settings.mosquitto_port), ("postgres", settings.postgres_port)):  # fmt: skip
        require_port(settings, name, port)
    env = dict(os.environ)  # keeps the caller's IOC_* (e.g. moved ports)
    env.update({f"IOC_{k.upper()}": str(v) for k, v in overrides.items()})
    env["IOC_ENVIRONMENT"] = "test"
    try:
        run = subprocess.run(
            [sys.executable, "-m", "ioc", "demo", "--no-tty", "--duration", "30"],
            cwd=PROJECT, env=env, capture_output=True, text=True, timeout=170, check=False,
        )  # fmt: skip
        logs = "\n".join(
            f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:]
            for p in sorted((tmp_path / "demo" / "logs").glob("*.log"))
        )
        assert run.returncode == 0, run.stdout + run.stderr + logs
        assert "every stream the simulator sent reached ClickHouse" in run.stdout
        assert "stopped 7 demo processes" in run.stdout
        assert "docker-compose -f deploy/docker-compose.yml" in run.stdout
        assert not (tmp_path / "demo" / "pids.json").exists()  # everything it started, stopped
    finally:
        admin = admin_client(settings)
        try:
            mine = [t for t in admin.list_topics() if unique in t]
            if mine:
                admin.delete_topics(mine)
        finally:
            admin.close()
        executor = ClickHouseExecutor.from_settings(settings)
        executor.execute(f"DROP DATABASE IF EXISTS {settings.clickhouse_database}")
        executor.close()
        with psycopg.connect(**pg_conninfo(settings), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {settings.outbox_schema} CASCADE")
