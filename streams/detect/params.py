"""Detector parameters: one plain, frozen dataclass with the project's defaults.

The defaults are tabled in docs/architecture.md, "Anomalies and detectors". The
province profile overrides them (:func:`streams.detect.profile.params_from_profile`);
``ioc backtest --params FILE`` overrides them from JSON (:func:`params_from_dict`).
Keeping them a plain dataclass (not pydantic) keeps the detector maths free of
validation cost on the hot path; the JSON loader validates once, up front.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from schemas.errors import IocError
from streams.detect.contextual_params import ContextualParams

Op = Literal["above", "below"]
Direction = Literal["both", "up", "down"]
AnomalyDetector = Literal["seasonal", "contextual"]

SEASONAL: AnomalyDetector = "seasonal"
"""The hour-of-week detector (docs/detectors.md, "The seasonal detector")."""
CONTEXTUAL: AnomalyDetector = "contextual"
"""CAD OSE, the contextual detector (docs/detectors.md, "The contextual detector")."""


class ParamsError(IocError):
    """Detector parameters that cannot be used (unknown field, bad value)."""


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    """``metric`` ``op`` ``threshold`` held for ``duration_s`` opens an anomaly.

    It resolves once the value is back past ``resolve_threshold`` (a hysteresis band;
    the threshold itself when None) for ``resolve_after_s``, so a value hovering on
    the threshold does not open and close an incident every minute.
    """

    name: str
    metric: str
    op: Op
    threshold: float
    duration_s: int = 0
    resolve_threshold: float | None = None
    resolve_after_s: int = 0
    critical: float | None = None
    severity: str = "warning"
    entity_kinds: tuple[str, ...] = ()
    on_holidays: bool = True
    scale: Literal["nominal_voltage"] | None = None
    """Thresholds are shares of the entity's nominal voltage (a 0.9 means 0.9 × 220 V)."""
    ignore_below: float | None = None
    """Values below this are another rule's business: no supply is an outage, not an
    undervoltage, so one incident does not page twice."""
    change: bool = False
    """Judge the change since the series' previous point, not the value: "≥ 5 more
    dossiers past due than yesterday" is a spike, a backlog carried over Tết is not."""

    def breached(self, value: float) -> bool:
        """True when ``value`` is on the anomalous side of the threshold."""
        if self.ignore_below is not None and value < self.ignore_below:
            return False
        return value > self.threshold if self.op == "above" else value < self.threshold

    def cleared(self, value: float) -> bool:
        """True when ``value`` is back past the resolve threshold (or out of scope)."""
        if self.ignore_below is not None and value < self.ignore_below:
            return True
        limit = self.threshold if self.resolve_threshold is None else self.resolve_threshold
        return value <= limit if self.op == "above" else value >= limit

    def is_critical(self, value: float) -> bool:
        """True when ``value`` is past the critical level (if the rule has one)."""
        if self.critical is None:
            return False
        return value > self.critical if self.op == "above" else value < self.critical

    def applies_to(self, entity_kind: str) -> bool:
        """True when the rule watches this kind of entity."""
        return not self.entity_kinds or entity_kind in self.entity_kinds


@dataclass(frozen=True, slots=True)
class SeasonalParams:
    """The seasonal (hour-of-week) detector.

    The score is ``1 - exp(-z / z_scale)`` of a robust z (distance from the
    baseline over 1.25 × the mean absolute deviation, ≈ σ for normal noise): with the
    defaults a point opens at z ≈ 5 and resolves below z ≈ 1.6.

    ``min_ratio`` and ``min_value`` gate what counts at all (the profile's QR surge is
    "3 × the baseline and at least 30 scans"): a point failing a gate scores no more
    than ``resolve_score``, however improbable it is.
    """

    warmup_days: float = 7.0
    min_history_days: float = 1.0
    alpha: float = 0.1
    huber_c: float = 3.0
    z_scale: float = 3.1
    open_score: float = 0.8
    resolve_score: float = 0.4
    critical_score: float = 0.97
    open_points: int = 3
    resolve_points: int = 3
    rel_spread_floor: float = 0.05
    abs_spread_floor: float = 1e-3
    direction: Direction = "both"
    min_ratio: float | None = None
    min_value: float | None = None
    trust_days: float = 1.0
    """Days of one hour a warm-up bucket needs before it is trusted (holidays too); one
    since the likelihood stage, which judges a young bucket's scores by their own spread."""
    week_visits: float = 1.0
    """Weeks of one hour of the week before the hour-of-week bucket is used."""
    midpoint: bool = True
    """Bucket a point by the middle of its window (timestamp − period / 2), not its end."""
    fallback_day_type: bool = False
    """With no trusted baseline of its own day type, an ordinary day is scored against
    the other (a first weekend against weekdays). Safe only behind ratio gates that the
    day types' differences stay under; holidays never fall back."""
    likelihood: bool = True
    """Alert on the anomaly likelihood of the score (streams/detect/likelihood.py), not the
    score itself: ``lik_open_points`` points with ``P(recent average) ≤ lik_epsilon``."""
    lik_window: int = 30
    """Raw scores averaged into the recent score."""
    lik_horizon: int = 2880
    """Memory of the recent score's mean and variance, in points (EWMA)."""
    lik_learning: int = 288
    """Scored points before the likelihood may alert."""
    lik_epsilon: float = 1e-4
    lik_min_sd: float = 0.02
    lik_clip: float = 3.0
    """A recent score teaches the moments at most this many deviations above their mean."""
    lik_open_points: int = 1


QR_SURGE = SeasonalParams(
    direction="up",
    min_ratio=3.0,
    min_value=30.0,
    # 15-minute windows: a 45-minute surge has two whole windows; the ratio and
    # minimum-count gates are what keep one window from paging on noise.
    open_points=1,
    resolve_points=2,
    # One day of one hour is four noisy counts as well (a 15 % error eats half the margin
    # between a 4× surge and the 3× gate): until a weekend hour was seen on two days, a
    # Sunday borrows the weekday baseline scaled to its own level, as Saturday did.
    trust_days=2.0,
    week_visits=2.0,  # one week of one hour is four noisy counts; all weekdays are more
    fallback_day_type=True,  # a weekend stays well under 3× a weekday at every check-point
    likelihood=False,  # gated by ratio and count; one window opens (docs/detectors.md)
)

DEFAULT_RULES: tuple[ThresholdRule, ...] = (
    ThresholdRule(
        name="undervoltage",
        metric="voltage_min_v",
        op="below",
        threshold=0.9,
        duration_s=180,
        resolve_threshold=0.92,
        resolve_after_s=120,
        critical=0.85,
        entity_kinds=("meter",),
        scale="nominal_voltage",
        ignore_below=0.1,  # no supply: the outage rule's business
    ),
    ThresholdRule(
        name="congestion",
        metric="congestion_index",
        op="above",
        threshold=0.6,
        duration_s=600,
        resolve_threshold=0.5,
        resolve_after_s=300,
        critical=0.8,
        entity_kinds=("segment",),
    ),
    ThresholdRule(
        name="outage",
        metric="voltage_max_v",
        op="below",
        threshold=0.1,  # no meter of the feeder has supply
        duration_s=120,
        resolve_threshold=0.5,
        resolve_after_s=120,
        severity="critical",
        entity_kinds=("feeder",),
        scale="nominal_voltage",
    ),
    ThresholdRule(
        name="meters_offline",
        metric="meters_reporting_ratio",
        op="below",
        threshold=0.5,
        duration_s=180,
        resolve_threshold=0.8,
        resolve_after_s=120,
        entity_kinds=("feeder",),
    ),
    ThresholdRule(
        name="overdue_spike",
        metric="overdue",
        op="above",
        # Five or more dossiers went past due today (open past due at the day's end,
        # up by five on the day before), the profile's overdue_spike_count.
        threshold=4.0,
        change=True,
        entity_kinds=("agency",),
    ),
)


@dataclass(frozen=True, slots=True)
class DetectorParams:
    """Every knob of the detector suite.

    Defaults: docs/architecture.md, "Anomalies and detectors".
    """

    rules: tuple[ThresholdRule, ...] = DEFAULT_RULES
    seasonal: SeasonalParams = field(default_factory=SeasonalParams)
    seasonal_by_metric: Mapping[str, SeasonalParams] = field(
        default_factory=lambda: {"scans_in": QR_SURGE}
    )
    seasonal_metrics: tuple[str, ...] = ()
    """Metrics that get the seasonal detector although they also have rules (or the
    default is the contextual one)."""
    contextual: ContextualParams = field(default_factory=ContextualParams)
    contextual_metrics: tuple[str, ...] = ()
    """Metrics that get the contextual detector although they also have rules (or the
    default is the seasonal one)."""
    default_detector: AnomalyDetector = CONTEXTUAL
    """What a metric without a rule gets; one with its own ``seasonal_by_metric`` entry
    (the QR surge) keeps the seasonal detector. Decision 0029."""
    quiet_metrics: tuple[str, ...] = ("mean_speed_kmh", "power_kw_mean", "on_time_rate")
    """Metrics observed for context only: no detector runs on them unless a rule names
    them. A seasonal detector on a meter's power or a sensor's speed would page again,
    once per meter or sensor, for the outage or congestion a rule already reported; an
    agency's daily on-time rate below target is a KPI the panels colour, not an
    incident (see docs/decisions/0007)."""
    holidays: tuple[str, ...] = ()
    """Local dates (ISO, e.g. ``2027-02-06``) with their own seasonal baseline."""
    timezone: str = "Asia/Ho_Chi_Minh"
    silence_periods: float = 3.0
    max_speed_kmh: float = 200.0
    register_max_kwh: float = 999_999.9
    reset_floor_kwh: float = 10.0
    nominal_voltage_v: float = 220.0
    nominal_voltage_by_entity: Mapping[str, float] = field(default_factory=dict)
    register_max_by_entity: Mapping[str, float] = field(default_factory=dict)

    def nominal_voltage(self, entity_id: str) -> float:
        """Nominal voltage of a meter (or feeder): the profile's, else the default."""
        return self.nominal_voltage_by_entity.get(entity_id, self.nominal_voltage_v)

    def register_max(self, entity_id: str) -> float:
        """Where a meter's register wraps."""
        return self.register_max_by_entity.get(entity_id, self.register_max_kwh)

    def seasonal_for(self, metric: str) -> SeasonalParams:
        """Seasonal parameters of ``metric`` (per-metric overrides win)."""
        return self.seasonal_by_metric.get(metric, self.seasonal)

    def rules_for(self, metric: str, entity_kind: str) -> tuple[ThresholdRule, ...]:
        """The rules watching ``metric`` of this kind of entity."""
        return tuple(r for r in self.rules if r.metric == metric and r.applies_to(entity_kind))

    def runs_seasonal(self, metric: str) -> bool:
        """Seasonal for listed metrics and, when it is the default, for metrics without a rule.

        A metric with its own seasonal parameters (``seasonal_by_metric``) counts as
        listed unless it is a contextual one.
        """
        if metric in self.quiet_metrics:
            return False
        if metric in self.seasonal_metrics:
            return True
        if metric in self.contextual_metrics or any(r.metric == metric for r in self.rules):
            return False
        return self.default_detector == SEASONAL or metric in self.seasonal_by_metric

    def runs_contextual(self, metric: str) -> bool:
        """Contextual for listed metrics and, as the default, for other metrics without a rule."""
        if metric in self.quiet_metrics:
            return False
        if metric in self.contextual_metrics:
            return True
        if metric in self.seasonal_metrics or any(r.metric == metric for r in self.rules):
            return False
        return self.default_detector == CONTEXTUAL and metric not in self.seasonal_by_metric


# --- JSON (ioc backtest --params, docs) ---------------------------------------


def _build(cls: type[Any], data: Mapping[str, Any], where: str) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ParamsError(f"{where}: unknown field(s) {', '.join(unknown)}")
    try:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
    except TypeError as exc:
        raise ParamsError(f"{where}: {exc}") from None


def _merge(base: Any, data: Mapping[str, Any], where: str) -> Any:
    merged = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    merged.update(data)
    return _build(type(base), merged, where)


def params_from_dict(data: Mapping[str, Any], base: DetectorParams | None = None) -> DetectorParams:
    """``base`` (the defaults) overridden by a JSON-like mapping.

    Rules merge by name: a rule whose name exists overrides its fields, a new name adds
    a rule. ``seasonal`` merges field by field; ``seasonal_by_metric`` maps a metric to
    such a partial ``seasonal`` object.
    """
    base = base or DetectorParams()
    if not isinstance(data, Mapping):
        raise ParamsError("parameters must be a JSON object")
    data = dict(data)
    rules = {r.name: r for r in base.rules}
    for i, raw in enumerate(data.pop("rules", [])):
        if not isinstance(raw, Mapping) or "name" not in raw:
            raise ParamsError(f"rules[{i}]: a rule is an object with a name")
        current = rules.get(str(raw["name"]))
        where = f"rules[{i}]"
        rules[str(raw["name"])] = (
            _merge(current, raw, where) if current else _build(ThresholdRule, raw, where)
        )
    seasonal = _merge(base.seasonal, data.pop("seasonal", {}), "seasonal")
    by_metric = dict(base.seasonal_by_metric)
    for metric, raw in dict(data.pop("seasonal_by_metric", {})).items():
        by_metric[metric] = _merge(by_metric.get(metric, seasonal), raw, f"seasonal.{metric}")
    contextual = _merge(base.contextual, data.pop("contextual", {}), "contextual")
    merged = _merge(base, data, "params")
    params: DetectorParams = dataclasses.replace(
        merged,
        rules=tuple(rules.values()),
        seasonal=seasonal,
        seasonal_by_metric=by_metric,
        contextual=contextual,
    )
    _validate(params)
    return params


def params_to_dict(params: DetectorParams) -> dict[str, Any]:
    """The JSON form of ``params`` (what ``--params`` accepts)."""
    data = dataclasses.asdict(params)
    data["seasonal_by_metric"] = {
        m: dataclasses.asdict(s) for m, s in params.seasonal_by_metric.items()
    }
    return data


def _validate(params: DetectorParams) -> None:
    for rule in params.rules:
        if rule.op not in ("above", "below"):
            raise ParamsError(f"rule {rule.name}: op must be 'above' or 'below'")
        if rule.duration_s < 0 or rule.resolve_after_s < 0:
            raise ParamsError(f"rule {rule.name}: durations must be >= 0")
        if rule.severity not in ("info", "warning", "critical"):
            raise ParamsError(f"rule {rule.name}: unknown severity {rule.severity!r}")
        if rule.scale not in (None, "nominal_voltage"):
            raise ParamsError(f"rule {rule.name}: scale must be null or 'nominal_voltage'")
    for name, s in {"seasonal": params.seasonal, **params.seasonal_by_metric}.items():
        if not 0 < s.resolve_score < s.open_score <= 1:
            raise ParamsError(f"{name}: need 0 < resolve_score < open_score <= 1")
        if not 0 < s.alpha <= 1 or s.open_points < 1 or s.resolve_points < 1:
            raise ParamsError(f"{name}: alpha in (0, 1], open/resolve points >= 1")
        if s.trust_days <= 0:
            raise ParamsError(f"{name}: trust_days must be > 0")
        if s.direction not in ("both", "up", "down"):
            raise ParamsError(f"{name}: direction must be both, up or down")
        if not 0 < s.lik_epsilon < 0.5 or s.lik_window < 1 or s.lik_horizon < 1:
            raise ParamsError(f"{name}: lik_epsilon in (0, 0.5), lik_window and lik_horizon >= 1")
        if s.lik_open_points < 1 or s.lik_min_sd <= 0:
            raise ParamsError(f"{name}: lik_open_points >= 1, lik_min_sd > 0")
    c = params.contextual
    if not 0 < c.resolve_score < c.open_score <= 1 or c.open_points < 1 or c.resolve_points < 1:
        raise ParamsError("contextual: need 0 < resolve_score < open_score <= 1, points >= 1")
    if c.rest_period < 0 or not 1 <= c.value_bits <= 8 or c.max_left < 1 or c.max_neurons < 1:
        raise ParamsError("contextual: rest_period >= 0, value_bits 1..8, max_left/neurons >= 1")
    if c.max_contexts < 10:
        raise ParamsError("contextual: max_contexts must be >= 10")
    if c.warmup < 0 or c.headroom < 0 or c.growth < 0:
        raise ParamsError("contextual: warmup, headroom and growth must be >= 0")
    if params.default_detector not in (SEASONAL, CONTEXTUAL):
        raise ParamsError("default_detector must be 'seasonal' or 'contextual'")
    if params.silence_periods <= 0:
        raise ParamsError("silence_periods must be > 0")
