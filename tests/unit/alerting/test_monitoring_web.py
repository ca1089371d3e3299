"""Prometheus and Alertmanager behind their web configs (decision 0034): the rendered
web configs pass ``promtool check web-config``, the rendered Prometheus config reaches
Alertmanager and scrapes both over HTTPS with basic auth, and every client takes its
URL, CA and credentials from ioc.ops.monitoring."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr

from connectors.sinks.alerter.poster import AlertmanagerPoster, AlertsUnauthorizedError
from ioc.ops.grafana.provisioning import datasources
from ioc.ops.monitoring import monitoring_auth, monitoring_client_args, monitoring_url
from ioc.settings import settings_for_tests
from tests.unit.alerting.test_alerting_configs import PROMETHEUS, render, render_with, run

pytestmark = pytest.mark.unit

PASSWORD = 'a "quoted" back\\slash $pass & more'


def web_config(tmp_path: Path, tls: str, user: str = "ioc", password: str = PASSWORD) -> Path:
    target = tmp_path / "web.yml"
    command = f'ensure_pki; render_web_config "{target}" "{user}" "$IOC_PROMETHEUS_WEB_PASSWORD"'
    render_with(command, target, IOC_MONITORING_TLS=tls, IOC_PROMETHEUS_WEB_PASSWORD=password)
    return target


@pytest.mark.parametrize("tls", ["True", "False"])
def test_the_rendered_web_config_passes_promtool(tmp_path: Path, tls: str) -> None:
    target = web_config(tmp_path, tls)
    assert "SUCCESS" in run("promtool", "check", "web-config", str(target))
    config = yaml.safe_load(target.read_text())
    assert ("tls_server_config" in config) is (tls == "True")
    (hashed,) = config["basic_auth_users"].values()
    assert hashed.startswith("$2")
    assert PASSWORD not in target.read_text()
    assert target.stat().st_mode & 0o077 == 0  # the hash is for the service's eyes only
    if tls == "True":
        assert config["tls_server_config"]["cert_file"] == str(tmp_path / "pki" / "server.pem")


def job(config: dict[str, Any], name: str) -> dict[str, Any]:
    return next(j for j in config["scrape_configs"] if j["job_name"] == name)


def test_prometheus_reaches_alertmanager_and_scrapes_both_with_tls_and_auth(
    tmp_path: Path,
) -> None:
    env = {
        "IOC_ALERTMANAGER_WEB_PASSWORD": PASSWORD,
        "IOC_PROMETHEUS_WEB_USER": "prom-user",
    }
    config = yaml.safe_load(render(PROMETHEUS / "prometheus.yml", tmp_path / "p.yml", **env))
    ca = str(tmp_path / "pki" / "ca.pem")  # the stack's CA when none is set
    (alerting,) = config["alerting"]["alertmanagers"]
    for client, user, password in [
        (alerting, "ioc", PASSWORD),
        (job(config, "alertmanager"), "ioc", PASSWORD),
        (job(config, "prometheus"), "prom-user", "change-me-prometheus"),
    ]:
        assert client["scheme"] == "https"
        assert client["tls_config"] == {"ca_file": ca}
        assert client["basic_auth"] == {"username": user, "password": password}
    plain = yaml.safe_load(
        render(PROMETHEUS / "prometheus.yml", tmp_path / "q.yml", IOC_MONITORING_TLS="False")
    )
    assert plain["alerting"]["alertmanagers"][0]["scheme"] == "http"
    assert job(plain, "prometheus")["tls_config"] == {"ca_file": ""}


def test_clients_use_https_the_ca_and_the_credentials(tmp_path: Path) -> None:
    settings = settings_for_tests(
        data_dir=tmp_path, alertmanager_port=19093, alertmanager_web_password=SecretStr("pw")
    )
    assert settings.alertmanager_url == "https://127.0.0.1:19093"
    assert monitoring_url(settings, "prometheus", 39090) == "https://127.0.0.1:39090"
    auth = monitoring_auth(settings, "alertmanager")
    request = next(auth.auth_flow(httpx.Request("GET", "https://x/")))
    assert request.headers["authorization"] == httpx.BasicAuth("ioc", "pw")._auth_header
    with pytest.raises(FileNotFoundError):  # no CA, no client: never an unverified one
        monitoring_client_args(settings, "prometheus")
    web_config(tmp_path, "True")  # ensure_pki: the stack's CA in <data_dir>/pki
    args = monitoring_client_args(settings, "prometheus")
    assert isinstance(args["verify"], ssl.SSLContext)
    plain = settings_for_tests(monitoring_tls=False)
    assert plain.alertmanager_url.startswith("http://")
    assert monitoring_client_args(plain, "alertmanager")["verify"] is True


def test_prod_refuses_the_default_web_passwords() -> None:
    from tests.unit.test_settings import strong_secrets

    secrets = strong_secrets()
    del secrets["alertmanager_web_password"]
    with pytest.raises(ValueError, match="IOC_ALERTMANAGER_WEB_PASSWORD \\(the default\\)"):
        settings_for_tests(environment="prod", **secrets)


def test_grafana_reaches_prometheus_with_basic_auth() -> None:
    prometheus = next(d for d in datasources() if d["type"] == "prometheus")
    assert prometheus["basicAuth"] is True
    assert prometheus["basicAuthUser"] == "${IOC_PROMETHEUS_WEB_USER}"
    assert prometheus["secureJsonData"] == {"basicAuthPassword": "${IOC_PROMETHEUS_WEB_PASSWORD}"}


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_their_own_error(status: int) -> None:
    seen: list[httpx.Request] = []

    def alertmanager(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, text="Unauthorized")

    async def post() -> None:
        poster = AlertmanagerPoster("https://am.test")
        poster._client = httpx.AsyncClient(  # the real client, with a fake transport
            base_url="https://am.test",
            auth=httpx.BasicAuth("ioc", "wrong"),
            transport=httpx.MockTransport(alertmanager),
        )
        try:
            await poster.post([{"labels": {"alertname": "x"}}])
        finally:
            await poster.close()

    with pytest.raises(AlertsUnauthorizedError, match="IOC_ALERTMANAGER_WEB_USER"):
        asyncio.run(post())
    assert seen[0].headers["authorization"].startswith("Basic ")
