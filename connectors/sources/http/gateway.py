"""The HTTP ingest gateway as a connector: an aiohttp server around the Ingestor."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from connectors.sources.base import ConfigurationError, Connector
from connectors.sources.edge import EdgeValidator, TopicRoutes
from connectors.sources.http.app import build_app
from connectors.sources.http.idempotency import ReplayCache
from connectors.sources.http.ingest import Ingestor
from connectors.sources.http.keys import KeyStore
from connectors.sources.http.limits import KeyLimiter
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
    idempotency_cache_bytes: int = 64 * 1024 * 1024
    rate_per_key: float = 50.0
    """Requests per second per API key (a key's own ``rate`` wins)."""
    burst_per_key: int = 100
    max_in_flight_per_key: int = 8
    tls_cert_file: str = ""
    """PEM certificate chain; with ``tls_key_file`` the gateway serves HTTPS."""
    tls_key_file: str = ""

    def __post_init__(self) -> None:
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ConfigurationError(
                "TLS needs both a certificate and its key file (IOC_HTTP_TLS_CERT_FILE and "
                "IOC_HTTP_TLS_KEY_FILE), or neither"
            )

    @property
    def tls(self) -> bool:
        """True when the gateway serves HTTPS itself."""
        return bool(self.tls_cert_file)


def server_tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A server context: TLS 1.2 at least, the default (secure) ciphers, no client certs."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    for name in (cert_file, key_file):
        if not Path(name).is_file():
            raise ConfigurationError(f"TLS: {name} is not a file")
    try:
        # An empty password: an encrypted key fails here instead of prompting on a terminal.
        context.load_cert_chain(cert_file, key_file, password=lambda: b"")
    except (ssl.SSLError, OSError) as exc:
        raise ConfigurationError(
            f"TLS: cannot load {cert_file} with {key_file} (PEM, the key unencrypted and "
            f"matching the certificate): {exc}"
        ) from None
    return context


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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(registry)
        self.config = config
        self.ssl_context = (
            server_tls_context(config.tls_cert_file, config.tls_key_file) if config.tls else None
        )
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
        self.limiter = KeyLimiter(
            rate=config.rate_per_key,
            burst=config.burst_per_key,
            max_in_flight=config.max_in_flight_per_key,
            clock=clock,
        )
        self.replay = ReplayCache(config.idempotency_cache, config.idempotency_cache_bytes)
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
        self.throttled = Counter(
            "ioc_http_throttled",
            "Requests refused with 429, by the key's source and reason (rate or in_flight)",
            ["source", "reason"],
            registry=self.registry,
        )
        reloads = Counter(
            "ioc_http_key_reloads",
            "Reloads of the API keys file after it changed, by outcome (ok or error)",
            ["outcome"],
            registry=self.registry,
        )
        Gauge("ioc_http_api_keys", "API keys in use", registry=self.registry).set_function(
            lambda: len(self.keys)
        )
        Gauge(
            "ioc_http_api_keys_stale",
            "1 while the keys file's latest version failed to load (older keys in use)",
            registry=self.registry,
        ).set_function(lambda: int(self.keys.stale))
        Gauge(
            "ioc_http_idempotency_cache_bytes",
            "Size of the idempotency replay cache, as its byte budget counts it",
            registry=self.registry,
        ).set_function(lambda: self.replay.bytes)
        Gauge(
            "ioc_http_idempotency_cache_entries",
            "Answers held by the idempotency replay cache",
            registry=self.registry,
        ).set_function(lambda: len(self.replay))

        def reloaded(ok: bool) -> None:
            reloads.labels("ok" if ok else "error").inc()
            if ok:  # a removed key's limiter state goes with it
                self.limiter.forget({k.sha256 for k in self.keys})

        keys.on_reload = reloaded
        self._runner: web.AppRunner | None = None
        self.port = config.port

    @property
    def url(self) -> str:
        """Base URL the gateway listens on (the real port when configured with 0)."""
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.config.host}:{self.port}"

    async def start(self) -> None:
        """Listen at once; Kafka connects in the background (503 until it does)."""
        await self.link.start(wait=False)
        # Once aiohttp's graceful stop begins it reads no more bytes (its data_received
        # drops them), so a request still uploading its body can never finish: waiting
        # aiohttp's default 60 s for it keeps the process past a supervisor's grace (30 s
        # on Kubernetes) and ends in a SIGKILL. A request whose body arrived needs at most
        # the Kafka write: that long and a second is the drain; the rest are cut, unanswered,
        # and their clients send them again.
        self._runner = web.AppRunner(
            build_app(self), access_log=None, shutdown_timeout=self.config.kafka_timeout_s + 1
        )
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, self.config.host, self.config.port, ssl_context=self.ssl_context
        )
        await site.start()
        address = self._runner.addresses[0]
        self.port = int(address[1])

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish, then close the producer."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.link.stop()
