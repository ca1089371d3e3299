"""Where the Kafka brokers are and how our clients talk to them (docs/kafka.md).

A base class of :class:`ioc.settings.Settings`, which alone is built and passed around:
the section lives apart only to keep one file readable.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

KAFKA_BROKERS_DOC = (
    "KRaft nodes of the local stack: node i (0, 1, 2) on kafka_port and kafka_controller_port "
    "+ 100·i; 3 replicates topics 3 times (min.insync.replicas 2)"
)


class KafkaSettings(BaseSettings):
    """The brokers, the local stack's cluster shape, client timeouts."""

    kafka_host: str = "127.0.0.1"
    kafka_port: int = 9092
    kafka_bootstrap_servers: str = Field(
        default="",
        description="A cluster's brokers as host:port,host:port,… (a bootstrap list); "
        "empty = kafka_host:kafka_port",
    )
    kafka_controller_port: int = 19093
    kafka_metrics_port: int = Field(
        default=9404, description="The JMX exporter agent's /metrics of node 1 (+100 per node)"
    )
    kafka_brokers: int = Field(default=1, ge=1, le=3, description=KAFKA_BROKERS_DOC)
    kafka_version: str = "4.4.0"
    replication_factor: int = Field(default=1, description="default: min(3, kafka_brokers)")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="SASL_SSL",
        description="TLS to the brokers (CA: IOC_TLS_CA_FILE) and SASL login; prod refuses "
        "PLAINTEXT",
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_username: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9_.\-]*$",
        description="This process's Kafka principal; empty = ioc-<component> (ioc-sink, …)",
    )
    kafka_password: SecretStr = Field(
        default=SecretStr(""),
        description="Its password; empty = the local stack's (dev and test only)",
    )
    kafka_component: str = Field(
        default="admin",
        exclude=True,  # not passed to child processes: each picks its own
        description="Set by each command (for_component), not by hand",
    )
    consumer_session_timeout_ms: int = 30_000
    consumer_max_poll_interval_ms: int = 300_000
    request_timeout_ms: int = 30_000

    @property
    def kafka_bootstrap(self) -> str:
        """``host:port[,host:port…]`` of the brokers, as every Kafka client expects it.

        The bootstrap list when one is set (a cluster: aiokafka, kafka-python and faust
        all take it comma-separated), else the one broker of ``kafka_host``.
        """
        listed = [b.strip() for b in self.kafka_bootstrap_servers.split(",") if b.strip()]
        nodes = range(self.kafka_brokers)
        return ",".join(listed or [f"{self.kafka_host}:{self.kafka_port + 100 * i}" for i in nodes])

    @model_validator(mode="before")
    @classmethod
    def _replication(cls, data: Any) -> Any:
        """A cluster's topics are replicated unless the replication factor is set."""
        if isinstance(data, dict) and data.get("replication_factor") is None:
            data["replication_factor"] = min(3, int(data.get("kafka_brokers") or 1))
        return data

    def for_component(self, component: str) -> Self:
        """These settings for a process that runs ``component`` (its Kafka principal)."""
        return self.model_copy(update={"kafka_component": component})
