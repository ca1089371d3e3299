"""``ioc notify`` end to end, in one process: an Alertmanager-shaped POST in, a Zalo OA
message, a Telegram message and an e-mail out, to local servers that implement those
services' documented request shapes (tests/notify_fakes.py; the real APIs cannot be
reached from here). Everything binds 127.0.0.1 on a free port.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from connectors.sinks.notify.metrics import NotifyMetrics
from connectors.sinks.notify.service import Notifier
from ioc.settings import settings_for_tests
from ioc.wiring.notify import build_notifier
from tests.notify_fakes import (
    Failure,
    FakeSmtp,
    FakeTelegram,
    FakeZalo,
    anomaly_alert,
    pipeline_alert,
    webhook_body,
)

pytestmark = pytest.mark.unit

ZALO_TOKEN = "zalo-oa-access-token-for-tests"
BOT_TOKEN = "123456:telegram-bot-token-for-tests"


@dataclass
class Stack:
    zalo: FakeZalo
    telegram: FakeTelegram
    smtp: FakeSmtp
    notifier: Notifier
    client: httpx.AsyncClient

    async def post(self, body: bytes | dict[str, Any], **headers: str) -> httpx.Response:
        content = json.dumps(body).encode() if isinstance(body, dict) else body
        headers = {"Content-Type": "application/json", **headers}
        return await self.client.post("/alerts", content=content, headers=headers)

    async def metric(self, name: str, **labels: str) -> float:
        text = (await self.client.get("/metrics")).text
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
            if (
                match
                and match[1] == name
                and ",".join(sorted((match[2] or "").split(","))) == (wanted)
            ):
                return float(match[3])
        raise AssertionError(f"no {name}{{{wanted}}} in /metrics")


@asynccontextmanager
async def stack(**overrides: Any) -> AsyncIterator[Stack]:
    zalo, telegram, smtp = FakeZalo(ZALO_TOKEN), FakeTelegram(BOT_TOKEN), FakeSmtp()
    for fake in (zalo, telegram, smtp):
        await fake.start()
    values: dict[str, Any] = dict(
        notify_port=0,
        notify_channels="zalo,telegram,email",
        notify_language="vi",
        notify_runbook_base_url="https://docs.ioc.test/",
        notify_zalo_api_url=zalo.url,
        notify_zalo_access_token=SecretStr(ZALO_TOKEN),
        notify_zalo_user_ids="zalo-user-1,zalo-user-2",
        notify_telegram_api_url=telegram.url,
        notify_telegram_bot_token=SecretStr(BOT_TOKEN),
        notify_telegram_chat_ids="-100123",
        notify_smtp_host="127.0.0.1",
        notify_smtp_port=smtp.port,
        notify_smtp_starttls=False,
        notify_email_to="oncall@ioc.test, duty@ioc.test",
        notify_backoff_initial_s=0.05,
        notify_backoff_max_s=0.2,
        notify_timeout_s=5.0,
        notify_drain_s=2.0,
    )
    settings = settings_for_tests(**{**values, **overrides})
    notifier = build_notifier(settings, NotifyMetrics())
    await notifier.start()
    running = asyncio.create_task(notifier.run())
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{notifier.port}", timeout=10)
    try:
        yield Stack(zalo, telegram, smtp, notifier, client)
    finally:
        notifier.request_stop()
        await asyncio.wait_for(running, 10)
        await client.aclose()
        for fake in (zalo, telegram, smtp):
            await fake.stop()


async def until(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def test_a_notification_reaches_zalo_telegram_and_email_in_vietnamese_after_retries() -> None:
    async def scenario() -> None:
        async with stack() as s:
            s.zalo.failures.append(Failure(500, {"error": -1, "message": "internal"}))
            s.telegram.failures.append(
                Failure(429, {"ok": False, "error_code": 429,
                              "description": "Too Many Requests: retry after 1",
                              "parameters": {"retry_after": 1}})
            )  # fmt: skip
            s.smtp.refuse_next.append("451 4.3.0 try again later")
            started = time.monotonic()
            response = await s.post(webhook_body(anomaly_alert()))
            assert response.status_code == 200, response.text
            assert response.json() == {
                "status": "accepted", "channels": ["zalo", "telegram", "email"]
            }  # fmt: skip
            await until(
                lambda: (
                    len(s.zalo.received) == 2
                    and len(s.telegram.received) == 1
                    and len(s.smtp.messages) == 1
                )
            )
            # Telegram said "retry after 1": its second try waited for it.
            assert time.monotonic() - started >= 1.0

            users = [user for user, _ in s.zalo.received]
            assert users == ["zalo-user-1", "zalo-user-2"]
            text = s.zalo.received[0][1]
            for line in (
                "🔴 [CẢNH BÁO] Nghiêm trọng · Điện năng",
                "Điện áp thấp nhất",
                "Ở đâu: công tơ EM-0001, Thành phố Đồng Xoài",
                "Từ lúc: 14:05 07/12/2026 (giờ Việt Nam)",
                "Đo được: 180,5 V, kỳ vọng 221 V (ngưỡng bình thường ≥ 198 V)",
                "Hướng dẫn xử lý: https://docs.ioc.test/docs/runbook.md#anomaly-alerts",
            ):
                assert line in text.splitlines(), (line, text)

            chat, html, mode = s.telegram.received[0]
            assert (chat, mode) == (-100123, "HTML")
            assert "<b>Ở đâu:</b> công tơ EM-0001, Thành phố Đồng Xoài" in html

            mail = s.smtp.messages[0]
            assert mail["Subject"] == (
                "[IOC] CẢNH BÁO: Điện áp thấp nhất — công tơ EM-0001, Thành phố Đồng Xoài"
            )
            assert s.smtp.envelopes[0][1] == ["oncall@ioc.test", "duty@ioc.test"]
            plain = mail.get_body(("plain",))
            assert plain is not None
            assert "Điện áp thấp nhất" in plain.get_content()

            assert await s.metric("ioc_notify_requests_total", outcome="accepted") == 1
            for channel, sent in (("zalo", 2), ("telegram", 1), ("email", 1)):
                assert await s.metric("ioc_notify_sent_total", channel=channel, outcome="ok") == (
                    sent
                )
                assert await s.metric("ioc_notify_retries_total", channel=channel) == 1
                assert await s.metric("ioc_notify_queue_depth", channel=channel) == 0
                count = await s.metric("ioc_notify_delivery_seconds_count", channel=channel)
                assert count == sent
            assert (await s.client.get("/health")).status_code == 200

    asyncio.run(scenario())


def test_a_channel_that_refuses_or_keeps_failing_does_not_hold_back_the_others() -> None:
    async def scenario() -> None:
        async with stack(notify_retry_attempts=3) as s:
            s.telegram.bot_token = "another-bot"  # every send is now a 401: final
            s.zalo.failures.extend([Failure(503, {"error": -1, "message": "busy"})] * 3)
            response = await s.post(webhook_body(pipeline_alert()))
            assert response.status_code == 200
            await until(lambda: len(s.smtp.messages) == 1)
            assert s.smtp.messages[0]["Subject"] == (
                "[IOC] CẢNH BÁO: Stream worker 127.0.0.1:9483 is down — "
                "tiến trình ioc-worker (127.0.0.1:9483)"
            )
            # The first user's 3 tries all fail (503); the second user's first succeeds.
            await until(lambda: len(s.zalo.received) == 1)
            assert s.zalo.requests == 4
            assert s.zalo.received[0][0] == "zalo-user-2"
            await asyncio.sleep(0.3)
            assert await s.metric("ioc_notify_sent_total", channel="telegram",
                                  outcome="rejected") == 1  # fmt: skip
            assert await s.metric("ioc_notify_retries_total", channel="telegram") == 0
            assert await s.metric("ioc_notify_sent_total", channel="zalo", outcome="gave_up") == 1
            assert await s.metric("ioc_notify_sent_total", channel="zalo", outcome="ok") == 1
            assert await s.metric("ioc_notify_sent_total", channel="email", outcome="ok") == 1

    asyncio.run(scenario())


def test_bad_input_gets_a_clear_4xx_and_the_server_keeps_serving() -> None:
    async def scenario() -> None:
        async with stack(notify_max_body_bytes=4096) as s:
            cases: list[tuple[bytes | dict[str, Any], int, str]] = [
                (b"not json at all", 400, "not JSON"),
                (b"\xc3\x28 invalid utf-8", 400, "not UTF-8"),
                (b"[" * 2000 + b"]" * 2000, 400, "nested deeper"),
                (b'{"receiver": "x", "alerts": "none"}', 400, "'alerts'"),
                (b"x" * 10_000, 413, "over 4096 bytes"),
            ]
            for body, status, reason in cases:
                response = await s.post(body)
                assert response.status_code == status, (body[:20], response.text)
                assert reason in response.json()["error"]
            wrong_type = await s.post(b"{}", **{"Content-Type": "text/plain"})
            assert wrong_type.status_code == 415
            assert (await s.client.get("/alerts")).status_code == 405
            assert await s.metric("ioc_notify_requests_total", outcome="invalid") == 5
            assert await s.metric("ioc_notify_requests_total", outcome="too_large") == 1
            ok = await s.post(webhook_body(anomaly_alert()))
            assert ok.status_code == 200
            await until(lambda: len(s.smtp.messages) == 1)

    asyncio.run(scenario())


def test_full_queues_answer_503_so_that_alertmanager_retries() -> None:
    async def scenario() -> None:
        async with stack(notify_queue_size=1, notify_channels="telegram") as s:
            # Telegram asks for patience: the first message waits, the queue fills.
            s.telegram.failures.append(
                Failure(429, {"ok": False, "error_code": 429, "description": "slow down",
                              "parameters": {"retry_after": 1}})
            )  # fmt: skip
            assert (await s.post(webhook_body(anomaly_alert()))).status_code == 200
            await until(lambda: s.telegram.requests == 1)
            assert (await s.post(webhook_body(anomaly_alert()))).status_code == 200
            full = await s.post(webhook_body(anomaly_alert()))
            assert full.status_code == 503
            assert await s.metric("ioc_notify_requests_total", outcome="queue_full") == 1
            await until(lambda: len(s.telegram.received) == 2)

    asyncio.run(scenario())
