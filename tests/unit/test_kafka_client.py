"""Every Kafka client's options come from one function: brokers, TLS, SASL, principal."""

from __future__ import annotations

import ssl

import certifi
import pytest
from pydantic import SecretStr

from ioc.kafka_client import kafka_client_options, librdkafka_options, local_password
from ioc.settings import Settings, settings_for_tests
from schemas.errors import IocError


def tls(**overrides: object) -> Settings:
    """Test settings trusting a CA bundle that exists on any machine (certifi's)."""
    return settings_for_tests(tls_ca_file=certifi.where(), **overrides)


def test_the_default_is_tls_and_scram_as_the_admin_principal() -> None:
    options = kafka_client_options(tls())
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "ioc-admin"
    assert options["sasl_plain_password"] == local_password("ioc-admin")
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_a_command_logs_in_as_its_component_unless_a_user_is_set() -> None:
    sink = tls().for_component("sink")
    assert kafka_client_options(sink)["sasl_plain_username"] == "ioc-sink"
    named = tls(kafka_username="prov-sink", kafka_password=SecretStr("s" * 20))
    options = kafka_client_options(named.for_component("sink"))
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "prov-sink",
        "s" * 20,
    )


def test_the_component_is_not_passed_to_child_processes() -> None:
    env = tls().for_component("worker").env_vars()
    assert "IOC_KAFKA_COMPONENT" not in env


def test_plaintext_has_neither_tls_nor_sasl() -> None:
    options = kafka_client_options(tls(kafka_security_protocol="PLAINTEXT"))
    assert set(options) == {"bootstrap_servers", "security_protocol"}


def test_librdkafka_names_the_same_things() -> None:
    settings = tls().for_component("worker")
    options = librdkafka_options(settings)
    assert options["security.protocol"] == "sasl_ssl"
    assert options["sasl.username"] == "ioc-worker"
    assert options["ssl.ca.location"] == str(settings.ca_file)


def test_a_missing_ca_file_is_a_clear_error() -> None:
    with pytest.raises(IocError, match=r"needs the CA file /nowhere/ca\.pem"):
        kafka_client_options(settings_for_tests(tls_ca_file="/nowhere/ca.pem"))
