"""Negative tests on the real services (issue 16): the stack's Prometheus and Alertmanager
refuse a client without credentials, with a wrong password, in plain HTTP, or that does
not trust their CA, and answer the right one; ``ioc alerter`` with a wrong password
fails loudly (an error in its log, its own outcome counted) rather than silently."""

from __future__ import annotations

import httpx
import pytest

from ioc.ops.monitoring import Service, monitoring_client_args, monitoring_url
from ioc.settings import Settings
from tests.factories import anomaly
from tests.integration.alerting.conftest import (
    AlerterProcess,
    PrivateAlertmanager,
    anomalies_topic,
    produce,
)
from tests.integration.conftest import require_port

pytestmark = pytest.mark.integration

SERVICES: list[Service] = ["prometheus", "alertmanager"]
API = {"prometheus": "/api/v1/status/buildinfo", "alertmanager": "/api/v2/status"}


def port_of(settings: Settings, service: Service) -> int:
    port = settings.prometheus_port if service == "prometheus" else settings.alertmanager_port
    require_port(settings, service, port)
    return port


@pytest.mark.parametrize("service", SERVICES)
def test_the_right_credentials_are_answered(settings: Settings, service: Service) -> None:
    port_of(settings, service)
    with httpx.Client(timeout=5, **monitoring_client_args(settings, service)) as client:
        assert client.get("/-/ready").status_code == 200
        assert client.get(API[service]).status_code == 200


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("path", ["/-/ready", "API", "/metrics"])
def test_no_credentials_is_401(settings: Settings, service: Service, path: str) -> None:
    port_of(settings, service)
    args = monitoring_client_args(settings, service)
    del args["auth"]
    with httpx.Client(timeout=5, **args) as client:
        response = client.get(API[service] if path == "API" else path)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].lower().startswith("basic")


@pytest.mark.parametrize("service", SERVICES)
def test_a_wrong_password_is_401(settings: Settings, service: Service) -> None:
    port_of(settings, service)
    args = monitoring_client_args(settings, service)
    args["auth"] = httpx.BasicAuth(
        settings.prometheus_web_user if service == "prometheus" else settings.alertmanager_web_user,
        "not-the-password",
    )
    with httpx.Client(timeout=5, **args) as client:
        assert client.get(API[service]).status_code == 401
        # Nor may a POST get through (Alertmanager takes alerts, Prometheus admin calls).
        write = "/api/v2/alerts" if service == "alertmanager" else "/api/v1/admin/tsdb/snapshot"
        assert client.post(write, json=[]).status_code == 401


@pytest.mark.parametrize("service", SERVICES)
def test_plain_http_to_the_tls_port_gets_nothing(settings: Settings, service: Service) -> None:
    port = port_of(settings, service)
    args = monitoring_client_args(settings, service)
    assert monitoring_url(settings, service).startswith("https://")
    with httpx.Client(timeout=5) as client:
        response = client.get(f"http://127.0.0.1:{port}{API[service]}", auth=args["auth"])
    # Go's TLS server answers a plain request with 400 and a hint, never the API.
    assert response.status_code == 400, response.text
    assert "HTTPS" in response.text


@pytest.mark.parametrize("service", SERVICES)
def test_a_client_that_does_not_trust_the_ca_is_refused(
    settings: Settings, service: Service
) -> None:
    port_of(settings, service)
    args = monitoring_client_args(settings, service)
    args["verify"] = True  # the system's CAs: the stack's own CA is not among them
    with httpx.Client(timeout=5, **args) as client, pytest.raises(httpx.ConnectError):
        client.get(API[service])


def test_the_alerter_with_a_wrong_password_fails_loudly(
    settings: Settings,
    kafka_ready: Settings,
    alertmanager: PrivateAlertmanager,
    unique: str,
) -> None:
    topic = anomalies_topic(settings, unique)
    alerter = AlerterProcess(
        topic, alertmanager, extra_env={"IOC_ALERTMANAGER_WEB_PASSWORD": "not-the-password"}
    )
    alerter.start()
    try:
        produce(settings, topic, anomaly(anomaly_id=f"auth-{unique}", group_id=f"FD-{unique}"))
        alerter.wait_metric('ioc_alerter_posts_total{outcome="unauthorized"}', lambda v: v >= 1)
        assert alerter.metric("ioc_alerter_pending_alerts") == 1  # kept, not dropped
        assert not alerter.metric('ioc_alerter_posts_total{outcome="ok"}')
    finally:
        log = alerter.stop()
    assert "ERROR" in log, log
    assert "refused our credentials (401)" in log, log
    assert not [a for a in alertmanager.alerts() if a["labels"].get("group") == f"FD-{unique}"]
