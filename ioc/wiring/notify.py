"""Settings -> ``ioc notify`` (Alertmanager's webhook -> Zalo OA, Telegram, e-mail)."""

from __future__ import annotations

from connectors.sinks.notify.channels import (
    Channel,
    EmailChannel,
    SmtpConfig,
    TelegramChannel,
    ZaloChannel,
)
from connectors.sinks.notify.delivery import Deliverer, RetryPolicy, Route
from connectors.sinks.notify.message import TemplateConfig
from connectors.sinks.notify.metrics import NotifyMetrics
from connectors.sinks.notify.service import Notifier, NotifyConfig
from ioc.secret_policy import split_list
from ioc.settings import Settings
from schemas.province.loading import load_profile


def routes(settings: Settings) -> list[Route]:
    """The channels IOC_NOTIFY_CHANNELS names, each with its recipients."""
    s = settings
    found: list[Route] = []
    for name in split_list(s.notify_channels):
        channel: Channel
        if name == "zalo":
            token = s.notify_zalo_access_token.get_secret_value()
            channel = ZaloChannel(s.notify_zalo_api_url, token, timeout_s=s.notify_timeout_s)
            recipients = split_list(s.notify_zalo_user_ids)
        elif name == "telegram":
            token = s.notify_telegram_bot_token.get_secret_value()
            channel = TelegramChannel(
                s.notify_telegram_api_url, token, timeout_s=s.notify_timeout_s
            )
            recipients = split_list(s.notify_telegram_chat_ids)
        else:  # "email": the settings refuse any other name
            smtp = SmtpConfig(
                host=s.notify_smtp_host,
                port=s.notify_smtp_port,
                sender=s.notify_smtp_from,
                user=s.notify_smtp_user,
                password=s.notify_smtp_password.get_secret_value(),
                starttls=s.notify_smtp_starttls,
                timeout_s=s.notify_timeout_s,
            )
            channel = EmailChannel(smtp)
            # One e-mail to every recipient: a mail server takes a list.
            recipients = [", ".join(split_list(s.notify_email_to))]
        found.append(Route(channel, tuple(recipients)))
    return found


def build_notifier(settings: Settings, metrics: NotifyMetrics | None = None) -> Notifier:
    """Wire ``ioc notify`` from settings (call inside the event loop that will run it)."""
    metrics = metrics or NotifyMetrics()
    profile = load_profile(settings.province_profile)
    templates = TemplateConfig(
        language=settings.notify_language,
        runbook_base_url=settings.notify_runbook_base_url,
        area_names={a.code: a.name for a in profile.areas.areas},
    )
    policy = RetryPolicy(
        attempts=settings.notify_retry_attempts,
        initial_s=settings.notify_backoff_initial_s,
        max_s=settings.notify_backoff_max_s,
    )
    deliverer = Deliverer(
        routes(settings),
        templates,
        metrics,
        policy=policy,
        queue_size=settings.notify_queue_size,
    )
    config = NotifyConfig(
        host=settings.notify_host,
        port=settings.notify_port,
        max_body_bytes=settings.notify_max_body_bytes,
        drain_s=settings.notify_drain_s,
    )
    return Notifier(config, deliverer, metrics)
