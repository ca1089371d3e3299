"""The one small interface every source connector implements, and its errors.

A connector is started, runs until stopped, and exposes its own Prometheus
metrics on a registry of its own (so two instances in one process, as in the
tests, never collide on metric names).
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Self

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from schemas.errors import IocError

if TYPE_CHECKING:
    from connectors.sources.link import KafkaLink


class ConnectorError(IocError):
    """A connector cannot do its work (bad configuration, a source that refuses us)."""


class ConfigurationError(ConnectorError):
    """A connector was configured with something it cannot use (keys file, field map...)."""


class ConnectorMetrics:
    """The counters every connector keeps, labelled by stream and outcome.

    Outcomes: ``accepted`` (acknowledged by Kafka), ``rejected`` (dead-lettered or
    refused), ``duplicate`` (a retry or redelivery already written, not written again).
    So ``received = accepted + rejected + duplicate`` holds for every connector.
    """

    def __init__(self, connector: str, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.events = Counter(
            "ioc_connector_events",
            "Events handled by the connector, by stream and outcome",
            ["connector", "stream", "outcome"],
            registry=registry,
        ).labels
        self.dead_letters = Counter(
            "ioc_connector_dead_letters",
            "Payloads dead-lettered, by stream and reason",
            ["connector", "stream", "reason"],
            registry=registry,
        ).labels
        self.produce_seconds = Histogram(
            "ioc_connector_produce_seconds",
            "Time until Kafka acknowledged a produced batch",
            ["connector"],
            registry=registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        ).labels(connector)
        self.kafka_up = Gauge(
            "ioc_connector_kafka_up",
            "1 while the connector's Kafka producer is connected",
            ["connector"],
            registry=registry,
        ).labels(connector)
        self.connector = connector

    def count(self, stream: str, outcome: str, n: int = 1) -> None:
        """Add ``n`` events of one outcome."""
        if n:
            self.events(self.connector, stream, outcome).inc(n)

    def dead_lettered(self, stream: str, reason: str) -> None:
        """One payload went to the dead-letter topic."""
        self.dead_letters(self.connector, stream, reason).inc()


class Connector(abc.ABC):
    """Start, run until stopped, stop. Metrics live on ``self.registry``."""

    name: ClassVar[str]
    link: KafkaLink
    """Its producer to Kafka; ``link.healthy`` is the connector's health."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.metrics = ConnectorMetrics(self.name, self.registry)

    @abc.abstractmethod
    async def start(self) -> None:
        """Connect to the source and to Kafka and begin work."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Finish in-flight work (acknowledged writes only), then disconnect."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
