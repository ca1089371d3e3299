"""The ``ioc notify`` section of the settings (docs/notify.md).

A base class of :class:`ioc.settings.Settings`, which alone is built and passed around:
the section lives apart only to keep one file readable. Lists are comma-separated text,
as ``Settings.shell_env()`` round-trips scalars.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings


class NotifySettings(BaseSettings):
    """Alertmanager's webhook → Zalo, Telegram, e-mail."""

    notify_host: str = "127.0.0.1"
    notify_port: int = Field(default=9096, ge=0, description="POST /alerts, /health, /metrics")
    notify_language: Literal["vi", "en"] = "vi"  # also Alertmanager's own templates
    notify_runbook_base_url: str = "https://ioc.example.invalid/"  # where docs/ is published
    notify_channels: str = Field(default="", description="zalo, telegram, email; empty = none")
    notify_max_body_bytes: int = Field(default=1_048_576, ge=1_024)
    notify_queue_size: int = Field(default=1_000, ge=1, description="Per channel; full = 503")
    notify_retry_attempts: int = Field(default=6, ge=1, description="Tries of one message")
    notify_backoff_initial_s: float = Field(default=1.0, gt=0)
    notify_backoff_max_s: float = Field(default=60.0, gt=0)
    notify_timeout_s: float = Field(default=10.0, gt=0)
    notify_drain_s: float = Field(default=10.0, ge=0, description="Queued messages, on stop")
    notify_zalo_api_url: str = "https://openapi.zalo.me"
    notify_zalo_access_token: SecretStr = SecretStr("change-me")
    notify_zalo_user_ids: str = ""
    notify_telegram_api_url: str = "https://api.telegram.org"
    notify_telegram_bot_token: SecretStr = SecretStr("change-me")
    notify_telegram_chat_ids: str = ""
    notify_smtp_host: str = "127.0.0.1"
    notify_smtp_port: int = 587
    notify_smtp_starttls: bool = True
    notify_smtp_user: str = Field(default="", description="Empty = no SMTP login")
    notify_smtp_password: SecretStr = SecretStr("")
    notify_smtp_from: str = "ioc-alerts@example.invalid"
    notify_email_to: str = ""
