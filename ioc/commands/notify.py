"""``ioc notify``: Alertmanager's webhook -> Zalo OA, Telegram and e-mail."""

from __future__ import annotations

import asyncio

import typer

from ioc.settings import Settings


def notify_command(ctx: typer.Context) -> None:
    """Receive Alertmanager's webhooks on IOC_NOTIFY_PORT and forward them (docs/notify.md)."""
    from connectors.sinks.notify.metrics import NotifyMetrics
    from ioc import process
    from ioc.version import register_build_info
    from ioc.wiring.notify import build_notifier

    settings = ctx.obj
    assert isinstance(settings, Settings)
    process.configure_logging(settings)
    metrics = NotifyMetrics()
    register_build_info(metrics.registry)

    async def main() -> None:
        # Built inside the loop: the delivery queues belong to it. /metrics and /health
        # are the webhook server's own (IOC_NOTIFY_PORT), like the HTTP gateway's.
        await process.serve(build_notifier(settings, metrics))

    asyncio.run(main())
