"""``python -m ioc.tooling.demo.sink``: ``ioc sink`` on topics with ``IOC_STREAM_TOPIC_SUFFIX``.

``ioc sink`` reads the registry's topic names; the demo's own integration test runs
on suffixed topics (the broker is shared), so it starts the same sink through
``ioc.commands.sink.build_sink`` with the suffix applied. A demo without a suffix
runs ``ioc sink`` itself.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from connectors.sinks.clickhouse.rows import TOPIC_MODELS
from connectors.sinks.clickhouse.sink import ClickHouseSink
from ioc.commands.sink import build_sink
from ioc.settings import Settings
from ioc.version import serve_metrics


async def _serve(sink: ClickHouseSink) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, sink.request_stop)
    await sink.start()
    await sink.run()


def main() -> None:
    """Entry point: settings are built here, once."""
    settings = Settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    suffix = settings.stream_topic_suffix
    topics = {name + suffix: model for name, model in TOPIC_MODELS.items()}
    serve_metrics(settings.sink_metrics_port, addr="127.0.0.1")
    asyncio.run(_serve(build_sink(settings, topics=topics)))


if __name__ == "__main__":
    main()
