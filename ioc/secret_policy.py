"""Which secrets a production deployment may not start with (the settings' own check).

Kept beside :mod:`ioc.settings` so that the one settings object stays readable; it
reads the settings it is given and nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import SecretStr

from schemas.privacy import parse_key_ring

if TYPE_CHECKING:
    from ioc.settings import Settings

MIN_SECRET_CHARS = 16
MIN_HMAC_KEY_CHARS = 32
"""The PII key hashes a 12-digit citizen id space: a short key is guessable offline."""


def weak_secrets(settings: Settings) -> list[tuple[str, str]]:
    """(variable, why) of each secret a production deployment uses that is weak."""
    required: dict[str, int] = {
        "pii_hmac_key": MIN_HMAC_KEY_CHARS,
        "clickhouse_password": MIN_SECRET_CHARS,
        "clickhouse_grafana_password": MIN_SECRET_CHARS,
        "postgres_password": MIN_SECRET_CHARS,
    }
    if not settings.grafana_token.get_secret_value():
        required["grafana_password"] = MIN_SECRET_CHARS
    else:
        required["grafana_token"] = MIN_SECRET_CHARS
    if settings.alertmanager_receivers == "production":
        required["alertmanager_smtp_password"] = MIN_SECRET_CHARS
        required["alertmanager_telegram_bot_token"] = MIN_SECRET_CHARS
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
