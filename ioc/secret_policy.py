"""The settings' own checks: weak secrets in production, settings that must agree.

The validator of :class:`ioc.settings.Settings` calls :func:`settings_problem`. Kept
beside :mod:`ioc.settings` so that the one settings object stays readable; it reads the
settings it is given and nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import SecretStr

from schemas.privacy import parse_key_ring

if TYPE_CHECKING:
    from ioc.settings import Settings

SECRETS_DIR_ENV = "IOC_SECRETS_DIR"
"""A directory of one file per secret (``ioc_pii_hmac_key``, ``ioc_postgres_password``…),
as Docker and Kubernetes mount them; the environment still wins over a file."""

MIN_SECRET_CHARS = 16
MIN_HMAC_KEY_CHARS = 32
"""The PII key hashes a 12-digit citizen id space: a short key is guessable offline."""


def weak_secrets(settings: Settings) -> list[tuple[str, str]]:
    """(variable, why) of each secret a production deployment uses that is weak."""
    required: dict[str, int] = {
        "pii_hmac_key": MIN_HMAC_KEY_CHARS,
        # ClickHouse's users per role (decision 0037).
        "clickhouse_migrator_password": MIN_SECRET_CHARS,
        "clickhouse_sink_password": MIN_SECRET_CHARS,
        "clickhouse_replay_password": MIN_SECRET_CHARS,
        "clickhouse_reader_password": MIN_SECRET_CHARS,
        "clickhouse_grafana_password": MIN_SECRET_CHARS,
        "postgres_password": MIN_SECRET_CHARS,
        "outbox_password": MIN_SECRET_CHARS,  # the outbox poller's role (decision 0035)
        "mqtt_password": MIN_SECRET_CHARS,
        # Prometheus and Alertmanager's basic auth (decision 0034): Grafana, the alerter.
        "prometheus_web_password": MIN_SECRET_CHARS,
        "alertmanager_web_password": MIN_SECRET_CHARS,
    }
    if settings.kafka_security_protocol.startswith("SASL_"):
        required["kafka_password"] = MIN_SECRET_CHARS  # this process's principal (0039)
    if not settings.grafana_token.get_secret_value():
        required["grafana_password"] = MIN_SECRET_CHARS
    else:
        required["grafana_token"] = MIN_SECRET_CHARS
    if settings.alertmanager_receivers == "production":
        required["alertmanager_smtp_password"] = MIN_SECRET_CHARS
        required["alertmanager_telegram_bot_token"] = MIN_SECRET_CHARS
    channels = set(split_list(settings.notify_channels))
    if "zalo" in channels:
        required["notify_zalo_access_token"] = MIN_SECRET_CHARS
    if "telegram" in channels:
        required["notify_telegram_bot_token"] = MIN_SECRET_CHARS
    if "email" in channels and settings.notify_smtp_user:
        required["notify_smtp_password"] = MIN_SECRET_CHARS
    found = []
    for key_id, key in parse_key_ring(settings.pii_previous_keys.get_secret_value()).items():
        if len(key) < MIN_HMAC_KEY_CHARS:
            found.append(
                (
                    "IOC_PII_PREVIOUS_KEYS",
                    f"key {key_id} shorter than {MIN_HMAC_KEY_CHARS} characters",
                )
            )
    for name, least in required.items():
        value = getattr(settings, name).get_secret_value()
        default = type(settings).model_fields[name].default
        if isinstance(default, SecretStr) and value == default.get_secret_value():
            found.append((f"IOC_{name.upper()}", "the default"))
        elif len(value) < least:
            found.append((f"IOC_{name.upper()}", f"shorter than {least} characters"))
    return found


NOTIFY_RECIPIENTS = {
    "zalo": "notify_zalo_user_ids",
    "telegram": "notify_telegram_chat_ids",
    "email": "notify_email_to",
}
"""Each channel of ``ioc notify`` → the setting that lists its recipients."""


def split_list(text: str) -> list[str]:
    """``"a, b,,c"`` → ``["a", "b", "c"]``: a list setting as comma-separated text."""
    return [item.strip() for item in text.split(",") if item.strip()]


def notify_channel_problem(settings: Settings) -> str | None:
    """Why IOC_NOTIFY_CHANNELS cannot work (an unknown name, nobody to send to), or None."""
    for name in split_list(settings.notify_channels):
        if name not in NOTIFY_RECIPIENTS:
            return f"IOC_NOTIFY_CHANNELS names {name!r}; known: {', '.join(NOTIFY_RECIPIENTS)}"
        field = NOTIFY_RECIPIENTS[name]
        if not split_list(getattr(settings, field)):
            return f"IOC_NOTIFY_CHANNELS has {name} but IOC_{field.upper()} is empty"
    return None


def settings_problem(settings: Settings) -> str | None:
    """The first reason these settings cannot run, in the words of their variables."""
    if bool(settings.http_tls_cert_file) != bool(settings.http_tls_key_file):
        return (
            "IOC_HTTP_TLS_CERT_FILE and IOC_HTTP_TLS_KEY_FILE go together: set both "
            "(the gateway serves HTTPS) or neither (plain HTTP, TLS in front of it)"
        )
    problem = notify_channel_problem(settings)
    if problem:
        return problem
    # parse_key_ring raises, without echoing a key, on a ring that does not parse.
    if settings.pii_key_id in parse_key_ring(settings.pii_previous_keys.get_secret_value()):
        return (
            f"IOC_PII_PREVIOUS_KEYS names the current key id {settings.pii_key_id!r}: "
            "a rotated-out key needs its own id"
        )
    if settings.environment != "prod":
        return None
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return (
            f"IOC_ENVIRONMENT=prod refuses IOC_KAFKA_SECURITY_PROTOCOL="
            f"{settings.kafka_security_protocol}: events with personal data would cross the "
            "network in clear (use SASL_SSL)"
        )
    problems = [f"{variable} ({why})" for variable, why in weak_secrets(settings)]
    if problems:
        return (
            "IOC_ENVIRONMENT=prod refuses default or short secrets: "
            + ", ".join(problems)
            + f" (set them in the environment or as files in {SECRETS_DIR_ENV})"
        )
    return None
