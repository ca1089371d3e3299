"""``python -m ioc.tooling.bench.sink_proc SUFFIX``: the ClickHouse sink on a bench run's topics.

``ioc sink`` reads the registry's topic names; a bench run has its own suffixed topics
and database (both from the environment's settings), so it starts the same sink here.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from prometheus_client import CollectorRegistry

from connectors.sinks.clickhouse.metrics import SinkMetrics
from connectors.sinks.clickhouse.rows import TOPIC_MODELS
from ioc.commands.sink import _serve, build_sink
from ioc.settings import Settings


def main(argv: list[str]) -> int:
    """Run until SIGTERM."""
    suffix = argv[1] if len(argv) > 1 else ""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    topics = {name + suffix: model for name, model in TOPIC_MODELS.items()}
    sink = build_sink(Settings(), SinkMetrics(CollectorRegistry()), topics)
    asyncio.run(_serve(sink))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
