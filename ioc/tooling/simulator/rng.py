"""Seeded random streams and the few distributions the simulator needs (pure, stdlib only).

Every entity gets its own stream, seeded from text ``seed/purpose/entity``: adding a
sensor or an injection never shifts the numbers of another entity, and a run with
``--no-anomalies`` draws the same noise as one with them.
"""

from __future__ import annotations

import math
import random


def stream(seed: int, *parts: str) -> random.Random:
    """An independent generator for one purpose (and entity) of one seed."""
    # A str seed is hashed with SHA-512 (random's version-2 seeding): the same on every
    # platform and unaffected by PYTHONHASHSEED, which is what byte-identical runs need.
    return random.Random("/".join((str(seed), *parts)))  # noqa: S311 - simulation, not security


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson count with mean ``lam``."""
    if lam <= 0:
        return 0
    if lam < 30:
        # Knuth's product of uniforms: exact, and cheap at the small means we mostly have.
        limit = math.exp(-lam)
        k = 0
        p = rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def binomial(rng: random.Random, n: int, p: float) -> int:
    """Successes in ``n`` trials of probability ``p`` (normal approximation when large)."""
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    if n < 40:
        return sum(1 for _ in range(n) if rng.random() < p)
    sd = math.sqrt(n * p * (1 - p))
    return min(n, max(0, round(rng.gauss(n * p, sd))))


def split(rng: random.Random, n: int, shares: tuple[float, ...]) -> list[int]:
    """Split ``n`` items into classes with the given shares (a multinomial draw)."""
    counts = []
    left = n
    rest = 1.0
    for share in shares[:-1]:
        k = binomial(rng, left, min(1.0, share / rest)) if rest > 0 else 0
        counts.append(k)
        left -= k
        rest -= share
    counts.append(left)
    return counts


class Ar1:
    """A mean-zero AR(1) process: smooth noise with a stationary standard deviation ``sd``."""

    __slots__ = ("_innovation", "_phi", "_rng", "value")

    def __init__(self, rng: random.Random, phi: float, sd: float) -> None:
        self._rng = rng
        self._phi = phi
        self._innovation = sd * math.sqrt(1 - phi * phi)
        self.value = rng.gauss(0.0, sd)

    def step(self) -> float:
        """Advance one step and return the new value."""
        self.value = self._phi * self.value + self._rng.gauss(0.0, self._innovation)
        return self.value
