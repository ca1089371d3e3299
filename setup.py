"""Build step of the wheel that pyproject.toml cannot express (decision 0018).

The code finds its migrations, dashboards, alerting rules and DDL through
``ioc.assets``: in a checkout they are in ``deploy/`` (where the local stack scripts
and the compose file use them); a wheel carries copies in ``ioc/_deploy/``, put there
by this ``build_py``, with ``ioc/_build_info.json`` naming the commit it was built from
(``IOC_BUILD_COMMIT`` when set, e.g. by a Docker build without ``.git``; else
``git rev-parse HEAD``; else "unknown"). Editable installs copy nothing: they read
``deploy/`` and ask git directly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
ASSETS = (
    "clickhouse/migrations/*.sql",
    "postgres/*.sql",
    "postgres/position/*.sql",
    "grafana/dashboards/*/*.json",
    "grafana/provisioning/*/*.yaml",
    "prometheus/prometheus.yml",
    "prometheus/rules/*.yml",
    "alertmanager/alertmanager.yml",
    "alertmanager/receivers/*.yml",
    "alertmanager/templates/*.tmpl",
)
"""What ``ioc/_deploy/`` holds, relative to ``deploy/`` (MANIFEST.in puts it in the sdist)."""


def _commit() -> str:
    explicit = os.environ.get("IOC_BUILD_COMMIT", "").strip()
    if explicit:
        return explicit
    try:
        done = subprocess.run(
            ["git", "-C", str(HERE), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        dirty = subprocess.run(
            ["git", "-C", str(HERE), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return "unknown"
    commit = done.stdout.strip()
    if done.returncode != 0 or not commit:
        return "unknown"
    return commit + ("-dirty" if dirty.stdout.strip() else "")


class BuildWithAssets(build_py):
    """``build_py`` that also copies the deploy assets and the build commit into ``ioc``."""

    def run(self) -> None:
        """Build the Python files, then copy the assets and write the build info."""
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "ioc"
        packaged = target / "_deploy"
        shutil.rmtree(packaged, ignore_errors=True)
        copied = 0
        for pattern in ASSETS:
            for source in sorted((HERE / "deploy").glob(pattern)):
                dest = packaged / source.relative_to(HERE / "deploy")
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, dest)
                copied += 1
        if not copied:
            raise SystemExit("deploy/ assets not found: build from a checkout or its sdist")
        info = {"commit": _commit()}
        (target / "_build_info.json").write_text(json.dumps(info) + "\n", encoding="utf-8")


setup(cmdclass={"build_py": BuildWithAssets})
