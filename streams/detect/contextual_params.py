"""Parameters of the contextual detector (CAD OSE): a plain frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ContextualParams:
    """The contextual detector (CAD OSE, :mod:`streams.detect.contextual`).

    ``base_threshold``, ``max_left``, ``max_neurons`` and ``value_bits`` are the
    reference's (``baseThreshold``, ``maxLeftSemiContextsLenght``,
    ``maxActiveNeuronsNum``, ``numNormValueBits``); ``rest_period`` is its
    ``restPeriod`` in points (NAB passes 15 % of the file / 5, at most 150).
    """

    rest_period: int = 100
    base_threshold: float = 0.6
    max_left: int = 7
    max_neurons: int = 15
    value_bits: int = 3
    max_contexts: int = 1000
    """Contexts held per (entity, metric); the least recently used beyond go."""
    warmup: int = 300
    """Points during which the range follows every new extreme (with ``headroom``)."""
    headroom: float = 1.0
    """Share of the spread seen in the warm-up added on each side of the range."""
    growth: float = 0.0
    """After the warm-up, a value beyond the range moves that side past it by this
    share of the new spread (0: just to the value)."""
    floor_zero: bool = True
    """Keep the range's low end at 0 while nothing negative was seen."""
    open_score: float = 0.6
    resolve_score: float = 0.4
    critical_score: float = 0.95
    open_points: int = 1
    resolve_points: int = 3
