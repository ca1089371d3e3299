"""How one anomaly looks to Alertmanager: labels, annotations, times (pure, no I/O).

Labels identify an alert: Alertmanager folds alerts with equal labels into one and
groups notifications by some of them (deploy/alertmanager/alertmanager.yml groups by
alertname, domain and group, so a feeder's silent meters arrive as one notification
while ``anomaly_id`` keeps each meter a separate alert). Annotations are text that may
change without making a new alert: the human summary and description, the dashboard
link, and the anomaly's evidence one value per annotation (``observed``, ``expected``,
``expected_low``, ``expected_high``, ``score``, ``detector``; a value the anomaly does
not have — a band's missing side — is left out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from connectors.sinks.vocabulary import DOMAINS, ENTITY_KINDS, SEVERITIES, Language, Words
from schemas.results import Anomaly, Severity
from schemas.timeutil import LOCAL_TZ, to_ms, to_utc

SOURCE = "ioc-alerter"
"""Label value routes match on, to tell anomalies from pipeline-health alerts."""

RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
MIN_SEVERITY = Severity.WARNING
"""Info anomalies are shown on dashboards, never paged."""

_WORDS: Words = {
    **SEVERITIES,
    **DOMAINS,
    **ENTITY_KINDS,
    "at": {"vi": "tại", "en": "at"},
    "observed": {"vi": "đo được", "en": "observed"},
    "expected": {"vi": "kỳ vọng", "en": "expected"},
    "band": {"vi": "khoảng", "en": "band"},
    "since": {"vi": "từ", "en": "since"},
    "score": {"vi": "điểm", "en": "score"},
}


def _word(key: str, language: Language) -> str:
    return _WORDS.get(key, {}).get(language, key)


def _number(value: float) -> str:
    return f"{value:.4g}"


def band_text(low: float | None, high: float | None) -> str | None:
    """A band as people read it: ``2–6.2``, ``≥ 198`` or ``≤ 0.6``; None without a bound."""
    if low is not None and high is not None:
        return f"{_number(low)}–{_number(high)}"
    if low is not None:
        return f"≥ {_number(low)}"
    if high is not None:
        return f"≤ {_number(high)}"
    return None


def evidence_text(anomaly: Anomaly, language: Language) -> str:
    """``observed 12.3, expected 4.1 (band 2–6.2)``: what was seen against what was normal.

    Empty when the anomaly carries none of them.
    """
    parts = []
    if anomaly.observed is not None:
        parts.append(f"{_word('observed', language)} {_number(anomaly.observed)}")
    band = band_text(anomaly.expected_low, anomaly.expected_high)
    band = f"{_word('band', language)} {band}" if band is not None else None
    if anomaly.expected is not None:
        expected = f"{_word('expected', language)} {_number(anomaly.expected)}"
        parts.append(f"{expected} ({band})" if band is not None else expected)
    elif band is not None:
        parts.append(band)
    return ", ".join(parts)


def evidence_annotations(anomaly: Anomaly) -> dict[str, str]:
    """The evidence one value per annotation (strings, as Alertmanager's are).

    Numbers keep six significant digits; a value the anomaly lacks is left out (a band
    with no lower bound has no ``expected_low``).
    """
    numbers = {
        "observed": anomaly.observed,
        "expected": anomaly.expected,
        "expected_low": anomaly.expected_low,
        "expected_high": anomaly.expected_high,
        "score": anomaly.score,
    }
    out = {name: f"{value:.6g}" for name, value in numbers.items() if value is not None}
    out["detector"] = anomaly.detector
    return out


def is_paged(severity: Severity) -> bool:
    """Severity ≥ warning goes to Alertmanager."""
    return RANK[severity] >= RANK[MIN_SEVERITY]


def alertname(domain: str, metric: str) -> str:
    """CamelCase, as Prometheus alert names are: energy + voltage_min_v → IocEnergyVoltageMinV."""
    words = [w for part in (domain, metric) for w in part.replace("-", "_").split("_") if w]
    return "Ioc" + "".join(w[:1].upper() + w[1:] for w in words)


def labels(anomaly: Anomaly) -> dict[str, str]:
    """The identity of the alert: a severity change is a new label set, hence a new alert."""
    return {
        "alertname": alertname(anomaly.domain.value, anomaly.metric),
        "source": SOURCE,
        "domain": anomaly.domain.value,
        "metric": anomaly.metric,
        "entity": anomaly.entity_id,
        "entity_kind": anomaly.entity_kind,
        "group": anomaly.group_id,
        # An empty label value means "no label" to Alertmanager; say so explicitly.
        "area": anomaly.area_code or "unknown",
        "severity": anomaly.severity.value,
        "anomaly_id": anomaly.anomaly_id,
    }


def label_key(label_set: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """A hashable form of a label set."""
    return tuple(sorted(label_set.items()))


def iso(value: datetime) -> str:
    """RFC 3339 in UTC with a Z, as Alertmanager's API documents."""
    return to_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Renderer:
    """Text and links for one deployment: language, Grafana address, area names."""

    language: Language = "vi"
    grafana_url: str = "http://127.0.0.1:3000"
    dashboards: Mapping[str, str] = field(default_factory=dict)
    """Domain → dashboard uid; unknown domains link to ``fallback_dashboard``."""
    fallback_dashboard: str = "ioc-anomalies"
    area_names: Mapping[str, str] = field(default_factory=dict)
    context: timedelta = timedelta(minutes=30)
    """Shown before the start and after the end of an anomaly in the linked panel."""

    def dashboard_url(self, anomaly: Anomaly) -> str:
        """The domain's dashboard at the anomaly's time range, the entity that fired selected.

        Open anomalies end at now; the entity variable shows its panels and shades its
        anomaly (ioc.ops.grafana.dashboards.entity).
        """
        uid = self.dashboards.get(anomaly.domain.value)
        start = to_ms(anomaly.started_at - self.context)
        end: int | str = (
            to_ms(anomaly.ended_at + self.context) if anomaly.ended_at is not None else "now"
        )
        query = {"orgId": 1, "from": start, "to": end}
        if anomaly.area_code:
            query["var-area"] = anomaly.area_code
        if uid is None:
            uid = self.fallback_dashboard
        else:
            query["var-entity"] = anomaly.entity_id
        return f"{self.grafana_url.rstrip('/')}/d/{uid}?{urlencode(query)}"

    def summary(self, anomaly: Anomaly) -> str:
        """One line: severity, what, where — and the evidence, observed against expected."""
        lang = self.language
        area = self.area_names.get(anomaly.area_code or "", anomaly.area_code or "?")
        evidence = evidence_text(anomaly, lang)
        return (
            f"{_word(anomaly.severity.value, lang)} {_word(anomaly.domain.value, lang)}: "
            f"{anomaly.metric} {_word('at', lang)} {_word(anomaly.entity_kind, lang)} "
            f"{anomaly.entity_id} ({area})" + (f" — {evidence}" if evidence else "")
        )

    def description(self, anomaly: Anomaly) -> str:
        """The detector's own words, then the numbers: evidence, score, detector, start."""
        lang = self.language
        parts = [anomaly.description] if anomaly.description else []
        evidence = evidence_text(anomaly, lang)
        if evidence:
            parts.append(evidence)
        parts.append(f"{_word('score', lang)} {anomaly.score:.3g} ({anomaly.detector})")
        local = anomaly.started_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        parts.append(f"{_word('since', lang)} {local}")
        return "; ".join(parts)

    def annotations(self, anomaly: Anomaly) -> dict[str, str]:
        """summary, description, dashboard (the link on-call staff open first), evidence.

        ``area_name`` too when the area is known: notification templates (Alertmanager's,
        which cannot look names up) show where in words, not the area's code.
        """
        notes = {
            "summary": self.summary(anomaly),
            "description": self.description(anomaly),
            "dashboard": self.dashboard_url(anomaly),
            **evidence_annotations(anomaly),
        }
        if anomaly.area_code:
            notes["area_name"] = self.area_names.get(anomaly.area_code, anomaly.area_code)
        return notes

    def payload(
        self, anomaly: Anomaly, label_set: Mapping[str, str], ends_at: datetime
    ) -> dict[str, Any]:
        """One postable alert of Alertmanager's v2 API."""
        url = self.dashboard_url(anomaly)
        return {
            "labels": dict(label_set),
            "annotations": self.annotations(anomaly),
            "startsAt": iso(anomaly.started_at),
            "endsAt": iso(ends_at),
            "generatorURL": url,
        }
