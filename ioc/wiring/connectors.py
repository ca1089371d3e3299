"""Settings -> source connectors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import psycopg
from prometheus_client import CollectorRegistry

from connectors.sources.base import ConfigurationError
from connectors.sources.edge import STREAMS, EdgeValidator, TimePolicy, TopicRoutes
from connectors.sources.files import FileConnector
from connectors.sources.http.gateway import GatewayConfig, HttpGateway
from connectors.sources.http.keys import KeyStore
from connectors.sources.mqtt.bridge import BridgeConfig, MqttBridge
from connectors.sources.mqtt.security import MqttLogin, device_password
from connectors.sources.outbox.poller import OutboxConfig, OutboxPoller
from connectors.sources.outbox.position import KafkaTail
from connectors.sources.outbox.sql import apply_ddl, prepare_poller
from connectors.sources.producer import EventProducer
from ioc.assets import postgres_dir
from ioc.kafka_client import kafka_client_options
from ioc.ops import kafka_admin
from ioc.ops.kafka_acls import CONNECTOR_STREAMS
from ioc.settings import Settings
from schemas.privacy import PiiHasher, parse_key_ring
from schemas.topics import DEADLETTER


def hasher(settings: Settings) -> PiiHasher:
    """The keyed hash of personal data."""
    return PiiHasher(settings.pii_hmac_key.get_secret_value().encode(), settings.pii_key_id)


def hasher_ring(settings: Settings) -> list[PiiHasher]:
    """The current hasher and one per rotated-out key (look-ups and erasure)."""
    previous = parse_key_ring(settings.pii_previous_keys.get_secret_value())
    return PiiHasher.ring(hasher(settings), previous)


def validator(settings: Settings) -> EdgeValidator:
    """Edge validation with the clock-skew bound and the replay horizon from settings."""
    policy = TimePolicy(
        max_skew=timedelta(seconds=settings.max_clock_skew_s),
        horizon=timedelta(days=settings.replay_horizon_days),
    )
    return EdgeValidator(hasher(settings), policy)


def routes(settings: Settings) -> TopicRoutes:
    """The registry topics, with the configured suffix (tests, staging)."""
    return TopicRoutes.default(settings.connector_topic_suffix)


def producer_factory(settings: Settings, client_id: str) -> Callable[[], EventProducer]:
    """A fresh acks=all idempotent producer per connection attempt."""

    def make() -> EventProducer:
        return EventProducer(
            kafka_client_options(settings),
            client_id=client_id,
            request_timeout_ms=settings.request_timeout_ms,
        )

    return make


def keys_path(settings: Settings) -> Path:
    """The API keys file: the setting, or <data_dir>/http-api-keys.json."""
    if settings.http_api_keys_file:
        return Path(settings.http_api_keys_file)
    return Path(settings.data_dir) / "http-api-keys.json"


def gateway(
    settings: Settings, *, registry: CollectorRegistry | None = None, port: int | None = None
) -> HttpGateway:
    """The HTTP ingest gateway."""
    config = GatewayConfig(
        host=settings.http_host,
        port=settings.http_port if port is None else port,
        max_body_bytes=settings.http_max_body_bytes,
        max_batch=settings.http_max_batch,
        kafka_timeout_s=settings.http_kafka_timeout_s,
        retry_after_s=settings.http_retry_after_s,
        idempotency_cache=settings.http_idempotency_cache,
        idempotency_cache_bytes=settings.http_idempotency_cache_bytes,
        rate_per_key=settings.http_rate_per_key,
        burst_per_key=settings.http_burst_per_key,
        max_in_flight_per_key=settings.http_max_in_flight_per_key,
        tls_cert_file=settings.http_tls_cert_file,
        tls_key_file=settings.http_tls_key_file,
    )
    return HttpGateway(
        config=config,
        keys=KeyStore.load(keys_path(settings)),
        validator=validator(settings),
        routes=routes(settings),
        producer_factory=producer_factory(settings, "ioc-http-gateway"),
        registry=registry,
    )


def _patterns(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def mqtt_login(settings: Settings, username: str | None = None, password: str = "") -> MqttLogin:
    """How a client reaches the broker: the bridge's account, or ``username``/``password``.

    IOC_MQTT_TLS_CA_FILE: "none" = plain MQTT; "" = the services' CA (``settings.ca_file``:
    IOC_TLS_CA_FILE or the local stack's) when it exists, else the system's CAs; otherwise
    that file.
    """
    ca = settings.mqtt_tls_ca_file
    if ca == "none":
        tls, ca_file = False, None
    elif ca:
        tls, ca_file = True, ca
    else:
        local = settings.ca_file
        tls, ca_file = True, (str(local) if local.is_file() else None)
    if username is None:
        username, password = settings.mqtt_username, settings.mqtt_password.get_secret_value()
    return MqttLogin(username, password, tls, ca_file)


def device_login(settings: Settings, device: str) -> MqttLogin:
    """A local device's (or the test account's) login: its password derived from its id."""
    secret = settings.mqtt_device_secret.get_secret_value()
    return mqtt_login(settings, device, device_password(secret, device))


def bridge(settings: Settings, *, registry: CollectorRegistry | None = None) -> MqttBridge:
    """The MQTT bridge."""
    config = BridgeConfig(
        host=settings.mosquitto_host,
        port=settings.mosquitto_port,
        client_id=settings.mqtt_client_id,
        login=mqtt_login(settings),
        topics={
            "traffic": _patterns(settings.mqtt_traffic_topics),
            "energy": _patterns(settings.mqtt_energy_topics),
        },
        reconnect_min_s=settings.mqtt_reconnect_min_s,
        reconnect_max_s=settings.mqtt_reconnect_max_s,
    )
    return MqttBridge(
        config=config,
        validator=validator(settings),
        routes=routes(settings),
        producer_factory=producer_factory(settings, "ioc-mqtt-bridge"),
        registry=registry,
    )


def pg_conninfo(settings: Settings, role: Literal["system", "poller"] = "system") -> dict[str, Any]:
    """Psycopg keywords for the dossier database, over TLS (``postgres_sslmode``).

    ``system`` is the one-stop-shop system's owner role (init-db, seeding); ``poller`` the
    outbox poller's read-only one (docs/security.md, "PostgreSQL").
    """
    user, password = (
        (settings.postgres_user, settings.postgres_password)
        if role == "system"
        else (settings.outbox_user, settings.outbox_password)
    )
    return {
        "host": settings.postgres_host,
        "port": settings.postgres_port,
        "user": user,
        "password": password.get_secret_value(),
        "dbname": settings.postgres_database,
        "connect_timeout": 5,
        "sslmode": settings.postgres_sslmode,
        "sslrootcert": str(settings.ca_file),
    }


def prepare_outbox_db(settings: Settings) -> list[str]:
    """``ioc connector outbox init-db``: the dossier tables, the poller's position and rights."""
    with psycopg.connect(**pg_conninfo(settings)) as conn:
        applied = apply_ddl(conn, settings.outbox_schema, postgres_dir())
        applied += prepare_poller(
            conn,
            settings.outbox_schema,
            settings.outbox_position_schema,
            postgres_dir(),
            settings.outbox_user,
        )
    return applied


def poller(settings: Settings, *, registry: CollectorRegistry | None = None) -> OutboxPoller:
    """The dossier outbox poller."""
    config = OutboxConfig(
        conninfo=pg_conninfo(settings, "poller"),
        schema=settings.outbox_schema,
        position_schema=settings.outbox_position_schema,
        consumer=settings.outbox_consumer,
        poll_interval_s=settings.outbox_poll_interval_s,
        overlap_ids=settings.outbox_overlap_ids,
        batch_size=settings.outbox_batch_size,
        initial=settings.outbox_initial,
        kafka_timeout_s=settings.request_timeout_ms / 1_000,
    )
    return OutboxPoller(
        config=config,
        validator=validator(settings),
        routes=routes(settings),
        producer_factory=producer_factory(settings, "ioc-outbox-poller"),
        tail_factory=lambda: KafkaTail(kafka_client_options(settings), client_id="ioc-outbox-tail"),
        registry=registry,
    )


def file_connector(
    settings: Settings, *, registry: CollectorRegistry | None = None
) -> FileConnector:
    """The file replay connector."""
    return FileConnector(
        validator=validator(settings),
        routes=routes(settings),
        producer_factory=producer_factory(settings, "ioc-file-connector"),
        registry=registry,
    )


def check_topics(settings: Settings, *, create: bool, extra: dict[str, str] | None = None) -> None:
    """Check (or create) every topic this connector writes, suffix included.

    ``extra`` maps a topic name to the registry topic it copies (a file connector's --topic).
    """
    targets = routes(settings)
    # Only the streams this connector's principal writes (an operator's run: all of them).
    own = CONNECTOR_STREAMS.get(settings.kafka_component)
    names = {
        targets.topic(s): spec.topic
        for s, spec in STREAMS.items()
        if own is None or spec.topic in own
    }
    names[targets.deadletter] = DEADLETTER
    names.update(extra or {})
    kafka_admin.check_topics(settings, names, create=create, missing_error=ConfigurationError)
