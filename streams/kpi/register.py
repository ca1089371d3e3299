"""Energy from cumulative registers: deltas between consecutive readings, order-independent.

The energy of a window is the sum, over the meter's readings stamped in the window,
of the register increase since the meter's previous *trusted* reading — previous in
event time, not in arrival order. A rollover (wrap at the profile's register maximum)
and a reset (a drop to near zero) are classified by the detectors' own
:func:`~streams.detect.classify_register`, so the KPI and the anomaly agree; any other
decrease is an impossible value: it contributes nothing and is not a base for the
next delta (a glitch of 100 → 50 → 101 yields 1 kWh, not 51).

A reading that arrives out of order is inserted where its time puts it: the
successor's delta shrinks and the reading's own appears. The change is returned as
contributions (−old, +new per affected reading) that the caller adds to the windows
exactly, so a replay in another order ends with the same sums.

Determinism under replay: the chain keeps the offset that added each reading, and the
"before" chain of an event at offset ``o`` is the readings added below ``o`` — so a
chain record written ahead of a crash gives the same contributions when the event is
replayed. Pruning uses the watermark persisted *before* the batch, under which every
event still to be replayed was accepted (see :func:`prune`).
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.detect import RegisterStep, classify_register

Reading = tuple[int, float, int]
"""(event time ms, register kWh, offset that added it)."""


@dataclass(frozen=True, slots=True)
class Contribution:
    """A change to the window of the reading stamped ``ts_ms``."""

    ts_ms: int
    kwh: float
    resets: int = 0
    rollovers: int = 0


def steps(
    readings: list[Reading], *, register_max_kwh: float, reset_floor_kwh: float
) -> list[tuple[RegisterStep, float]]:
    """(step, kWh) of each reading of a time-sorted chain."""
    base: float | None = None
    out: list[tuple[RegisterStep, float]] = []
    for _, kwh, _ in readings:
        step, delta = classify_register(
            base, kwh, register_max_kwh=register_max_kwh, reset_floor_kwh=reset_floor_kwh
        )
        if step is RegisterStep.BACKWARDS:
            out.append((step, 0.0))
            continue
        out.append((step, delta))
        base = kwh
    return out


def _by_reading(
    chain: list[Reading], register_max_kwh: float, reset_floor_kwh: float
) -> dict[tuple[int, int], tuple[RegisterStep, float]]:
    ordered = sorted(chain, key=lambda r: (r[0], r[2]))
    found = steps(ordered, register_max_kwh=register_max_kwh, reset_floor_kwh=reset_floor_kwh)
    return {(r[0], r[2]): s for r, s in zip(ordered, found, strict=True)}


def _flags(step: RegisterStep | None) -> tuple[int, int]:
    return int(step is RegisterStep.RESET), int(step is RegisterStep.ROLLOVER)


def contributions(
    chain: list[Reading],
    reading: Reading,
    *,
    register_max_kwh: float,
    reset_floor_kwh: float,
) -> list[Contribution]:
    """What adding ``reading`` changes, given the readings added before its offset."""
    offset = reading[2]
    before = [r for r in chain if r[2] < offset]
    old = _by_reading(before, register_max_kwh, reset_floor_kwh)
    new = _by_reading([*before, reading], register_max_kwh, reset_floor_kwh)
    out: list[Contribution] = []
    for key in sorted(new):
        new_step, new_kwh = new[key]
        old_step, old_kwh = old.get(key, (None, 0.0))
        if (new_step, new_kwh) == (old_step, old_kwh):
            continue
        new_resets, new_rollovers = _flags(new_step)
        old_resets, old_rollovers = _flags(old_step)
        if old_kwh:
            out.append(Contribution(key[0], -old_kwh))
        out.append(
            Contribution(key[0], new_kwh, new_resets - old_resets, new_rollovers - old_rollovers)
        )
    return out


def insert(chain: list[Reading], reading: Reading) -> list[Reading]:
    """The chain with ``reading`` in time order (idempotent per offset)."""
    if any(r[2] == reading[2] for r in chain):
        return chain
    return sorted([*chain, reading], key=lambda r: (r[0], r[2]))


def prune(
    chain: list[Reading],
    oldest_accepted_ms: int | None,
    *,
    register_max_kwh: float,
    reset_floor_kwh: float,
) -> list[Reading]:
    """Drop readings no accepted event can need: keep from the last trusted one before the bound.

    ``oldest_accepted_ms`` must come from the watermark persisted before the batch:
    every event replayed after a crash is later than it, so its predecessor is either
    kept or is that last trusted reading.
    """
    if oldest_accepted_ms is None:
        return chain
    ordered = sorted(chain, key=lambda r: (r[0], r[2]))
    found = steps(ordered, register_max_kwh=register_max_kwh, reset_floor_kwh=reset_floor_kwh)
    keep_from = 0
    for i, (reading, (step, _)) in enumerate(zip(ordered, found, strict=True)):
        if reading[0] >= oldest_accepted_ms:
            break
        if step is not RegisterStep.BACKWARDS:
            keep_from = i
    return ordered[keep_from:]
