"""The one settings object: env prefix, secrets masked, test profile."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from ioc.settings import Settings, settings_for_tests
from schemas.privacy import PiiHasher, parse_key_ring

pytestmark = pytest.mark.unit


def test_env_prefix_and_ports_move(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_CLICKHOUSE_PORT", "19000")
    monkeypatch.setenv("IOC_KAFKA_PORT", "19092")
    settings = Settings()
    assert settings.clickhouse_port == 19000
    assert settings.kafka_bootstrap == "127.0.0.1:19092"


def test_a_bootstrap_list_replaces_the_one_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    # A cluster (deploy/helm): every client takes the list comma-separated.
    monkeypatch.setenv("IOC_KAFKA_HOST", "ignored")
    monkeypatch.setenv("IOC_KAFKA_BOOTSTRAP_SERVERS", " k-0:9092, k-1:9092,,k-2:9093 ")
    assert Settings().kafka_bootstrap == "k-0:9092,k-1:9092,k-2:9093"


def test_a_local_three_node_cluster_is_the_bootstrap_list_and_replicates_topics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # deploy/local/kafka.sh: node n on kafka_port + 100·(n-1).
    monkeypatch.setenv("IOC_KAFKA_BROKERS", "3")
    monkeypatch.setenv("IOC_KAFKA_PORT", "29092")
    settings = Settings()
    assert settings.kafka_bootstrap == "127.0.0.1:29092,127.0.0.1:29192,127.0.0.1:29292"
    assert settings.replication_factor == 3
    assert settings.env_vars()["IOC_REPLICATION_FACTOR"] == "3"  # what child processes get
    monkeypatch.setenv("IOC_REPLICATION_FACTOR", "2")
    assert Settings().replication_factor == 2  # an explicit factor wins
    monkeypatch.delenv("IOC_KAFKA_BROKERS")
    monkeypatch.delenv("IOC_REPLICATION_FACTOR")
    assert (Settings().kafka_bootstrap, Settings().replication_factor) == ("127.0.0.1:29092", 1)


def test_the_bridge_and_the_poller_reach_their_servers_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ioc.wiring.connectors import bridge, pg_conninfo

    monkeypatch.setenv("IOC_MOSQUITTO_HOST", "mqtt.example.invalid")
    monkeypatch.setenv("IOC_POSTGRES_HOST", "one-stop-shop-db.example.invalid")
    settings = Settings()
    assert pg_conninfo(settings)["host"] == "one-stop-shop-db.example.invalid"
    assert bridge(settings).config.host == "mqtt.example.invalid"
    default = Settings(mosquitto_host="127.0.0.1", postgres_host="127.0.0.1")
    assert pg_conninfo(default)["host"] == "127.0.0.1"


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
    assert Settings(environment="prod", **strong_secrets()).partition_profile == "prod"


def strong_secrets() -> dict[str, object]:
    return {
        name: SecretStr(f"{name}-{'x' * 40}")
        for name in (
            "pii_hmac_key",
            "clickhouse_migrator_password",
            "clickhouse_sink_password",
            "clickhouse_replay_password",
            "clickhouse_reader_password",
            "clickhouse_grafana_password",
            "postgres_password",
            "outbox_password",
            "mqtt_password",
            "grafana_password",
            "prometheus_web_password",
            "alertmanager_web_password",
            "kafka_password",
        )
    }


def test_prod_refuses_default_and_short_secrets_and_names_them() -> None:
    secrets = strong_secrets()
    secrets["pii_hmac_key"] = SecretStr("change-me-local-only")  # the default
    secrets["postgres_password"] = SecretStr("pw-tiny")
    with pytest.raises(ValidationError) as raised:
        Settings(environment="prod", **secrets)
    message = str(raised.value)
    assert "IOC_PII_HMAC_KEY (the default)" in message
    assert "IOC_POSTGRES_PASSWORD (shorter than 16 characters)" in message
    assert "IOC_CLICKHOUSE_SINK_PASSWORD" not in message
    assert "pw-tiny" not in message  # never the value itself


def test_prod_refuses_kafka_in_clear_and_a_missing_kafka_password() -> None:
    with pytest.raises(ValidationError, match="IOC_KAFKA_SECURITY_PROTOCOL=PLAINTEXT"):
        Settings(environment="prod", kafka_security_protocol="PLAINTEXT", **strong_secrets())
    secrets = strong_secrets()
    del secrets["kafka_password"]
    with pytest.raises(ValidationError, match=r"IOC_KAFKA_PASSWORD \(the default\)"):
        Settings(environment="prod", **secrets)


def test_an_invalid_setting_from_the_environment_does_not_echo_the_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IOC_ENVIRONMENT", "prod")
    monkeypatch.setenv("IOC_POSTGRES_PASSWORD", "pw-from-env")
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert "pw-from-env" not in str(raised.value)


def test_prod_checks_the_alert_channels_only_when_they_are_used() -> None:
    Settings(environment="prod", alertmanager_receivers="local", **strong_secrets())
    with pytest.raises(ValidationError, match="IOC_ALERTMANAGER_TELEGRAM_BOT_TOKEN"):
        Settings(environment="prod", alertmanager_receivers="production", **strong_secrets())


def test_dev_and_test_keep_their_local_defaults() -> None:
    assert Settings(environment="dev").pii_hmac_key.get_secret_value() == "change-me-local-only"
    assert settings_for_tests().postgres_password.get_secret_value() == "ioc"


def test_secrets_are_read_from_a_directory_of_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "ioc_pii_hmac_key").write_text("from-a-file-" + "k" * 32)
    (tmp_path / "ioc_postgres_password").write_text("from-a-file-too")
    monkeypatch.setenv("IOC_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("IOC_POSTGRES_PASSWORD", "the-environment-wins")
    settings = Settings()
    assert settings.pii_hmac_key.get_secret_value() == "from-a-file-" + "k" * 32
    assert settings.postgres_password.get_secret_value() == "the-environment-wins"


def test_a_missing_secrets_directory_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("IOC_SECRETS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="is not a directory"):
        Settings()


def test_unset_settings_are_not_exported_as_the_word_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IOC_SECRETS_DIR", raising=False)
    assert "IOC_SECRETS_DIR" not in Settings().shell_env()
    assert "=None" not in Settings().shell_env()


def test_previous_pii_keys_parse_and_never_echo_a_key() -> None:
    ring = parse_key_ring(" k0:old-key-0 , k-1:older:with:colons ")
    assert ring == {"k0": b"old-key-0", "k-1": b"older:with:colons"}
    assert parse_key_ring("") == {}
    with pytest.raises(ValueError, match="#2: expected <key id>:<key>") as raised:
        parse_key_ring("k0:secret-zero,just-a-key")
    assert "secret-zero" not in str(raised.value)
    with pytest.raises(ValueError, match="'k0' appears twice"):
        parse_key_ring("k0:a,k0:b")


def test_a_previous_key_may_not_reuse_the_current_id() -> None:
    with pytest.raises(ValidationError, match="names the current key id 'k1'"):
        Settings(pii_key_id="k1", pii_previous_keys=SecretStr("k1:whatever"))
    Settings(pii_key_id="k2", pii_previous_keys=SecretStr("k1:whatever"))


def test_prod_refuses_a_short_previous_key_by_its_id() -> None:
    secrets = strong_secrets()
    secrets["pii_previous_keys"] = SecretStr("k0:" + "x" * 10)
    with pytest.raises(ValidationError, match=r"IOC_PII_PREVIOUS_KEYS \(key k0 shorter"):
        Settings(environment="prod", pii_key_id="k1", **secrets)


def test_the_key_ring_hashes_one_person_once_per_key() -> None:
    ring = PiiHasher.ring(PiiHasher(b"new", "k1"), parse_key_ring("k0:old"))
    assert [h.key_id for h in ring] == ["k1", "k0"]
    digests = {h.hash("079201000001") for h in ring}
    assert len(digests) == 2
    assert PiiHasher(b"old", "k0").hash("0792 0100 0001") in digests  # normalised alike
