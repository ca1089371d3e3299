"""Order-independent float sums, and the small helpers every parts dict uses.

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


def add_sum(parts: dict[str, Any], name: str, x: float) -> None:
    """``parts[name] += x`` exactly (the field holds partials)."""
    partials = parts.get(name)
    if partials is None:
        parts[name] = [x]  # what add_exact([], x) makes, without the call (a new window)
    else:
        add_exact(partials, x)


def add_count(parts: dict[str, Any], name: str, n: int) -> None:
    """``parts[name] += n``."""
    parts[name] = int(parts.get(name, 0)) + n


def fold_min(parts: dict[str, Any], name: str, x: float | None) -> None:
    """``parts[name] = min(parts[name], x)`` ignoring None."""
    if x is None:
        return
    current = parts.get(name)
    parts[name] = x if current is None else min(float(current), x)


def fold_max(parts: dict[str, Any], name: str, x: float | None) -> None:
    """``parts[name] = max(parts[name], x)`` ignoring None."""
    if x is None:
        return
    current = parts.get(name)
    parts[name] = x if current is None else max(float(current), x)


def ratio(numerator: float, denominator: float) -> float | None:
    """The quotient, None when the denominator is zero."""
    return numerator / denominator if denominator else None
