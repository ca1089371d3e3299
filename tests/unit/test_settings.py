"""The one settings object: env prefix, secrets masked, test profile."""

from __future__ import annotations

import pytest

from ioc.settings import Settings, settings_for_tests

pytestmark = pytest.mark.unit


def test_env_prefix_and_ports_move(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_CLICKHOUSE_PORT", "19000")
    monkeypatch.setenv("IOC_KAFKA_PORT", "19092")
    settings = Settings()
    assert settings.clickhouse_port == 19000
    assert settings.kafka_bootstrap == "127.0.0.1:19092"


def test_secrets_are_masked_when_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_PII_HMAC_KEY", "super-secret-key")
    settings = Settings()
    assert "super-secret-key" not in repr(settings)
    assert "super-secret-key" not in str(settings.model_dump())
    assert settings.pii_hmac_key.get_secret_value() == "super-secret-key"
    # The shell scripts need the real value to configure services.
    assert "IOC_PII_HMAC_KEY=super-secret-key" in settings.shell_env()


def test_test_profile_is_small_and_fast() -> None:
    settings = settings_for_tests()
    assert settings.environment == "test"
    assert settings.partition_profile == "dev"
    assert settings.consumer_max_poll_interval_ms <= 10_000
    assert Settings(environment="prod").partition_profile == "prod"
