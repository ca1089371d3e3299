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

    rest_period: int = 150
    base_threshold: float = 0.75
    max_left: int = 7
    max_neurons: int = 15
    value_bits: int = 3
    max_contexts: int = 1000
    """Contexts held per (entity, metric); the least recently used beyond go."""
    open_score: float = 0.75
    resolve_score: float = 0.4
    critical_score: float = 0.95
    open_points: int = 1
    resolve_points: int = 3
