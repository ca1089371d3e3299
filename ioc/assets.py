"""Where the files the code ships beside it are: the one place that knows (decision 0018).

Migrations (``clickhouse/migrations``), dashboards and Grafana provisioning
(``grafana``), Prometheus and Alertmanager configuration (``prometheus``,
``alertmanager``) and the outbox DDL (``postgres``) live in ``deploy/`` of a checkout,
where the local stack scripts and the compose file use them. A wheel carries copies in
the package, ``ioc/_deploy/`` (``setup.py`` puts them there), so an installed ``ioc``
finds them through :mod:`importlib.resources` whatever the current directory.
Profiles are package data of :mod:`schemas` already (``schemas.province.loading``).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from schemas.errors import IocError

CHECKOUT_ROOT = Path(__file__).resolve().parent.parent
"""The repository root when the code runs from a checkout (editable install)."""
PACKAGED = "_deploy"
_MARKER = Path("clickhouse") / "migrations"


class AssetsNotFoundError(IocError):
    """Neither the installed package nor a checkout has the deploy files."""


def checkout_root() -> Path | None:
    """The checkout the code runs from, or None for an installed wheel."""
    if (CHECKOUT_ROOT / "deploy" / _MARKER).is_dir() and (CHECKOUT_ROOT / "ioc").is_dir():
        return CHECKOUT_ROOT
    return None


@cache
def deploy_dir() -> Path:
    """The deploy files: the wheel's ``ioc/_deploy``, else the checkout's ``deploy/``."""
    packaged = Path(str(resources.files("ioc") / PACKAGED))
    if (packaged / _MARKER).is_dir():
        return packaged
    root = checkout_root()
    if root is not None:
        return root / "deploy"
    raise AssetsNotFoundError(
        f"no deploy files in {packaged} nor in a checkout at {CHECKOUT_ROOT}: "
        "install a wheel built by setup.py (it copies deploy/ into the package)"
    )


def is_packaged() -> bool:
    """True when the files come from an installed wheel (read-only), not a checkout."""
    return deploy_dir().name == PACKAGED


def migrations_dir() -> Path:
    """ClickHouse migrations, ``NNNN_name.sql``."""
    return deploy_dir() / "clickhouse" / "migrations"


def postgres_dir() -> Path:
    """The dossier outbox DDL, ``NNNN_name.sql``."""
    return deploy_dir() / "postgres"


def grafana_dir() -> Path:
    """``dashboards/<language>/*.json`` and ``provisioning/*/*.yaml``."""
    return deploy_dir() / "grafana"


def prometheus_dir() -> Path:
    """``prometheus.yml`` (a template) and ``rules/``."""
    return deploy_dir() / "prometheus"


def alertmanager_dir() -> Path:
    """``alertmanager.yml`` (a template), ``receivers/`` and the message ``templates/``."""
    return deploy_dir() / "alertmanager"


def default_data_dir() -> Path:
    """Local services' data, logs, PIDs: ``.cache`` of a checkout, else ``~/.local/share/ioc``."""
    root = checkout_root()
    return root / ".cache" if root is not None else Path.home() / ".local" / "share" / "ioc"
