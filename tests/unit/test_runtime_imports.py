"""Run-time code does not need the profile builder's package (vietnamadminunits)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

RUNTIME_MODULES = [
    "ioc.cli",
    "ioc.commands.worker",
    "ioc.commands.sink",
    "ioc.commands.alerter",
    "ioc.commands.connector",
    "ioc.wiring.connectors",
    "ioc.wiring.worker",
    "ioc.wiring.sink",
    "ioc.wiring.alerter",
    "ioc.process",
    "ioc.ops.db.migrate",
    "ioc.ops.grafana.build",
    "streams.runtime.app",
    "streams.detect.profile",
    "connectors.sinks.clickhouse.sink",
    "connectors.sources.http.app",
    "connectors.sources.mqtt.bridge",
    "connectors.sources.outbox.poller",
    "connectors.sinks.alerter.service",
    "ioc.tooling.simulator.runner",
]


def test_runtime_modules_do_not_import_vietnamadminunits() -> None:
    # A fresh interpreter: this test process has imported the builder for other tests.
    script = (
        "import sys, importlib\n"
        f"for name in {RUNTIME_MODULES!r}: importlib.import_module(name)\n"
        "from schemas.province.loading import load_profile\n"
        "from streams.detect.profile import params_from_profile\n"
        "params_from_profile(load_profile())\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'vietnamadminunits'"
        " or m == 'schemas.province.admin_units'"
        " or m.startswith('schemas.province.profiles.'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == ""
