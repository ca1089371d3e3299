"""Detection quality against a ground truth, scored with the hit rule.

The rule is stated in docs/architecture.md, "Detection quality".

A detection (an anomaly *opening*) is a hit when it opens on the injected entity and
metric between the injection's start and its end + 15 minutes; anything else is a
false positive — including every alert inside a negative control (rush hour,
weekend, Tết), which are also counted on their own. Recall is per injection (found
at least once), precision per detection. Pure code: the caller supplies the ground
truth and the detections.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

GRACE_MS = 15 * 60_000
ANY = "*"


@dataclass(frozen=True, slots=True)
class Injection:
    kind: str
    entity_kind: str
    entity_id: str
    metric: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class Control:
    """A period that must raise no alert: of a domain, metric or entity, or ``*`` for any."""

    kind: str
    start_ms: int
    end_ms: int
    domain: str = ANY
    metric: str = ANY
    entity_kind: str = ANY
    entity_id: str = ANY

    def covers(self, d: Detection, same_metric: Callable[[str, str], bool]) -> bool:
        """True when ``d`` opened inside this control."""
        return (
            self.start_ms <= d.detected_ms <= self.end_ms
            and self.domain in (ANY, d.domain)
            and (self.metric == ANY or same_metric(self.metric, d.metric))
            and self.entity_kind in (ANY, d.entity_kind)
            and self.entity_id in (ANY, d.entity_id)
        )


@dataclass(frozen=True, slots=True)
class Detection:
    """An anomaly opening: who, what, and the event time it was opened at."""

    detector: str
    domain: str
    entity_kind: str
    entity_id: str
    metric: str
    detected_ms: int
    anomaly_id: str = ""
    severity: str = "warning"


@dataclass
class KindScore:
    injections: int = 0
    hits: int = 0
    """Injections found at least once."""
    misses: int = 0
    detections: int = 0
    """Detections attributed to this kind (hits and false positives)."""
    hit_detections: int = 0
    false_positives: int = 0
    delays_s: list[float] = field(default_factory=list)

    @property
    def recall(self) -> float | None:
        """Share of injections found; None without injections."""
        return self.hits / self.injections if self.injections else None

    @property
    def precision(self) -> float | None:
        """Share of detections that are hits; None without detections."""
        return self.hit_detections / self.detections if self.detections else None

    @property
    def median_delay_s(self) -> float | None:
        """Median of (first detection − injection start) over the found injections."""
        return statistics.median(self.delays_s) if self.delays_s else None

    def as_dict(self) -> dict[str, Any]:
        """JSON form with the derived figures."""
        data = asdict(self)
        del data["delays_s"]
        data.update(
            recall=self.recall, precision=self.precision, median_delay_s=self.median_delay_s
        )
        return data


@dataclass
class QualityReport:
    kinds: dict[str, KindScore]
    overall: KindScore
    control_alerts: dict[str, int]
    false_positive_examples: list[dict[str, Any]]
    missed: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "kinds": {k: v.as_dict() for k, v in sorted(self.kinds.items())},
            "overall": self.overall.as_dict(),
            "control_alerts": dict(sorted(self.control_alerts.items())),
            "false_positive_examples": self.false_positive_examples,
            "missed": self.missed,
        }


def score(
    injections: Iterable[Injection],
    controls: Iterable[Control],
    detections: Iterable[Detection],
    *,
    kind_of: Callable[[Detection], str],
    metric_aliases: Mapping[str, Iterable[str]] | None = None,
    grace_ms: int = GRACE_MS,
    examples: int = 20,
) -> QualityReport:
    """Hits, misses, false positives, precision, recall and delay, per kind and overall.

    ``metric_aliases`` maps a ground-truth metric (the raw field the simulator
    changed, e.g. ``voltage_v``) to the KPI metrics detectors watch derived from it
    (``voltage_min_v`` of a meter, ``voltage_max_v`` of a feeder). A false positive is
    attributed to ``kind_of(detection)``: the kind its detector stands for.
    """
    aliases = {k: frozenset(v) for k, v in (metric_aliases or {}).items()}

    def same_metric(truth: str, detected: str) -> bool:
        return truth == detected or detected in aliases.get(truth, ())

    def matches(d: Detection, i: Injection) -> bool:
        return same_metric(i.metric, d.metric) and (
            i.start_ms <= d.detected_ms <= i.end_ms + grace_ms
        )

    injections = sorted(injections, key=lambda i: i.start_ms)
    controls = list(controls)
    kinds: dict[str, KindScore] = {}
    by_entity: dict[tuple[str, str], list[Injection]] = {}
    for inj in injections:
        kinds.setdefault(inj.kind, KindScore()).injections += 1
        by_entity.setdefault((inj.entity_kind, inj.entity_id), []).append(inj)
    first_hit: dict[Injection, int] = {}
    control_alerts = {c.kind: 0 for c in controls}
    fp_examples: list[dict[str, Any]] = []
    for d in sorted(detections, key=lambda d: d.detected_ms):
        match = next(
            (i for i in by_entity.get((d.entity_kind, d.entity_id), []) if matches(d, i)),
            None,
        )
        if match is not None:
            k = kinds[match.kind]
            k.detections += 1
            k.hit_detections += 1
            first_hit.setdefault(match, d.detected_ms)
            continue
        k = kinds.setdefault(kind_of(d), KindScore())
        k.detections += 1
        k.false_positives += 1
        for kind in {c.kind for c in controls if c.covers(d, same_metric)}:
            control_alerts[kind] += 1
        if len(fp_examples) < examples:
            fp_examples.append(asdict(d))
    missed: list[dict[str, Any]] = []
    for inj in injections:
        k = kinds[inj.kind]
        if inj in first_hit:
            k.hits += 1
            k.delays_s.append((first_hit[inj] - inj.start_ms) / 1000)
        else:
            k.misses += 1
            missed.append(asdict(inj))
    overall = KindScore()
    for k in kinds.values():
        overall.injections += k.injections
        overall.hits += k.hits
        overall.misses += k.misses
        overall.detections += k.detections
        overall.hit_detections += k.hit_detections
        overall.false_positives += k.false_positives
        overall.delays_s.extend(k.delays_s)
    return QualityReport(kinds, overall, control_alerts, fp_examples, missed)
