"""The three ways out: Zalo Official Account, Telegram, e-mail (the I/O of ``ioc notify``).

Each channel sends one message to one recipient and says how it failed:
:class:`DeliveryError` with ``retryable`` (a network error, a timeout, HTTP 429 or 5xx,
an SMTP 4xx: try again later, after ``retry_after`` if the service said so) or not
(a refused token, an unknown chat, an SMTP 5xx: retrying the same request cannot help).
Retrying is :mod:`connectors.sinks.notify.delivery`'s job, not the channels'.

The request shapes are those the services document (docs/notify.md cites them); the
tests check them against local servers that refuse anything else, as the real APIs do.
Error messages name the service and the status, never a URL: Telegram's carries the bot
token.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from connectors.sinks.notify.message import Message
from schemas.errors import IocError

ZALO_TEXT_LIMIT = 2000
"""Characters of a Zalo OA text message."""
TELEGRAM_TEXT_LIMIT = 4096
"""Characters of a Telegram message after entities are parsed (HTML is longer: safe)."""


class DeliveryError(IocError):
    """A message was not delivered; ``retryable`` says whether trying again can help."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Channel(Protocol):
    name: str
    limit: int | None
    """Longest message the service takes, in characters (None: no limit)."""
    max_alerts: int
    """Alerts shown in one message (a grouped notification can hold forty)."""

    async def send(self, recipient: str, message: Message) -> None:
        """Deliver, or raise :class:`DeliveryError`."""

    async def close(self) -> None:
        """Release connections."""


def retry_after_header(value: str | None) -> float | None:
    """HTTP ``Retry-After``: seconds, or a date (RFC 9110); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _http_failure(service: str, response: httpx.Response, detail: str) -> DeliveryError:
    """429 and 5xx are worth retrying; any other refusal is final."""
    status = response.status_code
    retryable = status == 429 or status >= 500
    return DeliveryError(
        f"{service} answered {status}: {detail[:200]}",
        retryable=retryable,
        retry_after=retry_after_header(response.headers.get("Retry-After")),
    )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class ZaloChannel:
    """Zalo OA customer-service text message: POST /v3.0/oa/message/cs, one per user."""

    name = "zalo"
    limit: int | None = ZALO_TEXT_LIMIT
    max_alerts = 5

    def __init__(self, base_url: str, access_token: str, *, timeout_s: float = 10.0) -> None:
        self._url = base_url.rstrip("/") + "/v3.0/oa/message/cs"
        self._token = access_token
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def send(self, recipient: str, message: Message) -> None:
        """Zalo answers 200 with ``{"error": 0, ...}`` on success, a non-zero error else."""
        body = {"recipient": {"user_id": recipient}, "message": {"text": message.text}}
        try:
            response = await self._client.post(
                self._url, json=body, headers={"access_token": self._token}
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"Zalo: {type(exc).__name__}", retryable=True) from None
        data = _json(response)
        if response.status_code != 200:
            raise _http_failure("Zalo", response, str(data.get("message", response.text)))
        if "error" not in data:
            # A 200 that is not Zalo's JSON comes from something in between: try again.
            raise DeliveryError("Zalo answered 200 without an 'error' field", retryable=True)
        if data["error"] != 0:
            # Zalo's own error codes (token expired, user outside the reply window...):
            # the same request would be refused again.
            raise DeliveryError(
                f"Zalo refused the message: error {data['error']} {data.get('message', '')}",
                retryable=False,
            )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


class TelegramChannel:
    """Telegram Bot API sendMessage with parse_mode HTML, one per chat."""

    name = "telegram"
    limit: int | None = TELEGRAM_TEXT_LIMIT
    max_alerts = 10

    def __init__(self, base_url: str, bot_token: str, *, timeout_s: float = 10.0) -> None:
        self._url = f"{base_url.rstrip('/')}/bot{bot_token}/sendMessage"
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def send(self, recipient: str, message: Message) -> None:
        """``{"ok": true}`` is success; a 429 says how long to wait in parameters.retry_after."""
        chat: int | str = int(recipient) if recipient.lstrip("-").isdigit() else recipient
        body = {
            "chat_id": chat,
            "text": message.html,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        try:
            response = await self._client.post(self._url, json=body)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"Telegram: {type(exc).__name__}", retryable=True) from None
        data = _json(response)
        if response.status_code == 200 and data.get("ok") is True:
            return
        error = _http_failure("Telegram", response, str(data.get("description", "")))
        parameters = data.get("parameters")
        if isinstance(parameters, dict) and isinstance(parameters.get("retry_after"), int | float):
            error.retry_after = float(parameters["retry_after"])
        if response.status_code == 200:
            error.retryable = True  # 200 without ok: not Telegram's answer
        raise error

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int = 587
    sender: str = "ioc-alerts@example.invalid"
    user: str = ""
    password: str = ""
    starttls: bool = True
    timeout_s: float = 10.0


class EmailChannel:
    """One e-mail (plain text and HTML) to the comma-separated recipients, over SMTP.

    smtplib blocks, so each send runs in a thread; an alert mail is rare enough that a
    connection per message is simpler than keeping one open.
    """

    name = "email"
    limit: int | None = None
    max_alerts = 50

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(self, recipient: str, message: Message) -> None:
        """Deliver in a worker thread."""
        await asyncio.to_thread(self._send, recipient, message)

    def _send(self, recipient: str, message: Message) -> None:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.config.sender
        mail["To"] = recipient
        mail.set_content(message.text)
        body = f'<div style="font-family:sans-serif;white-space:pre-wrap">{message.html}</div>'
        mail.add_alternative(f"<html><body>{body}</body></html>", subtype="html")
        c = self.config
        try:
            with smtplib.SMTP(c.host, c.port, timeout=c.timeout_s) as smtp:
                if c.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if c.user:
                    smtp.login(c.user, c.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(
                f"SMTP refused every recipient: {codes}",
                retryable=all(400 <= c < 500 for c in codes),
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP answered {exc.smtp_code}", retryable=400 <= exc.smtp_code < 500
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}", retryable=True) from None

    async def close(self) -> None:
        """Nothing is kept open."""
