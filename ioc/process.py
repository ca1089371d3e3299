"""One way to run a service process: logging, /metrics, signals, a loud exit.

Every long-running ``ioc`` command (the connectors, the sink, the alerter, the
worker) starts here: logs on stderr as text or JSON lines (``IOC_LOG_FORMAT``), a
/metrics endpoint with the build info when its port is set, SIGINT/SIGTERM asking the
service to stop. An exception that ends a service ends the process with it, so a
supervisor (systemd, Kubernetes, ``ioc demo``) sees a non-zero exit and restarts it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Protocol

from prometheus_client import REGISTRY, CollectorRegistry
from pythonjsonlogger.json import JsonFormatter

from ioc.settings import Settings
from ioc.version import serve_metrics

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class Service(Protocol):
    """What :func:`serve` runs: the sink, the alerter, a connector (see :class:`Connected`)."""

    @property
    def healthy(self) -> bool:
        """Doing its job right now (/health answers 503 otherwise)."""

    async def start(self) -> None:
        """Connect; raise if a service it needs does not answer."""

    async def run(self) -> None:
        """Work until :meth:`request_stop`; then release everything and return."""

    def request_stop(self) -> None:
        """Ask :meth:`run` to finish (called from a signal handler)."""


def configure_logging(settings: Settings, level: int = logging.INFO) -> None:
    """Logs on stderr, in the format the settings ask for."""
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(
            JsonFormatter(TEXT_FORMAT, rename_fields={"levelname": "level", "name": "logger"})
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def expose_metrics(
    settings: Settings,
    metrics_port: int,
    registry: CollectorRegistry = REGISTRY,
    health: Callable[[], bool] | None = None,
) -> None:
    """/metrics of ``registry`` (with ``ioc_build_info``) and /health, unless the port is 0.

    Bound to ``settings.metrics_host``; /health answers 200 while ``health()`` is true.
    """
    if metrics_port:
        serve_metrics(metrics_port, registry, addr=settings.metrics_host, health=health)


async def serve(service: Service) -> None:
    """Start ``service``, run it until a signal asks it to stop."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, service.request_stop)
    await service.start()
    await service.run()


def run_service(
    settings: Settings,
    build: Callable[[], Service],
    *,
    metrics_port: int,
    registry: CollectorRegistry = REGISTRY,
) -> None:
    """The whole life of a service process: logging and /metrics first, then ``build()``."""
    configure_logging(settings)
    service: Service | None = None  # /health is served before the service exists

    def healthy() -> bool:
        return service is not None and service.healthy

    expose_metrics(settings, metrics_port, registry, health=healthy)
    service = build()
    asyncio.run(serve(service))


class _Link(Protocol):
    @property
    def healthy(self) -> bool: ...


class Startable(Protocol):
    """A source connector: started, then stopped (it runs in its own tasks)."""

    @property
    def link(self) -> _Link:
        """Its Kafka producer link."""

    async def start(self) -> None:
        """Connect and begin."""

    async def stop(self) -> None:
        """Flush and release."""


class Connected:
    """A connector (start/stop) as a :class:`Service`, with an optional background task.

    ``wait`` is the connector's own loop (the bridge's worker, the poller's polling):
    when it returns or raises, the service stops, and its exception ends the process.
    """

    def __init__(
        self, connector: Startable, wait: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self._connector = connector
        self._wait = wait
        self._stop: asyncio.Event | None = None

    @property
    def healthy(self) -> bool:
        """The connector's Kafka link is up and its last write was acknowledged."""
        return self._connector.link.healthy

    async def start(self) -> None:
        """Start the connector."""
        self._stop = asyncio.Event()
        await self._connector.start()

    def request_stop(self) -> None:
        """Stop at the next turn of the loop."""
        if self._stop is not None:
            self._stop.set()

    async def run(self) -> None:
        """Until a stop is asked or the background task ends; then stop the connector."""
        assert self._stop is not None, "start() first"
        waiters: list[asyncio.Future[object]] = [asyncio.ensure_future(self._stop.wait())]
        if self._wait is not None:
            waiters.append(asyncio.ensure_future(self._wait()))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await self._connector.stop()
        for waiter in waiters[1:]:  # a background task that died: exit non-zero, loudly
            if waiter.done() and not waiter.cancelled() and waiter.exception() is not None:
                raise waiter.exception()  # type: ignore[misc]
