"""An Alertmanager webhook body, checked and parsed (pure, no I/O).

Alertmanager's webhook_config posts version 4 of this JSON (its documentation, "webhook
receiver"): ``receiver``, ``status``, ``alerts[]`` (each with ``status``, ``labels``,
``annotations``, ``startsAt``, ``endsAt``, ``generatorURL``, ``fingerprint``),
``groupLabels``, ``commonLabels``, ``commonAnnotations``, ``externalURL``, ``groupKey``,
``truncatedAlerts``. The receiver is reachable by anything on its network, so the body
is treated as untrusted: bytes that are not UTF-8, JSON that is not an object, nesting
deeper than a notification ever has, and fields of the wrong type are refused with a
message that says which, never with a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas.errors import IocError

MAX_DEPTH = 8
"""A notification nests 4 deep (body → alerts → alert → labels); 8 leaves room."""


class PayloadError(IocError):
    """The body is not an Alertmanager notification; the message says why (HTTP 400)."""


@dataclass(frozen=True, slots=True)
class Alert:
    status: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    generator_url: str = ""

    @property
    def resolved(self) -> bool:
        """True once Alertmanager says it ended."""
        return self.status == "resolved"


@dataclass(frozen=True, slots=True)
class Notification:
    receiver: str
    status: str
    alerts: tuple[Alert, ...]
    group_labels: Mapping[str, str] = field(default_factory=dict)
    common_labels: Mapping[str, str] = field(default_factory=dict)
    common_annotations: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""


def decode(body: bytes) -> Notification:
    """Bytes of a POST → a notification, or :class:`PayloadError`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"body is not UTF-8 (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise PayloadError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise PayloadError(f"body is not JSON: {exc}") from None
    if _depth(data) > MAX_DEPTH:
        raise PayloadError(f"JSON nested deeper than {MAX_DEPTH} levels")
    return parse(data)


def parse(data: Any) -> Notification:
    """A decoded JSON value → a notification, or :class:`PayloadError`."""
    if not isinstance(data, dict):
        raise PayloadError("body is not a JSON object")
    alerts = data.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise PayloadError("'alerts' is missing, empty or not a list")
    return Notification(
        receiver=_text(data, "receiver"),
        status=_status(data, "notification"),
        alerts=tuple(_alert(a, i) for i, a in enumerate(alerts)),
        group_labels=_strings(data, "groupLabels"),
        common_labels=_strings(data, "commonLabels"),
        common_annotations=_strings(data, "commonAnnotations"),
        external_url=_text(data, "externalURL"),
    )


def parse_time(value: str) -> datetime | None:
    """RFC 3339 as Go writes it → aware UTC; Go's zero time (``0001-01-01…``) → None.

    Go writes up to nine fractional digits; Python reads six, so the rest is dropped.
    """
    if not value or value.startswith("0001-01-01"):
        return None
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00"))
    try:
        parsed = datetime.fromisoformat(trimmed)
    except ValueError:
        raise PayloadError(f"not an RFC 3339 time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        raise PayloadError(f"a time without an offset: {value[:40]!r}")
    return parsed.astimezone(UTC)


def _alert(raw: Any, index: int) -> Alert:
    if not isinstance(raw, dict):
        raise PayloadError(f"alerts[{index}] is not an object")
    labels = _strings(raw, "labels", where=f"alerts[{index}]")
    if not labels:
        raise PayloadError(f"alerts[{index}] has no labels")
    return Alert(
        status=_status(raw, f"alerts[{index}]"),
        labels=labels,
        annotations=_strings(raw, "annotations", where=f"alerts[{index}]"),
        starts_at=parse_time(_text(raw, "startsAt", where=f"alerts[{index}]")),
        ends_at=parse_time(_text(raw, "endsAt", where=f"alerts[{index}]")),
        generator_url=_text(raw, "generatorURL", where=f"alerts[{index}]"),
    )


def _status(data: Mapping[str, Any], where: str) -> str:
    status = data.get("status")
    if status not in ("firing", "resolved"):
        raise PayloadError(f"{where} status is {status!r}, not 'firing' or 'resolved'")
    return str(status)


def _text(data: Mapping[str, Any], key: str, *, where: str = "body") -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise PayloadError(f"{where}.{key} is not a string")
    return value


def _strings(data: Mapping[str, Any], key: str, *, where: str = "body") -> dict[str, str]:
    value = data.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise PayloadError(f"{where}.{key} is not an object of strings")
    return dict(value)


def _depth(value: Any) -> int:
    """Nesting depth of a JSON value, without recursion (a hostile body may be deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest
