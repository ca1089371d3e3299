"""The HTTP ingest gateway as a connector: an aiohttp server around the Ingestor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram

from connectors.sources.base import Connector
from connectors.sources.edge import EdgeValidator, TopicRoutes
from connectors.sources.http.app import build_app
from connectors.sources.http.idempotency import ReplayCache
from connectors.sources.http.ingest import Ingestor
from connectors.sources.http.keys import KeyStore
from connectors.sources.link import KafkaLink
from connectors.sources.producer import EventProducer


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Where the gateway listens and what it accepts (from settings at the entry point)."""

    host: str = "127.0.0.1"
    port: int = 8088
    max_body_bytes: int = 1_048_576
    max_batch: int = 1_000
    kafka_timeout_s: float = 10.0
    retry_after_s: int = 5
    idempotency_cache: int = 10_000


class HttpGateway(Connector):
    """POST /v1/streams/{stream}/events -> Kafka, answered after the broker acknowledged."""

    name = "http"

    def __init__(
        self,
        *,
        config: GatewayConfig,
        keys: KeyStore,
        validator: EdgeValidator,
        routes: TopicRoutes,
        producer_factory: Callable[[], EventProducer],
        registry: CollectorRegistry | None = None,
    ) -> None:
        super().__init__(registry)
        self.config = config
        self.keys = keys
        self.link = KafkaLink(producer_factory, self.metrics.kafka_up)
        self.ingestor = Ingestor(
            validator=validator,
            routes=routes,
            link=self.link,
            metrics=self.metrics,
            max_batch=config.max_batch,
            kafka_timeout_s=config.kafka_timeout_s,
        )
        self.replay = ReplayCache(config.idempotency_cache)
        self.http_requests = Counter(
            "ioc_http_requests",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.http_seconds = Histogram(
            "ioc_http_request_seconds",
            "HTTP request latency, Kafka acknowledgement included",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
        )
        self._runner: web.AppRunner | None = None
        self.port = config.port

    @property
    def url(self) -> str:
        """Base URL the gateway listens on (the real port when configured with 0)."""
        return f"http://{self.config.host}:{self.port}"

    async def start(self) -> None:
        """Listen at once; Kafka connects in the background (503 until it does)."""
        await self.link.start(wait=False)
        self._runner = web.AppRunner(build_app(self), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        address = self._runner.addresses[0]
        self.port = int(address[1])

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish, then close the producer."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.link.stop()
