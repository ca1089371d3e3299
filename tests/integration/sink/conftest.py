from __future__ import annotations

from collections.abc import Iterator

import pytest

from ioc.ops.db.executors import ClickHouseExecutor
from ioc.ops.db.migrate import migrate


@pytest.fixture
def database(clickhouse: ClickHouseExecutor, unique: str) -> Iterator[str]:
    """A freshly migrated database of the real server, dropped afterwards."""
    name = f"ioc_sink_{unique}"
    migrate(clickhouse, name)
    yield name
    clickhouse.execute(f"DROP DATABASE IF EXISTS {name}")
