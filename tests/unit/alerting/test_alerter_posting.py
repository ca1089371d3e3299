"""The alerter's posting loop without Kafka: retries with backoff, a refused alert isolated."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from connectors.sinks.alerter.alerts import Renderer
from connectors.sinks.alerter.book import AlertBook
from connectors.sinks.alerter.metrics import AlerterMetrics
from connectors.sinks.alerter.poster import AlertsRejectedError
from connectors.sinks.alerter.service import Alerter, AlerterConfig
from schemas.errors import ServiceUnavailableError
from tests.factories import T0, anomaly

pytestmark = pytest.mark.unit


class FakePoster:
    """Fails ``down`` times, refuses alerts whose anomaly id is in ``refused``."""

    def __init__(self, down: int = 0, refused: frozenset[str] = frozenset()) -> None:
        self.down = down
        self.refused = refused
        self.accepted: list[dict[str, Any]] = []
        self.calls = 0

    async def post(self, alerts: Sequence[dict[str, Any]]) -> None:
        self.calls += 1
        if self.down:
            self.down -= 1
            raise ServiceUnavailableError("connection refused")
        if any(a["labels"]["anomaly_id"] in self.refused for a in alerts):
            raise AlertsRejectedError("bad label")
        self.accepted += alerts

    async def close(self) -> None:
        pass


def alerter(poster: FakePoster) -> tuple[Alerter, AlerterMetrics]:
    book = AlertBook(Renderer(), live_generation=1, repost_interval=timedelta(seconds=60))
    metrics = AlerterMetrics(CollectorRegistry())
    config = AlerterConfig(
        kafka={"bootstrap_servers": "unused:9092"}, topic="t", backoff_initial_s=0.0
    )
    return Alerter(config, book, poster, metrics, clock=lambda: T0), metrics  # type: ignore[arg-type]


def value(metrics: AlerterMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def test_down_alertmanager_keeps_alerts_due_until_it_answers() -> None:
    poster = FakePoster(down=2)
    service, metrics = alerter(poster)
    service.book.apply(anomaly(severity="warning"), T0)

    async def scenario() -> None:
        for _ in range(3):
            await service.flush()
            service._retry_at = 0.0  # no waiting in a unit test

    asyncio.run(scenario())
    assert poster.calls == 3
    assert [a["labels"]["anomaly_id"] for a in poster.accepted] == ["an-1"]
    assert value(metrics, "ioc_alerter_posts_total", outcome="failed") == 2
    assert value(metrics, "ioc_alerter_posts_total", outcome="ok") == 1
    assert value(metrics, "ioc_alerter_pending_alerts") == 0
    assert value(metrics, "ioc_alerter_alerts_sent_total", state="firing") == 1


def test_backoff_doubles_up_to_the_limit() -> None:
    poster = FakePoster(down=10)
    service, _ = alerter(poster)
    service.config = AlerterConfig(
        kafka={"bootstrap_servers": "x"}, topic="t", backoff_initial_s=1.0, backoff_max_s=3.0
    )
    service._backoff = 1.0
    service.book.apply(anomaly(severity="warning"), T0)
    seen = []
    for _ in range(4):
        service._retry_at = 0.0
        asyncio.run(service.flush())
        seen.append(service._backoff)
    assert seen == [2.0, 3.0, 3.0, 3.0]
    assert service.book.pending(T0) == 1


def test_a_refused_alert_does_not_hold_back_the_others() -> None:
    poster = FakePoster(refused=frozenset({"bad"}))
    service, metrics = alerter(poster)
    service.book.apply(anomaly(anomaly_id="bad", severity="warning"), T0)
    service.book.apply(anomaly(anomaly_id="good", severity="critical"), T0)
    asyncio.run(service.flush())
    assert [a["labels"]["anomaly_id"] for a in poster.accepted] == ["good"]
    assert value(metrics, "ioc_alerter_posts_total", outcome="rejected") == 1
    assert service.book.pending(T0) == 0  # dropped loudly, not retried forever
