"""Order-independent float sums, and the small helpers every parts record uses.

Events reach a window in arrival order, which differs between a live run, a replay
and a test's reference. A plain ``+=`` would make the last bits of a sum depend on
that order; keeping the sum as Shewchuk's non-overlapping partials (what
:func:`math.fsum` does internally) makes the stored value the exactly rounded sum of
everything applied, whatever the order — so KPI sums compare *exactly* with an
independent reference, and a retraction (energy register re-ordering) cancels exactly.
"""

from __future__ import annotations

import math
from typing import Any

Partials = list[float]


def add_exact(partials: Partials, x: float) -> Partials:
    """Add ``x`` to a list of non-overlapping partials (in place; also returned)."""
    i = 0
    for y in partials:
        if abs(x) < abs(y):
            x, y = y, x
        hi = x + y
        lo = y - (hi - x)
        if lo:
            partials[i] = lo
            i += 1
        x = hi
    partials[i:] = [x]
    return partials


def total(partials: Partials | None) -> float:
    """The exactly rounded sum of the partials."""
    return math.fsum(partials) if partials else 0.0


def plus(partials: Partials | None, x: float) -> Partials:
    """``partials + x`` exactly: ``[x]`` for a new sum, else the same list, added to in place."""
    if partials is None:
        return [x]  # what add_exact([], x) makes, without the call (a new window)
    return add_exact(partials, x)


def lower(current: float | None, x: float) -> float:
    """``min(current, x)``, ``x`` when there is no current value."""
    return x if current is None else min(float(current), x)


def higher(current: float | None, x: float) -> float:
    """``max(current, x)``, ``x`` when there is no current value."""
    return x if current is None else max(float(current), x)


def ratio(numerator: float, denominator: float) -> float | None:
    """The quotient, None when the denominator is zero."""
    return numerator / denominator if denominator else None


def present(parts: Any, count: str, total: str, step: int | None) -> None:
    """Count what carried an optional measure, before ``total`` counts this observation.

    ``step`` is what this observation adds to ``count`` (``None``: it lacks the measure).
    The count is stored only once something lacked the measure, starting from ``total``
    so far; an absent count means every observation carried it — no memory spent on
    complete feeds, and windows begun before the counts existed read right.
    """
    if count in parts:
        parts[count] += step or 0
    elif step is None:
        parts[count] = parts.get(total, 0)
