"""How every Kafka client of ours connects: brokers, TLS, SASL and whose principal.

One function, :func:`kafka_client_options`, gives the keyword arguments that aiokafka
(the connectors, the sink, the alerter, faust's own clients through
``streams.runtime.app``) and kafka-python (``ioc topics``, replay, the tests) both take:
``bootstrap_servers``, ``security_protocol``, ``ssl_context``, ``sasl_mechanism``,
``sasl_plain_username`` and ``sasl_plain_password``. So a client cannot be built with
one half of the security settings.

Each process is one principal (decision 0039, docs/security.md "Kafka"):
``IOC_KAFKA_USERNAME`` when set (production: each Deployment its own user and
``IOC_KAFKA_PASSWORD``), else ``ioc-<component>`` where the component is what the
command runs (``ioc sink`` → ``ioc-sink``; :meth:`Settings.for_component`), and
``ioc-admin`` for operator commands and the tests. Without a password, dev and test use
the local stack's password of that principal (:func:`local_password`); production
refuses to start (ioc/secret_policy.py).
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any, Literal

from schemas.errors import IocError

if TYPE_CHECKING:
    from ioc.settings import Settings

Component = Literal[
    "gateway", "bridge", "outbox", "file", "worker", "sink", "alerter", "admin", "simulator"
]
COMPONENTS: tuple[Component, ...] = (
    "gateway",
    "bridge",
    "outbox",
    "file",
    "worker",
    "sink",
    "alerter",
    "admin",
    "simulator",
)
"""Every principal of the pipeline, one per kind of process (ACLs: ioc/ops/kafka_acls.py)."""

BROKER_USER = "ioc-broker"
"""The local stack's brokers talk to each other as this SCRAM user (a super user)."""
CONTROLLER_USER = "ioc-controller"
"""…and to the KRaft controllers as this SASL/PLAIN user (controllers cannot read SCRAM
credentials, which live in the metadata they serve)."""


def principal_name(component: str) -> str:
    """The SCRAM user of a component: ``ioc-<component>``."""
    return f"ioc-{component}"


def local_password(user: str) -> str:
    """The local stack's password of ``user``: for 127.0.0.1 only, refused in production.

    deploy/local/kafka.sh creates every principal with it (``ioc.tooling.kafka_accounts``),
    so any process of the local stack or the tests can log in as its component.
    """
    return f"{user}-local-only"


def client_user(settings: Settings) -> str:
    """The principal this process logs in as."""
    return settings.kafka_username or principal_name(settings.kafka_component)


def client_password(settings: Settings) -> str:
    """Its password: the setting, else (dev, test) the local stack's."""
    given = settings.kafka_password.get_secret_value()
    return given or local_password(client_user(settings))


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """TLS that checks the broker's certificate and host name against our CA."""
    if not settings.ca_file.is_file():
        raise IocError(
            f"Kafka over TLS needs the CA file {settings.ca_file} (IOC_TLS_CA_FILE; the local "
            "stack writes its own on start): it does not exist"
        )
    context = ssl.create_default_context(cafile=str(settings.ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def kafka_client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of an aiokafka or kafka-python client for these settings."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": protocol,
    }
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl_context(settings)
    if protocol.startswith("SASL_"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = client_user(settings)
        options["sasl_plain_password"] = client_password(settings)
    return options


def librdkafka_options(settings: Settings) -> dict[str, str]:
    """The same as librdkafka properties (kcat ``-X``, confluent-kafka, Quix Streams)."""
    options = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "security.protocol": settings.kafka_security_protocol.lower(),
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl.ca.location"] = str(settings.ca_file)
    if settings.kafka_security_protocol.startswith("SASL_"):
        options["sasl.mechanisms"] = settings.kafka_sasl_mechanism
        options["sasl.username"] = client_user(settings)
        options["sasl.password"] = client_password(settings)
    return options
