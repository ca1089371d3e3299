"""The ``ioc notify`` process: the webhook server and the delivery workers, one lifetime."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiohttp import web

from connectors.sinks.notify.app import build_app
from connectors.sinks.notify.delivery import Deliverer
from connectors.sinks.notify.metrics import NotifyMetrics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    host: str = "127.0.0.1"
    port: int = 9096
    """0 picks a free port (tests); :attr:`Notifier.port` then tells which."""
    max_body_bytes: int = 1_048_576
    drain_s: float = 10.0
    """On stop, queued messages get this long to go out before they are dropped."""


class Notifier:
    """A :class:`ioc.process.Service`: start, run until asked to stop, drain, close."""

    def __init__(self, config: NotifyConfig, deliverer: Deliverer, metrics: NotifyMetrics):
        self.config = config
        self.deliverer = deliverer
        self.metrics = metrics
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = config.port

    @property
    def healthy(self) -> bool:
        """Listening, and every channel's worker alive."""
        return self._runner is not None and self.deliverer.running

    async def start(self) -> None:
        """Start the workers, then listen."""
        self.deliverer.start()
        app = build_app(
            self.deliverer,
            self.metrics,
            max_body_bytes=self.config.max_body_bytes,
            accepting=lambda: not self._stopping.is_set(),
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        await site.start()
        self._runner = runner
        # Port 0 (tests) binds a free port: the runner knows which.
        addresses = runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        log.info(
            "ioc notify on %s:%d, channels: %s",
            self.config.host,
            self.port,
            ", ".join(self.deliverer.channels) or "none",
        )

    def request_stop(self) -> None:
        """Refuse new notifications (503), deliver what is queued, then return from run()."""
        self._stopping.set()

    async def run(self) -> None:
        """Until :meth:`request_stop`; then drain the queues and close the server."""
        try:
            await self._stopping.wait()
        finally:
            await self.close()

    async def close(self) -> None:
        """Drain, stop the workers, close the server."""
        self._stopping.set()
        await self.deliverer.stop(self.config.drain_s)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
