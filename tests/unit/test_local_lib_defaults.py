"""deploy/local/lib.sh's fallback (no .venv yet) uses the settings object's defaults."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PROJECT = Path(__file__).resolve().parents[2]
LIB = PROJECT / "deploy" / "local" / "lib.sh"


def _exports(text: str) -> dict[str, str]:
    return dict(re.findall(r"^export (IOC_[A-Z_]+)=(.*)$", text, re.MULTILINE))


def test_every_fallback_default_equals_the_settings_default(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    settings = subprocess.run(
        [sys.executable, "-m", "ioc.settings", "shell-env"],
        cwd=PROJECT,
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    wanted = {k: v.strip("'\"") for k, v in _exports(settings).items()}
    # REPO_ROOT without a .venv: lib.sh must fall back to its own defaults.
    script = f'REPO_ROOT="{tmp_path}"; source "{LIB}"; REPO_ROOT="{tmp_path}"; load_settings; env'
    fallback = subprocess.run(
        ["bash", "-c", script], env=clean, capture_output=True, text=True, check=True
    ).stdout
    got = dict(line.split("=", 1) for line in fallback.splitlines() if line.startswith("IOC_"))
    template = (PROJECT / "deploy" / "alertmanager" / "alertmanager.yml").read_text()
    needed = set(re.findall(r"\$\{(IOC_[A-Z_]+)\}", template))
    assert needed <= set(got), sorted(needed - set(got))
    differing = {
        k: (got[k], wanted[k])
        for k in got
        if k in wanted
        and k != "IOC_DATA_DIR"
        and k != "IOC_LOCAL_SETTINGS_LOADED"
        and got[k] != wanted[k]
    }
    assert not differing, differing
