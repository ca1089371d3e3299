"""ClickHouse tests on a server of their own (deploy/local/clickhouse.sh in the test's
folder): they need no Kafka, so the session's registry topics are not created for them."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def registry_topics() -> None:
    """Nothing here writes to Kafka (overrides tests/integration/conftest.py's)."""
