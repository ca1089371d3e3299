"""How a client reaches Prometheus and Alertmanager: HTTPS and basic auth (decision 0034).

Both serve their API behind ``--web.config.file``: TLS with a certificate of the
deployment's CA (the local stack's own, ``<data_dir>/pki/ca.pem``, made by
deploy/local/lib.sh ``ensure_pki``) and one user each. Every client in the code base and
the tests takes its TLS trust, credentials and base URL from here, not from copies.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal

import httpx

from ioc.settings import Settings

Service = Literal["prometheus", "alertmanager"]


def monitoring_ca_file(settings: Settings) -> Path:
    """The CA that signed Prometheus's and Alertmanager's certificates."""
    if settings.monitoring_ca_file:
        return Path(settings.monitoring_ca_file)
    return settings.ca_file  # IOC_TLS_CA_FILE, else the local stack's


def monitoring_verify(settings: Settings, ca_file: Path | None = None) -> ssl.SSLContext | bool:
    """The ``verify`` of httpx: only that CA when TLS is on (a missing file fails at once)."""
    if not settings.monitoring_tls:
        return True
    return ssl.create_default_context(cafile=str(ca_file or monitoring_ca_file(settings)))


def monitoring_auth(settings: Settings, service: Service) -> httpx.BasicAuth:
    """The basic-auth user and password of that service, from the settings."""
    if service == "prometheus":
        user, password = settings.prometheus_web_user, settings.prometheus_web_password
    else:
        user, password = settings.alertmanager_web_user, settings.alertmanager_web_password
    return httpx.BasicAuth(user, password.get_secret_value())


def monitoring_url(settings: Settings, service: Service, port: int | None = None) -> str:
    """Base URL of that service's API (``port`` for a private instance on 127.0.0.1)."""
    if service == "alertmanager" and port is None:
        return settings.alertmanager_url
    scheme = "https" if settings.monitoring_tls else "http"
    default = settings.prometheus_port if service == "prometheus" else settings.alertmanager_port
    return f"{scheme}://127.0.0.1:{port or default}"


def monitoring_client_args(
    settings: Settings, service: Service, *, port: int | None = None, ca_file: Path | None = None
) -> dict[str, Any]:
    """``base_url``, ``auth`` and ``verify`` for an ``httpx.Client`` or ``AsyncClient``."""
    return {
        "base_url": monitoring_url(settings, service, port),
        "auth": monitoring_auth(settings, service),
        "verify": monitoring_verify(settings, ca_file),
    }


def monitoring_client(
    settings: Settings,
    service: Service,
    *,
    port: int | None = None,
    ca_file: Path | None = None,
    timeout_s: float = 5.0,
) -> httpx.Client:
    """A synchronous client of that service with its CA and credentials."""
    args = monitoring_client_args(settings, service, port=port, ca_file=ca_file)
    return httpx.Client(timeout=timeout_s, **args)
