"""Local stand-ins for Zalo OA, the Telegram Bot API and an SMTP server (tests only).

The real services cannot be reached from the build machine, so ``ioc notify`` is tested
against these: in-process servers on 127.0.0.1 and a free port that implement the
request shapes the services document and refuse anything else, as the real APIs do —
a wrong path, header, field or type is a 4xx, never a silent 200. Each keeps what it
received, and can be told to fail its next requests (500, 429 with a retry delay) to
exercise retries.

- Zalo OA: ``POST /v3.0/oa/message/cs``, header ``access_token``, JSON
  ``{"recipient": {"user_id": …}, "message": {"text": …}}`` (text ≤ 2000 characters);
  answers ``{"error": 0, "message": "Success", "data": {"message_id": …}}``, or a
  non-zero ``error`` for a token it does not know.
- Telegram: ``POST /bot<token>/sendMessage``, JSON ``chat_id``, ``text`` (1–4096),
  ``parse_mode`` ("HTML": only Telegram's tags, balanced); answers ``{"ok": true,
  "result": {…}}``; errors ``{"ok": false, "error_code", "description"}``, a 429 with
  ``parameters.retry_after``.
- SMTP: greeting, EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT — no TLS, no AUTH.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import json
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

TELEGRAM_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "span", "tg-spoiler", "tg-emoji", "blockquote",
}  # fmt: skip
TELEGRAM_FIELDS = {
    "chat_id", "text", "parse_mode", "link_preview_options", "disable_notification",
    "protect_content", "message_thread_id", "entities", "reply_parameters", "reply_markup",
    "business_connection_id", "allow_paid_broadcast", "message_effect_id",
}  # fmt: skip


@dataclass
class Failure:
    """One programmed answer instead of success: a status, a JSON body, headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class _Fake:
    def __init__(self) -> None:
        self.failures: list[Failure] = []
        self.requests = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _app(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _programmed(self) -> web.Response | None:
        self.requests += 1
        if not self.failures:
            return None
        failure = self.failures.pop(0)
        return web.json_response(failure.body, status=failure.status, headers=failure.headers)


async def _json_object(request: web.Request) -> dict[str, Any] | None:
    if request.content_type != "application/json":
        return None
    try:
        data = json.loads(await request.text())
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class FakeZalo(_Fake):
    """Zalo OA's customer-service message API."""

    def __init__(self, access_token: str) -> None:
        super().__init__()
        self.access_token = access_token
        self.received: list[tuple[str, str]] = []
        self._ids = itertools.count(1)

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3.0/oa/message/cs", self._message)
        return app

    async def _message(self, request: web.Request) -> web.Response:
        programmed = self._programmed()
        if programmed is not None:
            return programmed
        if request.headers.get("access_token") != self.access_token:
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        data = await _json_object(request)
        problem = _zalo_problem(data)
        if problem:
            return web.json_response({"error": -201, "message": problem}, status=400)
        assert data is not None
        self.received.append((data["recipient"]["user_id"], data["message"]["text"]))
        message_id = f"m{next(self._ids)}"
        body = {"error": 0, "message": "Success", "data": {"message_id": message_id}}
        return web.json_response(body)


def _zalo_problem(data: dict[str, Any] | None) -> str | None:
    if data is None:
        return "body is not a JSON object"
    if set(data) != {"recipient", "message"}:
        return f"fields {sorted(data)}, expected recipient and message"
    recipient, message = data["recipient"], data["message"]
    if not isinstance(recipient, dict) or set(recipient) != {"user_id"}:
        return "recipient must be {user_id}"
    if not isinstance(recipient["user_id"], str) or not recipient["user_id"]:
        return "user_id must be a non-empty string"
    if not isinstance(message, dict) or set(message) != {"text"}:
        return "message must be {text}"
    text = message["text"]
    if not isinstance(text, str) or not 0 < len(text) <= 2000:
        return "text must be 1 to 2000 characters"
    return None


class _TelegramHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problem: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            self.problem = self.problem or f'unsupported start tag "{tag}"'
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problem = self.problem or f'unmatched end tag "{tag}"'


class FakeTelegram(_Fake):
    """The Bot API's sendMessage."""

    def __init__(self, bot_token: str) -> None:
        super().__init__()
        self.bot_token = bot_token
        self.received: list[tuple[int | str, str, str | None]] = []
        self._ids = itertools.count(1)

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/sendMessage", self._send)
        return app

    async def _send(self, request: web.Request) -> web.Response:
        programmed = self._programmed()
        if programmed is not None:
            return programmed
        if request.match_info["token"] != self.bot_token:
            return _telegram_error(401, "Unauthorized")
        data = await _json_object(request)
        problem = _telegram_problem(data)
        if problem:
            return _telegram_error(400, f"Bad Request: {problem}")
        assert data is not None
        self.received.append((data["chat_id"], data["text"], data.get("parse_mode")))
        result = {"message_id": next(self._ids), "chat": {"id": data["chat_id"]}, "text": ""}
        return web.json_response({"ok": True, "result": result})


def _telegram_error(status: int, description: str) -> web.Response:
    body = {"ok": False, "error_code": status, "description": description}
    return web.json_response(body, status=status)


def _telegram_problem(data: dict[str, Any] | None) -> str | None:
    if data is None:
        return "message text is empty"
    unknown = set(data) - TELEGRAM_FIELDS
    if unknown:
        return f"unknown fields {sorted(unknown)}"
    chat = data.get("chat_id")
    if isinstance(chat, bool) or not isinstance(chat, int | str) or chat == "":
        return "chat not found"
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        return "message text is empty"
    if len(text) > 4096:
        return "message is too long"
    mode = data.get("parse_mode")
    if mode not in (None, "HTML", "MarkdownV2", "Markdown"):
        return f"unsupported parse_mode {mode!r}"
    if mode == "HTML":
        parser = _TelegramHtml()
        parser.feed(text)
        parser.close()
        problem = parser.problem or (f'unclosed tag "{parser.open[-1]}"' if parser.open else None)
        if problem:
            return f"can't parse entities: {problem}"
    return None


class FakeSmtp:
    """A minimal SMTP responder (RFC 5321's commands, no TLS and no AUTH)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse_next: list[str] = []
        """Replies to send instead of the next DATA's 250 (e.g. ``"451 try later"``)."""
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def reply(line: str) -> None:
            writer.write(line.encode() + b"\r\n")

        sender, recipients = "", []
        reply("220 fake-smtp ESMTP")
        try:
            while line := (await reader.readline()).decode("ascii", "replace").strip():
                verb = line.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    reply("250 fake-smtp")
                elif verb == "MAIL" and line.upper().startswith("MAIL FROM:"):
                    sender, recipients = line[10:].strip(" <>"), []
                    reply("250 OK")
                elif verb == "RCPT" and line.upper().startswith("RCPT TO:"):
                    recipients.append(line[8:].strip(" <>"))
                    reply("250 OK")
                elif verb == "DATA" and sender and recipients:
                    reply("354 end with <CRLF>.<CRLF>")
                    await writer.drain()
                    data = await self._data(reader)
                    if self.refuse_next:
                        reply(self.refuse_next.pop(0))
                        continue
                    parsed = email.message_from_bytes(data, policy=email.policy.default)
                    assert isinstance(parsed, EmailMessage)
                    self.messages.append(parsed)
                    self.envelopes.append((sender, recipients))
                    reply("250 OK queued")
                elif verb in ("RSET", "NOOP"):
                    reply("250 OK")
                elif verb == "QUIT":
                    reply("221 bye")
                    break
                else:
                    reply("503 bad sequence of commands")
                await writer.drain()
            await writer.drain()
        finally:
            writer.close()

    @staticmethod
    async def _data(reader: asyncio.StreamReader) -> bytes:
        lines = []
        while True:
            line = await reader.readline()
            if line in (b".\r\n", b""):
                return b"".join(lines)
            lines.append(line[1:] if line.startswith(b"..") else line)  # dot-stuffing


def anomaly_alert(**overrides: Any) -> dict[str, Any]:
    """One alert of ``ioc alerter`` as Alertmanager's webhook carries it."""
    alert: dict[str, Any] = {
        "status": "firing",
        "labels": {
            "alertname": "IocEnergyVoltageMinV", "source": "ioc-alerter", "domain": "energy",
            "metric": "voltage_min_v", "entity": "EM-0001", "entity_kind": "meter",
            "group": "FD-DONGXOAI-471", "area": "689", "severity": "critical",
            "anomaly_id": "an-1",
        },
        "annotations": {
            "summary": "Nghiêm trọng điện năng: voltage_min_v tại công tơ EM-0001",
            "description": "thấp; đo được 180.5",
            "dashboard": "http://grafana.test:3000/d/ioc-energy?orgId=1&from=1&to=now",
            "observed": "180.5", "expected": "221", "expected_low": "198",
            "score": "4.2", "detector": "threshold:undervoltage",
            "area_name": "Thành phố Đồng Xoài",
        },
        "startsAt": "2026-12-07T07:05:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://grafana.test:3000/d/ioc-energy",
        "fingerprint": "0123456789abcdef",
    }  # fmt: skip
    for key, value in overrides.items():
        alert[key] = {**alert[key], **value} if isinstance(value, dict) else value
    return alert


def pipeline_alert(**overrides: Any) -> dict[str, Any]:
    """A Prometheus rule's alert (deploy/prometheus/rules/pipeline.yml)."""
    alert: dict[str, Any] = {
        "status": "firing",
        "labels": {
            "alertname": "IocWorkerDown", "severity": "critical", "team": "pipeline",
            "job": "ioc-worker", "instance": "127.0.0.1:9483",
        },
        "annotations": {
            "summary": "Stream worker 127.0.0.1:9483 is down",
            "description": "No KPIs, no anomalies, no data-quality counters while it is down.",
            "runbook": "docs/runbook.md#iocworkerdown",
        },
        "startsAt": "2026-12-07T01:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.test:9090/graph?g0.expr=up",
    }  # fmt: skip
    alert.update(overrides)
    return alert


def webhook_body(*alerts: dict[str, Any], status: str = "firing") -> dict[str, Any]:
    """Version 4 of Alertmanager's webhook JSON around ``alerts``."""
    common = dict(alerts[0]["labels"]) if alerts else {}
    for alert in alerts[1:]:
        common = {k: v for k, v in common.items() if alert["labels"].get(k) == v}
    return {
        "version": "4",
        "groupKey": '{}:{alertname="IocEnergyVoltageMinV"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "ioc-energy-critical",
        "groupLabels": {"alertname": common.get("alertname", "")},
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.test:9093",
        "alerts": list(alerts),
    }
