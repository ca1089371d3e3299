"""An Alertmanager notification as people read it, in Vietnamese or English (pure).

One message per notification: a header (firing or resolved, severity, domain), then one
block per alert — what (the metric's human name, not ``voltage_min_v``), where (the
entity and its area's name), since when in Vietnam's time, observed against expected and
the normal band, the dashboard link and the runbook's absolute URL. Pipeline-health
alerts (``team="pipeline"``, Prometheus rules) have no entity or evidence: their block
is the rule's summary and description, the process, and the runbook.

The same lines are rendered twice: plain text (Zalo, e-mail) and Telegram's HTML subset
(``<b>``, ``<a>``; newlines stay newlines). Channels cap a message's length, so
:func:`render` drops alerts from the end ("and 3 more") until it fits rather than
cutting a line or a tag in half.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from urllib.parse import urljoin

from connectors.sinks.notify.payload import Alert, Notification
from connectors.sinks.notify.words import METRICS, UNITS, WORDS, Language
from schemas.timeutil import LOCAL_TZ

ANOMALY_SOURCE = "ioc-alerter"
ANOMALY_RUNBOOK = "docs/runbook.md#anomaly-alerts"
"""Anomaly alerts carry no runbook annotation; they all share this runbook section."""


@dataclass(frozen=True, slots=True)
class TemplateConfig:
    language: Language = "vi"
    runbook_base_url: str = "https://ioc.example.invalid/"
    """Where docs/ is published; a relative ``runbook`` annotation is joined to it."""
    area_names: Mapping[str, str] = field(default_factory=dict)
    zone: tzinfo = LOCAL_TZ


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str
    """Plain text: Zalo and the e-mail body."""
    html: str
    """Telegram's HTML subset."""


Line = tuple[str, str, bool]
"""(label, value, value is a link); an empty label is a title line."""


def render(
    notification: Notification,
    config: TemplateConfig,
    *,
    max_alerts: int = 10,
    limit: int | None = None,
) -> Message:
    """The message, with at most ``max_alerts`` blocks and, if given, ``limit`` characters."""
    shown = max(1, min(max_alerts, len(notification.alerts)))
    while True:
        message = _render(notification, config, shown)
        if limit is None or max(len(message.text), len(message.html)) <= limit:
            return message
        if shown == 1:
            # One alert that does not fit: cut the plain text, send it as escaped HTML.
            text = message.text[: limit - 1] + "…"
            return Message(message.subject, text, html.escape(text)[:limit])
        shown -= 1


def _render(notification: Notification, config: TemplateConfig, shown: int) -> Message:
    lang = config.language
    lines: list[Line] = [("", _header(notification, lang), False)]
    for alert in notification.alerts[:shown]:
        lines.append(("", "", False))
        lines.extend(_block(alert, notification, config))
    rest = len(notification.alerts) - shown
    if rest > 0:
        lines += [("", "", False), ("", "… " + _w("more", lang).format(n=rest), False)]
    first = notification.alerts[0]
    subject = f"[IOC] {_w(notification.status, lang)}: {_what(first, lang)}"
    where = _where(first, config)
    subject += f" — {where}" if where else ""
    subject += f" ({len(notification.alerts)})" if len(notification.alerts) > 1 else ""
    return Message(subject, _plain(lines), _html(lines))


def _header(notification: Notification, lang: Language) -> str:
    labels = {**notification.alerts[0].labels, **notification.common_labels}
    icon = "✅" if notification.status == "resolved" else _icon(labels.get("severity", ""))
    parts = [_w(labels["severity"], lang)] if labels.get("severity") else []
    if labels.get("team") == "pipeline":
        parts.append(_w("pipeline", lang))
    elif labels.get("domain"):
        parts.append(_w(labels["domain"], lang))
    count = len(notification.alerts)
    tail = f" ({count})" if count > 1 else ""
    return f"{icon} [{_w(notification.status, lang)}{tail}] " + " · ".join(parts)


def _block(alert: Alert, notification: Notification, config: TemplateConfig) -> list[Line]:
    lang = config.language
    mixed = alert.resolved and notification.status != "resolved"
    title = ("✅ " if mixed else "") + _what(alert, lang)
    lines: list[Line] = [("", title, False)]
    where = _where(alert, config)
    if where:
        lines.append((_w("where", lang), where, False))
    if alert.starts_at is not None:
        lines.append((_w("since", lang), _time(alert.starts_at, config), False))
    if alert.resolved and alert.ends_at is not None:
        lines.append((_w("until", lang), _time(alert.ends_at, config), False))
    evidence = _evidence(alert, lang)
    if evidence:
        lines.append((_w("observed", lang), evidence, False))
    description = alert.annotations.get("description", "")
    if not _is_anomaly(alert) and description:
        # An anomaly's description is the alerter's, in the dashboards' language; a
        # rule's is the only explanation a pipeline alert has.
        lines.append((_w("detail", lang), description, False))
    link = alert.annotations.get("dashboard") or alert.generator_url
    if link:
        lines.append((_w("dashboard", lang), link, True))
    runbook = runbook_url(alert, config.runbook_base_url)
    if runbook:
        lines.append((_w("runbook", lang), runbook, True))
    return lines


def runbook_url(alert: Alert, base_url: str) -> str:
    """The runbook as an absolute URL (a relative annotation joined to the base)."""
    path = alert.annotations.get("runbook") or (ANOMALY_RUNBOOK if _is_anomaly(alert) else "")
    if not path:
        return ""
    return urljoin(base_url if base_url.endswith("/") else base_url + "/", path)


def metric_name(metric: str, lang: Language) -> str:
    """``voltage_min_v`` → "Điện áp thấp nhất"; an unlisted metric → its words."""
    known = METRICS.get(metric)
    return known[lang] if known else metric.replace("_", " ")


def _what(alert: Alert, lang: Language) -> str:
    labels = alert.labels
    if _is_anomaly(alert) and labels.get("metric"):
        return metric_name(labels["metric"], lang)
    return alert.annotations.get("summary") or labels.get("alertname", "?")


def _where(alert: Alert, config: TemplateConfig) -> str:
    labels, lang = alert.labels, config.language
    if not _is_anomaly(alert):
        job, instance = labels.get("job", ""), labels.get("instance", "")
        if not job:
            return ""
        return f"{_w('process', lang)} {job}" + (f" ({instance})" if instance else "")
    kind, entity = labels.get("entity_kind", ""), labels.get("entity", "")
    place = f"{_w(kind, lang)} {entity}".strip() if entity else ""
    code = labels.get("area", "")
    unnamed = "" if code in ("", "unknown") else code
    area = config.area_names.get(code) or alert.annotations.get("area_name") or unnamed
    return ", ".join(part for part in (place, area) if part)


def _evidence(alert: Alert, lang: Language) -> str:
    notes = alert.annotations
    unit = _unit(alert.labels.get("metric", ""))
    observed = _number(notes.get("observed"), lang, unit)
    expected = _number(notes.get("expected"), lang, unit)
    low = _number(notes.get("expected_low"), lang, unit)
    high = _number(notes.get("expected_high"), lang, unit)
    band = f"{low}–{high}" if low and high else f"≥ {low}" if low else f"≤ {high}" if high else ""
    text = observed
    if expected:
        said = f"{_w('expected', lang)} {expected}"
        text = f"{text}, {said}" if text else said
    if band:
        said = f"{_w('band', lang)} {band}"
        text = f"{text} ({said})" if text else said
    return text


def _number(value: str | None, lang: Language, unit: str) -> str:
    if not value:
        return ""
    try:
        text = f"{float(value):.4g}"
    except ValueError:
        text = value
    if lang == "vi":
        text = text.replace(".", ",")  # Vietnamese writes 0,82
    return f"{text} {unit}" if unit else text


def _unit(metric: str) -> str:
    words = metric.split("_")
    return next((UNITS[w] for w in reversed(words) if w in UNITS), "")


def _time(moment: datetime, config: TemplateConfig) -> str:
    local = moment.astimezone(config.zone)
    shown = local.strftime("%H:%M %d/%m/%Y" if config.language == "vi" else "%Y-%m-%d %H:%M")
    return f"{shown} ({_w('local_time', config.language)})"


def _icon(severity: str) -> str:
    return {"critical": "🔴", "warning": "🟠"}.get(severity, "🔵")


def _is_anomaly(alert: Alert) -> bool:
    return alert.labels.get("source") == ANOMALY_SOURCE


def _w(key: str, lang: Language) -> str:
    return WORDS.get(key, {}).get(lang, key)


def _plain(lines: list[Line]) -> str:
    return "\n".join(f"{label}: {value}" if label else value for label, value, _ in lines).strip()


def _html(lines: list[Line]) -> str:
    out = []
    for label, value, link in lines:
        shown = html.escape(value)
        if link:
            shown = f'<a href="{html.escape(value, quote=True)}">{shown}</a>'
        out.append(
            f"<b>{html.escape(label)}:</b> {shown}" if label else f"<b>{shown}</b>" if value else ""
        )
    return "\n".join(out).strip()
