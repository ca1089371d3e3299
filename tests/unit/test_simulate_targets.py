"""`ioc simulate --to` chooses Kafka, JSONL files, or the real connectors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ioc.commands.simulate import SimulateUsageError, make_output
from ioc.settings import settings_for_tests
from ioc.tooling.demo.senders import RoutingOutput

pytestmark = pytest.mark.unit


def test_connectors_target_routes_through_gateway_bridge_and_outbox(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("secret-key\n")
    sink = make_output(f"connectors:{key}", settings_for_tests(), "", 100)
    assert isinstance(sink, RoutingOutput)


def test_unknown_target_is_a_usage_error() -> None:
    with pytest.raises(SimulateUsageError, match="connectors:API_KEY_FILE"):
        make_output("carrier-pigeon", settings_for_tests(), "", 100)
