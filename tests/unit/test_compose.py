"""deploy/docker-compose.yml agrees with ioc.settings, and docker-compose accepts it.

The compose stack runs every service in one network namespace on the settings'
default ports — the same addresses the native stack and the tests use — so a
setting changed in ioc/settings.py without the compose file (or the other way
round) fails here, not on a user's machine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ioc.settings import PROJECT_ROOT, Settings

COMPOSE = PROJECT_ROOT / "deploy" / "docker-compose.yml"
# Settings the compose file sets on purpose to something else than the default.
COMPOSE_ONLY = {
    "IOC_HTTP_HOST": "0.0.0.0",  # the published gateway must listen beyond 127.0.0.1
    "IOC_DATA_DIR": "/data",
    "IOC_GRAFANA_URL": "http://localhost:3000",  # the alert links users click
    "IOC_POSTGRES_SSLMODE": "prefer",  # the postgres image has no server certificate
    "IOC_MONITORING_TLS": "false",  # Prometheus and Alertmanager not yet behind TLS here
    "IOC_CLICKHOUSE_TLS": "false",  # the clickhouse image has no server certificate
    "IOC_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",  # no users in the image: not published
}


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _defaults() -> dict[str, str]:
    return Settings(_env_file=None).env_vars()  # type: ignore[call-arg]


@pytest.fixture
def defaults(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    import os

    for key in [k for k in os.environ if k.startswith("IOC_")]:
        monkeypatch.delenv(key)
    return _defaults()


@pytest.mark.unit
def test_pipeline_settings_are_the_settings_defaults(defaults: dict[str, str]) -> None:
    env = _compose()["x-ioc-env"]
    assert env, "x-ioc-env is empty"
    for name, value in env.items():
        assert name in defaults, f"{name} is not a setting of ioc/settings.py"
        expected = COMPOSE_ONLY.get(name, defaults[name])
        if name == "IOC_ENVIRONMENT":
            expected = "dev"
        assert str(value) == expected, name
    for service, spec in _compose()["services"].items():
        if spec.get("image") == "ioc-pipeline:local" and service != "net":
            assert spec["environment"] == env, service
            assert spec["network_mode"] == "service:net", service


@pytest.mark.unit
def test_published_ports_are_the_settings_ports(defaults: dict[str, str]) -> None:
    services = _compose()["services"]
    published = {int(p.split(":")[-1]): p for p in services["net"]["ports"]}
    # No published port without authentication: Kafka (no users in the image, decision
    # 0039), Prometheus and Alertmanager (no web config here, decision 0034) stay inside.
    for name in ("KAFKA_PORT", "PROMETHEUS_PORT", "ALERTMANAGER_PORT"):
        assert int(defaults[f"IOC_{name}"]) not in published, name
    for name in ("CLICKHOUSE_PORT", "CLICKHOUSE_HTTP_PORT", "POSTGRES_PORT",
                 "MOSQUITTO_PORT", "HTTP_PORT"):  # fmt: skip
        port = int(defaults[f"IOC_{name}"])
        assert published.get(port) == f"127.0.0.1:{port}:{port}", name
    assert 3000 in published  # Grafana, where ioc demo and the README send users
    for service, spec in services.items():
        if service != "net":
            assert "ports" not in spec, f"{service}: publish on net (one namespace)"
            assert spec.get("network_mode") == "service:net", service


@pytest.mark.unit
def test_service_images_and_credentials_match_the_settings(defaults: dict[str, str]) -> None:
    services = _compose()["services"]
    kafka = services["kafka"]
    assert kafka["image"] == f"apache/kafka:{defaults['IOC_KAFKA_VERSION']}"
    controller = defaults["IOC_KAFKA_CONTROLLER_PORT"]
    assert f"CONTROLLER://127.0.0.1:{controller}" in kafka["environment"]["KAFKA_LISTENERS"]
    assert kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"] == (
        f"PLAINTEXT://127.0.0.1:{defaults['IOC_KAFKA_PORT']}"
    )
    pg = services["postgres"]["environment"]
    assert (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"]) == (
        defaults["IOC_POSTGRES_USER"],
        defaults["IOC_POSTGRES_PASSWORD"],
        defaults["IOC_POSTGRES_DATABASE"],
    )
    ch = services["clickhouse"]
    version = tuple(int(x) for x in ch["image"].split(":")[1].split("."))
    assert version >= (21, 8), "Grafana's ClickHouse plugin needs 21.8 or later"
    users = (COMPOSE.parent / "compose" / "clickhouse-users.xml").read_text()
    assert '<default remove="remove"/>' in users  # no passwordless user on a published port
    for role in ("MIGRATOR", "SINK", "REPLAY", "READER", "GRAFANA"):
        password = f"IOC_CLICKHOUSE_{role}_PASSWORD"
        assert ch["environment"][password] == defaults[password], role
        assert f"<{defaults[f'IOC_CLICKHOUSE_{role}_USER']}>" in users, role
        assert f'<password from_env="{password}"/>' in users, role


@pytest.mark.unit
def test_compose_grafana_reads_only_what_the_panels_need(defaults: dict[str, str]) -> None:
    """Its GRANTs are ioc/ops/db/access.py's, which cover every table a dashboard reads
    and no raw column but written_at_ms (decision 0037)."""
    from ioc.ops.db.access import FRESHNESS_TABLES, grafana_grants

    users = (COMPOSE.parent / "compose" / "clickhouse-users.xml").read_text()
    grafana = users[users.index("<grafana>") : users.index("</grafana>")]
    grants = re.findall(r"<query>(.*?)</query>", grafana)
    db, user = defaults["IOC_CLICKHOUSE_DATABASE"], defaults["IOC_CLICKHOUSE_GRAFANA_USER"]
    assert grants == grafana_grants(db, user)
    whole = {g.split(" ON ")[1].split(" TO ")[0] for g in grants if g.startswith("GRANT SELECT ON")}
    columns_only = {f"{db}.{t}" for t in FRESHNESS_TABLES}
    read: set[str] = set()
    for path in (PROJECT_ROOT / "deploy" / "grafana" / "dashboards").rglob("*.json"):
        read |= {
            f"{db}.{t}" for t in re.findall(r"\b(?:FROM|JOIN)\s+([a-z_]+)\b", path.read_text())
        }
    assert read - whole <= columns_only, read - whole - columns_only
    assert not whole & {f"{db}.events_qr", f"{db}.deadletter"}


@pytest.mark.unit
def test_grafana_gets_every_variable_its_provisioning_uses(defaults: dict[str, str]) -> None:
    grafana = _compose()["services"]["grafana"]
    env = grafana["environment"]
    assert "grafana-clickhouse-datasource" in env["GF_PLUGINS_PREINSTALL"]
    used: set[str] = set()
    for path in (PROJECT_ROOT / "deploy" / "grafana" / "provisioning").rglob("*.yaml"):
        used |= set(re.findall(r"\$\{(IOC_[A-Z0-9_]+)\}", path.read_text()))
    assert used <= set(env), used - set(env)
    # Grafana reaches ClickHouse in plain TCP here, like the pipeline (compose's image has
    # no certificate); the settings' defaults are TLS on the TLS port.
    plain = {"IOC_GRAFANA_CLICKHOUSE_PORT": defaults["IOC_CLICKHOUSE_PORT"],
             "IOC_GRAFANA_CLICKHOUSE_TLS": "false"}  # fmt: skip
    assert {name: str(env[name]) for name in plain} == plain
    for name in used - {"IOC_GRAFANA_PROMETHEUS_URL", *plain}:
        assert str(env[name]) == defaults[name], name
    prometheus = f"http://127.0.0.1:{defaults['IOC_PROMETHEUS_PORT']}"
    assert env["IOC_GRAFANA_PROMETHEUS_URL"] == prometheus
    mounts = grafana["volumes"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
    assert "./grafana/dashboards:/var/lib/grafana/dashboards/ioc:ro" in mounts
    for mount in mounts:
        source = mount.split(":")[0]
        if source.startswith("./"):
            assert (COMPOSE.parent / source).exists(), source


@pytest.mark.unit
def test_pipeline_processes_and_their_image() -> None:
    services = _compose()["services"]
    commands = {name: spec.get("command") for name, spec in services.items()}
    for argv in (["ioc", "worker"], ["ioc", "sink"], ["ioc", "alerter"],
                 ["ioc", "connector", "http", "serve"], ["ioc", "connector", "mqtt"],
                 ["ioc", "connector", "outbox", "run"], ["ioc", "notify"]):  # fmt: skip
        assert any(c and c[: len(argv)] == argv for c in commands.values()), argv
    assert services["net"]["build"] == {"context": "..", "dockerfile": "Dockerfile"}
    assert (PROJECT_ROOT / "Dockerfile").exists()
    for script in ("render.sh", "setup.sh"):
        assert (COMPOSE.parent / "compose" / script).exists()


@pytest.mark.integration
def test_docker_compose_config_accepts_the_file() -> None:
    # An integration test only because deploy/local/install-system.sh (run by up.sh,
    # after the unit tests) installs Debian's docker-compose; `config` needs no engine.
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is missing: bash deploy/local/install-system.sh installs it"
    result = subprocess.run(
        [binary, "-f", str(COMPOSE), "config", "-q"],
        capture_output=True, text=True, timeout=60, check=False, cwd=Path(COMPOSE).parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
