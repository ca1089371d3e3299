"""The Numenta Anomaly Benchmark (NAB) score of detections on labelled series: pure maths.

NAB's published rules (Lavin & Ahmad 2015; github.com/numenta/NAB), as the independent
scorer the issue checks against states them:

* The first ``min(floor(0.15 * n), 750)`` rows of a file are probationary: a detection
  there earns and costs nothing, and a window lying wholly inside is not scored.
* A row is a detection when the detector flags it (``ioc backtest``'s ``is_anomaly``).
* Each window earns ``tpWeight * A(p) / A(-1)`` for its earliest scored detection,
  ``p = -(right - i + 1) / width`` and ``A(x) = 2 / (1 + exp(5x)) - 1`` (``-1`` past
  ``x > 3``): about ``tpWeight`` at the window's first row, falling towards 0 at its
  last. A window with no detection costs ``fnWeight``.
* A detection outside every window costs ``fpWeight * A(d)``, ``d = (i - right_prev) /
  (width_prev - 1)`` past the window before it (so a detection just after a window
  costs little), or ``fpWeight`` when no window precedes it (or it was one row wide).
* Normalised = ``100 * (raw - null) / (perfect - null)`` over the scored files, with
  ``perfect = tpWeight * windows`` and ``null = -fnWeight * scorable windows`` (a
  detector that never fires scores 0, a perfect one 100).

Windows are inclusive row ranges: a label's edges are the first rows with those
timestamps. No I/O here; :mod:`ioc.tooling.nab` reads the corpus and runs the detector.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
SHORT_NAMES = {
    "standard": "standard",
    "reward_low_FP_rate": "low FP",
    "reward_low_FN_rate": "low FN",
}
PROBATION_FRACTION = 0.15
PROBATION_CAP = 750
"""``PROBATION_FRACTION`` of NAB's 5,000-row reference length."""


class NabLabelError(ValueError):
    """A label window that is not a range of the file's rows (an edge no row has)."""


@dataclass(frozen=True, slots=True)
class Cost:
    """A profile's cost matrix (``CostMatrix`` of NAB's config/profiles.json)."""

    tp: float
    fn: float
    fp: float

    @classmethod
    def of(cls, matrix: Mapping[str, Any]) -> Cost:
        """From a ``CostMatrix`` (``tpWeight``, ``fnWeight``, ``fpWeight``)."""
        return cls(float(matrix["tpWeight"]), float(matrix["fnWeight"]), float(matrix["fpWeight"]))


def probation(rows: int) -> int:
    """Rows with a lower index are probationary (ignored)."""
    return min(math.floor(PROBATION_FRACTION * rows), PROBATION_CAP)


def scaled_sigmoid(x: float) -> float:
    """NAB's reward curve A(x): +0.987 at -1 (a window's start), 0 at 0, -1 beyond 3."""
    if x > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


MAX_TP = scaled_sigmoid(-1.0)


def window_rows(
    stamps: Sequence[Hashable], windows: Iterable[tuple[Hashable, Hashable]]
) -> list[tuple[int, int]]:
    """Label windows (start, end timestamps) as sorted inclusive row ranges.

    An edge is the first row holding that timestamp; ``stamps`` and the edges must be
    comparable values (parsed times), not raw text.
    """
    first: dict[Hashable, int] = {}
    for i, stamp in enumerate(stamps):
        first.setdefault(stamp, i)
    rows = []
    for start, end in windows:
        try:
            rows.append((first[start], first[end]))
        except KeyError as exc:
            raise NabLabelError(f"window edge {exc.args[0]} is not a row timestamp") from None
    return sorted(rows)


@dataclass
class FileOutcome:
    """What one file's detections earned, before any profile's weights."""

    name: str
    rows: int
    windows: int
    scorable_windows: int
    window_hits: list[float | None] = field(default_factory=list)
    """Per scorable window, A(p) of its earliest detection, or None when missed."""
    false_positives: int = 0
    fp_sum: float = 0.0
    """Sum of the unweighted false-positive penalties A(d) or -1 (each ≤ 0)."""
    probation_detections: int = 0

    @property
    def detected_windows(self) -> int:
        """Scorable windows with a detection."""
        return sum(hit is not None for hit in self.window_hits)

    def raw(self, cost: Cost) -> float:
        """The file's raw score under one profile."""
        total = cost.fp * self.fp_sum
        for hit in self.window_hits:
            total += -cost.fn if hit is None else max(-cost.fn, cost.tp * hit / MAX_TP)
        return total

    def as_dict(self, costs: Mapping[str, Cost]) -> dict[str, Any]:
        """JSON-ready, with the raw score under each of ``costs``."""
        return {
            "file": self.name,
            "rows": self.rows,
            "windows": self.windows,
            "scorable_windows": self.scorable_windows,
            "detected_windows": self.detected_windows,
            "false_positives": self.false_positives,
            "probation_detections": self.probation_detections,
            "raw": {name: round(self.raw(cost), 6) for name, cost in costs.items()},
        }


def assess(name: str, detected: Sequence[bool], windows: Sequence[tuple[int, int]]) -> FileOutcome:
    """Walk one file's rows in order: each window's earliest detection, misses, false positives.

    ``windows`` are sorted inclusive row ranges (:func:`window_rows`); ``detected`` has
    one flag per row.
    """
    n = len(detected)
    skip = probation(n)
    inside: list[int | None] = [None] * n  # the window a row is in (the later one on overlap)
    for k, (left, right) in enumerate(windows):
        if not 0 <= left <= right < n:
            raise NabLabelError(f"window rows {left}..{right} outside 0..{n - 1}")
        for i in range(left, right + 1):
            inside[i] = k
    best: list[float | None] = [None] * len(windows)
    out = FileOutcome(name, n, len(windows), sum(right >= skip for _, right in windows))
    prev_right: int | None = None  # the last window passed, for false positives after it
    prev_width = 0
    for i, hit in enumerate(detected):
        w = inside[i]
        if hit and i < skip:
            out.probation_detections += 1
        elif hit and w is not None:
            left, right = windows[w]
            reward = scaled_sigmoid(-(right - i + 1) / (right - left + 1))
            current = best[w]
            if current is None or reward > current:
                best[w] = reward
        elif hit:
            if prev_right is None or prev_width <= 1:
                penalty = -1.0
            else:
                penalty = scaled_sigmoid((i - prev_right) / (prev_width - 1))
            out.false_positives += 1
            out.fp_sum += penalty
        if w is not None and i == windows[w][1]:
            prev_right, prev_width = i, windows[w][1] - windows[w][0] + 1
    out.window_hits = [best[k] for k, (_, right) in enumerate(windows) if right >= skip]
    return out


def normalised(outcomes: Iterable[FileOutcome], cost: Cost) -> float:
    """``100 * (raw - null) / (perfect - null)`` over a set of files; NaN without windows."""
    chosen = list(outcomes)
    raw = sum(o.raw(cost) for o in chosen)
    perfect = cost.tp * sum(o.windows for o in chosen)
    null = -cost.fn * sum(o.scorable_windows for o in chosen)
    if perfect == null:
        return math.nan
    return 100.0 * (raw - null) / (perfect - null)


def scores(outcomes: Iterable[FileOutcome], costs: Mapping[str, Cost]) -> dict[str, float]:
    """The normalised score of each profile."""
    chosen = list(outcomes)
    return {name: normalised(chosen, cost) for name, cost in costs.items()}
