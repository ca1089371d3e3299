"""Kafka refuses who it should (issue 16, decision 0039): on the local stack's real broker.

Each refusal is checked beside the same client doing its own job, so a test cannot pass
because the broker is simply down or the topic missing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import ssl
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import GroupAuthorizationFailedError, TopicAuthorizationFailedError

from ioc.kafka_client import kafka_client_options
from ioc.ops.kafka_admin import admin_client, ensure_topics
from ioc.settings import Settings, settings_for_tests
from schemas.topics import registry

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def topics() -> dict[str, str]:
    """The registry's topics with a suffix of this module's own."""
    settings = settings_for_tests()
    suffix = ".it-kafka-security"
    specs = [dataclasses.replace(s, name=s.name + suffix) for s in registry()]
    admin = admin_client(settings)
    try:
        ensure_topics(admin, specs, profile="dev", replication_factor=settings.replication_factor)
    finally:
        admin.close()
    return {s.name.removesuffix(suffix): s.name for s in specs}


def as_component(component: str, **overrides: object) -> dict[str, Any]:
    return kafka_client_options(settings_for_tests(**overrides).for_component(component))


def produce(options: dict[str, Any], topic: str) -> None:
    # Not idempotent: a principal without any WRITE is then refused on the topic itself
    # (TopicAuthorization), not on the producer id (ClusterAuthorization).
    producer = KafkaProducer(**options, acks="all", enable_idempotence=False, max_block_ms=10_000)
    try:
        producer.send(topic, b'{"probe": true}', key=b"probe").get(timeout=15)
    finally:
        producer.close(timeout=5)


def consume(options: dict[str, Any], topic: str, group: str | None = None) -> int:
    consumer = KafkaConsumer(
        topic, **options, group_id=group, auto_offset_reset="earliest", consumer_timeout_ms=4_000
    )
    try:
        return sum(1 for _ in consumer)
    finally:
        consumer.close()


def cannot_read(component: str, topic: str) -> bool:
    """The component reads nothing of a topic the admin reads records from.

    A principal with some right on the topic (DESCRIBE) gets an authorization error; one
    with none does not even see the topic, and its consumer reads nothing.
    """
    assert consume(as_component("admin"), topic) >= 1, f"nothing in {topic} to refuse"
    try:
        return consume(as_component(component), topic) == 0
    except TopicAuthorizationFailedError:
        return True


async def _connect(options: dict[str, Any]) -> None:
    producer = AIOKafkaProducer(**options, request_timeout_ms=5_000)
    try:
        await producer.start()
    finally:
        await producer.stop()


def refused_at_connect(options: dict[str, Any], caplog: pytest.LogCaptureFixture) -> str:
    """The client cannot even connect; what aiokafka logged about why."""
    with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(KafkaConnectionError):
        asyncio.run(_connect(options))
    return caplog.text


def test_the_stack_runs_kafka_over_tls_with_scram() -> None:
    settings = Settings()
    assert settings.kafka_security_protocol == "SASL_SSL"
    assert settings.kafka_sasl_mechanism == "SCRAM-SHA-512"


def test_a_client_without_credentials_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    bootstrap = settings_for_tests().kafka_bootstrap
    refused_at_connect({"bootstrap_servers": bootstrap}, caplog)  # plaintext to a TLS port
    tls_only = as_component("admin")
    for key in ("sasl_mechanism", "sasl_plain_username", "sasl_plain_password"):
        tls_only.pop(key)
    tls_only["security_protocol"] = "SSL"
    refused_at_connect(tls_only, caplog)  # TLS, but no login


def test_a_wrong_password_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    options = as_component("gateway") | {"sasl_plain_password": "not-the-password"}
    assert "SaslAuthenticationFailed" in refused_at_connect(options, caplog)
    unknown = as_component("gateway") | {"sasl_plain_username": "ioc-intruder"}
    assert "SaslAuthenticationFailed" in refused_at_connect(unknown, caplog)


def test_a_client_that_does_not_trust_our_ca_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    options = as_component("gateway")
    options["ssl_context"] = ssl.create_default_context()  # the system's CAs, not ours
    assert "CERTIFICATE_VERIFY_FAILED" in refused_at_connect(options, caplog)


def test_a_connector_writes_its_own_source_and_nothing_else(topics: dict[str, str]) -> None:
    produce(as_component("gateway"), topics["ioc.qr.scans.v1"])  # its job
    produce(as_component("bridge"), topics["ioc.traffic.obs.v1"])  # its job
    with pytest.raises(TopicAuthorizationFailedError):
        produce(as_component("bridge"), topics["ioc.dossier.status.v1"])  # the outbox's
    with pytest.raises(TopicAuthorizationFailedError):
        produce(as_component("gateway"), topics["ioc.kpi.v1"])  # the worker's results
    assert cannot_read("gateway", topics["ioc.qr.scans.v1"])  # reading citizens' scans
    assert cannot_read("bridge", topics["ioc.qr.scans.v1"])


def test_the_sink_reads_and_never_writes(topics: dict[str, str]) -> None:
    produce(as_component("admin"), topics["ioc.kpi.v1"])
    assert consume(as_component("sink"), topics["ioc.kpi.v1"], "ioc-sink-it-security") >= 1
    with pytest.raises(TopicAuthorizationFailedError):
        produce(as_component("sink"), topics["ioc.qr.scans.v1"])
    with pytest.raises(GroupAuthorizationFailedError):
        consume(as_component("sink"), topics["ioc.kpi.v1"], "ioc-worker-it-security")


def test_the_alerter_reads_anomalies_only(topics: dict[str, str]) -> None:
    produce(as_component("admin"), topics["ioc.anomalies.v1"])
    assert consume(as_component("alerter"), topics["ioc.anomalies.v1"]) >= 1
    produce(as_component("admin"), topics["ioc.qr.scans.v1"])
    assert cannot_read("alerter", topics["ioc.qr.scans.v1"])
    with pytest.raises(TopicAuthorizationFailedError):
        produce(as_component("alerter"), topics["ioc.anomalies.v1"])


def test_the_worker_cannot_join_the_sinks_group(topics: dict[str, str]) -> None:
    with pytest.raises(GroupAuthorizationFailedError):
        consume(as_component("worker"), topics["ioc.kpi.v1"], "ioc-sink")
