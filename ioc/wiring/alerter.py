"""Settings -> the alerter (anomalies topic -> Alertmanager)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from connectors.sinks.alerter.alerts import Renderer
from connectors.sinks.alerter.book import AlertBook
from connectors.sinks.alerter.metrics import AlerterMetrics
from connectors.sinks.alerter.poster import AlertmanagerPoster
from connectors.sinks.alerter.service import Alerter, AlerterConfig, LiveGeneration
from ioc.kafka_client import kafka_client_options
from ioc.ops.grafana.uids import ANOMALIES, DOMAIN_DASHBOARDS
from ioc.ops.monitoring import monitoring_auth, monitoring_verify
from ioc.settings import Settings
from schemas.errors import ServiceUnavailableError
from schemas.province.loading import load_profile


def clickhouse_live_generation(settings: Settings) -> LiveGeneration:
    """The promoted generation from ClickHouse's ``live_generation`` view."""
    from clickhouse_driver.errors import Error as ClickHouseError

    from ioc.ops.db.executors import clickhouse_client

    def read() -> int | None:
        client = clickhouse_client(
            settings, role="reader", connect_timeout=3, send_receive_timeout=10
        )
        try:
            rows = client.execute(
                f"SELECT generation FROM {settings.clickhouse_database}.live_generation"
            )
        except (ClickHouseError, OSError, EOFError) as exc:
            raise ServiceUnavailableError(f"ClickHouse: {exc!r}") from exc
        finally:
            client.disconnect()
        # max() over no promoted row is 0 on ClickHouse: that is "unknown", not generation 0.
        value = int(rows[0][0]) if rows else 0
        return value or None

    async def current() -> int | None:
        return await asyncio.to_thread(read)

    return current


def build_alerter(settings: Settings, metrics: AlerterMetrics | None = None) -> Alerter:
    """Wire an alerter from settings."""
    profile = load_profile(settings.province_profile)
    renderer = Renderer(
        language=settings.dashboard_language,
        grafana_url=settings.grafana_url,
        dashboards=DOMAIN_DASHBOARDS,
        fallback_dashboard=ANOMALIES,
        area_names={a.code: a.name for a in profile.areas.areas},
    )
    config = AlerterConfig(
        kafka=kafka_client_options(settings),
        topic=settings.alerter_topic,
        repost_interval_s=settings.alerter_repost_interval_s,
        resolved_horizon_s=settings.alerter_resolved_horizon_s,
        backoff_max_s=settings.alerter_backoff_max_s,
        generation_refresh_s=settings.alerter_generation_refresh_s,
    )
    book = AlertBook(
        renderer,
        live_generation=settings.generation,
        repost_interval=timedelta(seconds=settings.alerter_repost_interval_s),
    )
    provider = (
        clickhouse_live_generation(settings) if settings.alerter_generation_refresh_s > 0 else None
    )
    return Alerter(
        config,
        book,
        AlertmanagerPoster(
            settings.alertmanager_url,
            auth=monitoring_auth(settings, "alertmanager"),
            verify=monitoring_verify(settings),
        ),
        metrics or AlerterMetrics(),
        live_generation=provider,
    )
