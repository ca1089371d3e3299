"""Data sources and the dashboard provider, for Grafana's provisioning files and for push.

One definition, two uses: the checked-in provisioning files keep ``${IOC_...}``
placeholders (Grafana expands environment variables in provisioning files), and
``ioc grafana push`` fills the same placeholders from the settings object.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ioc import assets
from ioc.ops.grafana.uids import (
    CLICKHOUSE_TYPE,
    CLICKHOUSE_UID,
    FOLDER_UID,
    PROMETHEUS_TYPE,
    PROMETHEUS_UID,
)
from ioc.settings import Settings

FOLDER_TITLE = "IOC"
DASHBOARDS_MOUNT = "/var/lib/grafana/dashboards/ioc"
"""Where deploy/grafana/dashboards is mounted in the Grafana container."""
SECRET_KEYS = {"password"}

_PLACEHOLDER = re.compile(r"\$\{(IOC_[A-Z0-9_]+)\}")


def datasources() -> list[dict[str, Any]]:
    """Both data sources, with ``${IOC_...}`` placeholders for deployment values."""
    return [
        {
            "name": "IOC ClickHouse",
            "uid": CLICKHOUSE_UID,
            "type": CLICKHOUSE_TYPE,
            "access": "proxy",
            "isDefault": True,
            "editable": False,
            "jsonData": {
                "host": "${IOC_CLICKHOUSE_HOST}",
                "port": "${IOC_GRAFANA_CLICKHOUSE_PORT}",
                "protocol": "native",
                # TLS verified against our CA (decision 0037): the plugin parses these
                # strings as booleans, and with an empty CA it uses the system store.
                "secure": "${IOC_GRAFANA_CLICKHOUSE_TLS}",
                "tlsAuthWithCACert": "${IOC_GRAFANA_CLICKHOUSE_TLS}",
                "tlsSkipVerify": False,
                # The least-privilege, read-only user (deploy/local/clickhouse.sh makes it).
                "username": "${IOC_CLICKHOUSE_GRAFANA_USER}",
                "defaultDatabase": "${IOC_CLICKHOUSE_DATABASE}",
                "dialTimeout": "10",
                "queryTimeout": "60",
            },
            "secureJsonData": {
                "password": "${IOC_CLICKHOUSE_GRAFANA_PASSWORD}",
                "tlsCACert": "${IOC_GRAFANA_CLICKHOUSE_CA_CERT}",
            },
        },
        {
            "name": "IOC Prometheus",
            "uid": PROMETHEUS_UID,
            "type": PROMETHEUS_TYPE,
            "access": "proxy",
            "url": "${IOC_GRAFANA_PROMETHEUS_URL}",
            "isDefault": False,
            "editable": False,
            # Prometheus serves HTTPS with basic auth (decision 0034); Grafana trusts its
            # CA from the system store (a province's CA installed there).
            "basicAuth": True,
            "basicAuthUser": "${IOC_PROMETHEUS_WEB_USER}",
            "jsonData": {"httpMethod": "POST", "timeInterval": "${IOC_PROMETHEUS_SCRAPE_INTERVAL}"},
            "secureJsonData": {"basicAuthPassword": "${IOC_PROMETHEUS_WEB_PASSWORD}"},
        },
    ]


def dashboard_provider() -> dict[str, Any]:
    """The file provider that loads deploy/grafana/dashboards/<language>/ into folder IOC."""
    return {
        "name": "ioc",
        "orgId": 1,
        "folder": FOLDER_TITLE,
        "folderUid": FOLDER_UID,
        "type": "file",
        "disableDeletion": False,
        "allowUiUpdates": False,
        "updateIntervalSeconds": 30,
        "options": {"path": f"{DASHBOARDS_MOUNT}/${{IOC_DASHBOARD_LANGUAGE}}"},
    }


def fill(value: Any, settings: Settings) -> Any:
    """``value`` with every ``${IOC_NAME}`` replaced by that setting (secrets revealed)."""
    if isinstance(value, dict):
        return {k: fill(v, settings) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, settings) for v in value]
    if not isinstance(value, str):
        return value
    env = settings.model_dump()

    def one(match: re.Match[str]) -> str:
        name = match.group(1)[4:].lower()
        if name not in env:
            raise KeyError(f"no setting for ${{{match.group(1)}}}")
        setting = getattr(settings, name)
        if isinstance(setting, bool):  # as an environment variable says it
            return "true" if setting else "false"
        return str(setting.get_secret_value() if hasattr(setting, "get_secret_value") else setting)

    return _PLACEHOLDER.sub(one, value)


def placeholders(value: Any) -> set[str]:
    """Every ``IOC_...`` name a structure refers to."""
    if isinstance(value, dict):
        return set().union(*(placeholders(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(placeholders(v) for v in value))
    return set(_PLACEHOLDER.findall(value)) if isinstance(value, str) else set()


# --- files ----------------------------------------------------------------------------


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    # Double-quoted YAML strings: JSON string escapes are valid YAML escapes.
    import json

    return json.dumps(str(value), ensure_ascii=False)


def to_yaml(value: Any, indent: int = 0) -> str:
    """A minimal block-style YAML emitter for dicts, lists and scalars (no PyYAML here)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(item, indent + 2))
            else:
                lines.append(f"{pad}{key}: {_scalar(item) if item != {} else '{}'}")
    elif isinstance(value, list):
        for item in value:
            body = (
                to_yaml(item, indent + 2).lstrip()
                if isinstance(item, dict | list)
                else _scalar(item)
            )
            lines.append(f"{pad}- {body}")
    else:
        lines.append(pad + _scalar(value))
    return "\n".join(lines)


HEADER = (
    "# Generated by `ioc grafana build` from ioc/ops/grafana/provisioning.py; do not edit.\n"
    "# Grafana replaces ${IOC_...} with the environment variable of that name.\n"
)


def provisioning_dir(root: Path | None = None) -> Path:
    """``provisioning/`` of a Grafana directory (default: :func:`ioc.assets.grafana_dir`)."""
    return (root or assets.grafana_dir()) / "provisioning"


def files(root: Path | None = None) -> dict[Path, str]:
    """The provisioning files (data sources, dashboard provider) under ``root``."""
    directory = provisioning_dir(root)
    return {
        directory / "datasources" / "ioc.yaml": HEADER
        + to_yaml({"apiVersion": 1, "datasources": datasources()})
        + "\n",
        directory / "dashboards" / "ioc.yaml": HEADER
        + to_yaml({"apiVersion": 1, "providers": [dashboard_provider()]})
        + "\n",
    }
