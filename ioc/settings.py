"""The one settings object of the project.

Built once at the entry point (the ``ioc`` command line, the local-stack scripts
through ``python -m ioc.settings shell-env``, the test session) and passed down;
nothing else in the code base reads the environment.
"""

from __future__ import annotations

import os
import shlex
import sys
from functools import cached_property
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

from ioc.assets import CHECKOUT_ROOT, default_data_dir
from ioc.secret_policy import SECRETS_DIR_ENV, settings_problem
from ioc.settings_clickhouse import ClickHouseSettings
from ioc.settings_kafka import KafkaSettings
from ioc.settings_notify import NotifySettings
from ioc.settings_postgres import PostgresSettings

PROJECT_ROOT = CHECKOUT_ROOT
"""The checkout, for tests and dev scripts; product code finds its files via ioc.assets."""

Environment = Literal["dev", "test", "prod"]


class Settings(KafkaSettings, ClickHouseSettings, NotifySettings, PostgresSettings):
    """Everything that differs between a laptop, CI and a province's servers."""

    model_config = SettingsConfigDict(
        env_prefix="IOC_",
        env_file=None,
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,  # a validation error must not print the secrets it read
    )

    environment: Environment = "dev"
    secrets_dir: Path | None = Field(
        default=None,
        description=f"Set as {SECRETS_DIR_ENV}: read secrets from one file each (secret_policy)",
    )
    metrics_host: str = Field(
        default="127.0.0.1",
        description="Address every /metrics binds to (0.0.0.0 for a cluster's Prometheus)",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Service logs on stderr: text lines, or one JSON object per line (for Loki)",
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where local services keep data, logs and PIDs (checkout: .cache)",
    )
    tls_ca_file: str = Field(
        default="",
        description="CA our clients trust for the services' TLS; empty: the local stack's own",
    )

    # --- Other services (the local stack's, unless a host is set) ----------------
    prometheus_port: int = 9090
    alertmanager_port: int = 9093
    # Both behind their --web.config.file: HTTPS and basic auth (decision 0034).
    monitoring_tls: bool = Field(default=True, description="Prometheus and Alertmanager use HTTPS")
    monitoring_ca_file: str = Field(
        default="", description="The CA their clients trust; empty = IOC_TLS_CA_FILE's"
    )
    prometheus_web_user: str = Field(default="ioc", pattern=r"^[A-Za-z0-9_.\-]+$")
    prometheus_web_password: SecretStr = SecretStr("change-me-prometheus")
    alertmanager_web_user: str = Field(default="ioc", pattern=r"^[A-Za-z0-9_.\-]+$")
    alertmanager_web_password: SecretStr = SecretStr("change-me-alertmanager")
    mosquitto_host: str = Field(default="127.0.0.1", description="The MQTT broker the bridge reads")
    mosquitto_port: int = 1883

    # --- Stream semantics --------------------------------------------------------
    generation: int = Field(default=1, ge=0, lt=2**32)
    allowed_lateness_s: int = 120
    max_clock_skew_s: int = 300
    replay_horizon_days: int = 30
    raw_retention_days: int = Field(
        default=90, description="Raw events (personal data) are kept this long"
    )
    display_timezone: str = "Asia/Ho_Chi_Minh"

    # --- Stream workers (ioc worker) ---------------------------------------------
    province_profile: str = Field(
        default="binh-phuoc-2021", description="A shipped profile's name, or a profile file"
    )
    stream_app_id: str = Field(default="ioc-worker", pattern=r"^[A-Za-z0-9_.\-]+$")
    stream_topic_suffix: str = Field(
        default="", description="Appended to every topic a worker reads or writes (tests)"
    )
    stream_store: str = "memory://"
    stream_batch_size: int = Field(default=1_000, ge=1)
    stream_batch_within_s: float = Field(default=0.2, gt=0)
    stream_commit_interval_s: float = Field(default=2.0, gt=0)
    stream_tick_interval_s: float = Field(
        default=10.0, ge=0, description="Idle partitions get a control tick this often; 0 = never"
    )
    stream_metrics_port: int = Field(default=9483, ge=0, description="/metrics; 0 = none")
    stream_empty_state_from: Literal["log-start", "group"] = Field(
        default="log-start",
        description="Where a partition whose state applied nothing starts: the log's start "
        "(nothing acked unapplied is lost) or the group's committed offset (a new app id "
        "started from a reset group, to skip a backlog; decision 0014)",
    )
    dossier_retention_days: int = Field(
        default=45, ge=1, description="A finished dossier is remembered this long"
    )

    # --- Replay (ioc replay rebuild) -----------------------------------------------
    replay_lookback_s: int = Field(
        default=86_400,
        ge=0,
        description="A rebuild reads this much (+ lateness + skew) before --from: the "
        "largest telemetry window, so windows in range are complete",
    )

    # --- Detection (thresholds, calendar and silence periods are in the profile) ------
    silence_lag_threshold_s: int = Field(
        default=60, ge=0, description="No new silence opens while consumer lag is above this"
    )

    # --- Personal data -----------------------------------------------------------
    pii_hmac_key: SecretStr = SecretStr("change-me-local-only")
    pii_key_id: str = Field(default="k1", pattern=r"^[A-Za-z0-9_.\-]{1,32}$")
    pii_previous_keys: SecretStr = Field(
        default=SecretStr(""),
        description="Keys rotated out, 'id:key,id:key': new events use the current key, "
        "look-ups and erasure also hash with these (docs/security.md)",
    )

    # --- Connectors (sources -> Kafka) -------------------------------------------
    # Scalars only (lists as comma-separated text): shell_env() round-trips them.
    connector_topic_suffix: str = Field(
        default="", description="Appended to every topic a connector writes (tests, staging)"
    )
    http_host: str = "127.0.0.1"
    http_port: int = 8088
    http_api_keys_file: str = Field(
        default="",
        description="JSON file of hashed API keys; empty = <data_dir>/http-api-keys.json",
    )
    http_max_body_bytes: int = Field(default=1_048_576, ge=1_024)
    http_max_batch: int = Field(default=1_000, ge=1)
    http_kafka_timeout_s: float = Field(default=10.0, gt=0)
    http_retry_after_s: int = Field(default=5, ge=1)
    http_idempotency_cache: int = Field(
        default=10_000, ge=0, description="Answers kept for Idempotency-Key retries; 0 = none"
    )
    http_idempotency_cache_bytes: int = Field(
        default=64 * 1024 * 1024, ge=0, description="Byte budget of those answers (64 MiB)"
    )
    http_rate_per_key: float = Field(
        default=50.0, gt=0, description="Requests/s per API key (a key's own 'rate' wins); 429"
    )
    http_burst_per_key: int = Field(
        default=100, ge=1, description="Requests an API key may send at once after a pause"
    )
    http_max_in_flight_per_key: int = Field(
        default=8, ge=1, description="Requests of one API key in progress at once; 429 above"
    )
    http_tls_cert_file: str = Field(
        default="", description="PEM certificate chain: the gateway serves HTTPS (with the key)"
    )
    http_tls_key_file: str = Field(default="", description="PEM private key (unencrypted)")
    mqtt_client_id: str = "ioc-mqtt-bridge"
    mqtt_username: str = "ioc-bridge"
    mqtt_password: SecretStr = SecretStr("ioc-bridge-local")
    mqtt_tls_ca_file: str = Field(
        default="",
        description="Broker CA: '' = IOC_TLS_CA_FILE's if it exists, else system's; none = plain",
    )
    mqtt_device_secret: SecretStr = Field(
        default=SecretStr("ioc-local-devices"), description="Local device passwords: HMAC of the id"
    )
    mqtt_traffic_topics: str = "city/traffic/+/obs"
    mqtt_energy_topics: str = "city/energy/+/reading"
    mqtt_reconnect_min_s: int = Field(default=1, ge=1)
    mqtt_reconnect_max_s: int = Field(default=30, ge=1)
    mqtt_metrics_port: int = 9481

    # --- Alerts (ioc alerter, deploy/alertmanager) and dashboards (ioc grafana) -------
    alerter_topic: str = Field(default="ioc.anomalies.v1", description="Compacted anomalies topic")
    alerter_repost_interval_s: float = Field(
        default=60.0, gt=0, description="Open alerts are re-posted this often; endsAt = now + 4×"
    )
    alerter_resolved_horizon_s: float = Field(
        default=86_400.0, ge=0, description="On start, resolves older than this are not re-sent"
    )
    alerter_backoff_max_s: float = Field(default=30.0, gt=0)
    alerter_generation_refresh_s: float = Field(
        default=30.0, ge=0, description="Re-read live_generation this often; 0 = the setting only"
    )
    alerter_metrics_port: int = Field(default=9484, ge=0, description="/metrics; 0 = none")
    alertmanager_host: str = "127.0.0.1"
    # Rendered into deploy/alertmanager/alertmanager.yml by deploy/local/alertmanager.sh.
    alertmanager_group_wait: str = "30s"
    alertmanager_group_interval: str = "5m"
    alertmanager_repeat_interval: str = "4h"
    alertmanager_receivers: Literal["local", "production"] = Field(
        default="local",
        description="local: every receiver posts to the local alert receiver only; "
        "production: the IOC webhook, e-mail and Telegram (deploy/alertmanager/receivers/)",
    )
    alert_receiver_port: int = Field(
        default=9095, description="The local stack's alert receiver (deploy/local)"
    )
    alertmanager_webhook_url: str = Field(
        default="http://127.0.0.1:9095/ioc-alerts",
        description="Every receiver's webhook: the local alert receiver, or the IOC's endpoint",
    )
    alertmanager_watchdog_url: str = Field(
        default="http://127.0.0.1:9095/watchdog",
        description="Production: the outside heartbeat the always-firing IocWatchdog posts to",
    )
    alertmanager_smtp_smarthost: str = "127.0.0.1:25"
    alertmanager_smtp_from: str = "ioc-alerts@example.invalid"
    alertmanager_smtp_password: SecretStr = SecretStr("change-me")
    alertmanager_email_to: str = "ioc-oncall@example.invalid"
    alertmanager_telegram_bot_token: SecretStr = SecretStr("change-me")
    alertmanager_telegram_chat_id: int = Field(default=-1, description="Telegram group chat id")
    prometheus_scrape_interval: str = "5s"
    node_exporter_port: int = Field(default=9100, description="The local stack's node_exporter")
    grafana_url: str = "http://127.0.0.1:3000"
    grafana_prometheus_url: str = Field(
        default="https://127.0.0.1:9090", description="Prometheus as Grafana reaches it"
    )
    # Grafana's ClickHouse data source (deploy/grafana/provisioning): the native protocol
    # over TLS, verified against our CA, as every other client of ClickHouse.
    grafana_clickhouse_tls: bool = Field(
        default=True,
        description="Grafana's ClickHouse data source uses TLS, verifying the server against "
        "IOC_GRAFANA_CLICKHOUSE_CA_CERT (compose, in one namespace: false)",
    )
    grafana_clickhouse_port: int = Field(
        default=9440,
        description="ClickHouse's native port as Grafana reaches it: the TLS port, or the "
        "plain one (9000) without TLS",
    )
    grafana_clickhouse_ca_cert: str = Field(
        default="",
        description="PEM text of the CA that signed ClickHouse's certificate (the province's "
        "CA; locally $IOC_DATA_DIR/pki/ca.pem); empty: Grafana's system trust store",
    )
    grafana_user: str = "admin"
    grafana_password: SecretStr = SecretStr("admin")
    grafana_token: SecretStr = Field(
        default=SecretStr(""), description="Service-account token; used instead of user/password"
    )
    dashboard_language: Literal["vi", "en"] = "vi"

    @property
    def ca_file(self) -> Path:
        """The CA file clients verify servers with.

        ``tls_ca_file``, else the local stack's (deploy/local/lib.sh ``ensure_pki`` writes
        it to ``data_dir``/pki/ca.pem).
        """
        return Path(self.tls_ca_file) if self.tls_ca_file else self.data_dir / "pki" / "ca.pem"

    @property
    def alertmanager_url(self) -> str:
        """Base URL of Alertmanager's HTTP API (https unless monitoring_tls is off)."""
        scheme = "https" if self.monitoring_tls else "http"
        return f"{scheme}://{self.alertmanager_host}:{self.alertmanager_port}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the secrets directory if one is named."""
        directory = os.environ.get(SECRETS_DIR_ENV, "").strip()
        if not directory:
            return init_settings, env_settings
        if not Path(directory).is_dir():
            raise ValueError(f"{SECRETS_DIR_ENV}={directory} is not a directory")
        secrets = SecretsSettingsSource(settings_cls, secrets_dir=directory)
        return init_settings, env_settings, secrets

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """Settings that depend on each other agree; prod has strong secrets.

        The checks are in :mod:`ioc.secret_policy` (the first problem found is raised).
        """
        problem = settings_problem(self)
        if problem:
            raise ValueError(problem)
        return self

    @cached_property
    def partition_profile(self) -> Literal["dev", "prod"]:
        """Which column of the topic registry applies: few partitions unless in production."""
        return "prod" if self.environment == "prod" else "dev"

    def env_vars(self) -> dict[str, str]:
        """``IOC_X`` → value of every set field, secrets included (for child processes)."""
        found = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue  # unset stays unset (not the string "None")
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            found[f"IOC_{name.upper()}"] = str(value)
        return found

    def shell_env(self) -> str:
        """Lines of ``export IOC_X=...`` for the local-stack scripts (secrets included)."""
        return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in self.env_vars().items())


def settings_for_tests(**overrides: object) -> Settings:
    """Settings for the test suite: few partitions, short timeouts, its own data dir."""
    base: dict[str, object] = {
        "environment": "test",
        "consumer_session_timeout_ms": 6_000,
        "consumer_max_poll_interval_ms": 10_000,
        "request_timeout_ms": 10_000,
    }
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


def main(argv: list[str]) -> int:
    """``python -m ioc.settings shell-env``: print settings for the shell scripts."""
    if argv[1:] == ["shell-env"]:
        print(Settings().shell_env())
        return 0
    print("usage: python -m ioc.settings shell-env", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
