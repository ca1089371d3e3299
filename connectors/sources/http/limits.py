"""Per-key admission: a token bucket for the request rate, a cap on requests in flight.

Pure arithmetic on a clock the caller passes in (seconds, monotonic): no I/O, no
asyncio, so every rule is tested with a hand-moved clock.

Hand-written rather than a library (the project prefers well-kept libraries): the
bucket is a dozen lines of arithmetic, the gateway needs its "seconds until the next
token" for ``Retry-After`` and must never wait for a token (aiolimiter, for one, is
built around an awaiting ``acquire``), and no dependency can be added while the lock
files cannot be regenerated (decision 0025).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Reason = Literal["rate", "in_flight"]


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` banked; one request takes one token.

    Starts full, so a client that was quiet may send ``burst`` requests at once.
    """

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be > 0, got {rate!r}")
        if not burst >= 1:
            raise ValueError(f"burst must be >= 1, got {burst!r}")
        self.rate = float(rate)
        self.burst = float(burst)
        self._tokens = self.burst
        self._last = now

    def _refill(self, now: float) -> None:
        # A clock that steps back mints nothing: time only counts from the latest instant
        # seen, so stepping back and forward again cannot refill the same interval twice.
        if now > self._last:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now

    def take(self, now: float) -> float:
        """Take one token: 0.0 when taken, else the seconds until one is available."""
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate

    def tokens(self, now: float) -> float:
        """Tokens available at ``now`` (for tests and diagnostics)."""
        self._refill(now)
        return self._tokens

    def reshape(self, rate: float, burst: float) -> None:
        """New limits for a key whose entry changed; what was banked stays, capped."""
        if not rate > 0 or not burst >= 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got {rate!r}, {burst!r}")
        self.rate, self.burst = float(rate), float(burst)
        self._tokens = min(self._tokens, self.burst)


def retry_after(seconds: float) -> int:
    """A ``Retry-After`` value: whole seconds, rounded up, at least 1."""
    if not math.isfinite(seconds):
        return 1
    return max(1, math.ceil(seconds))


@dataclass(frozen=True, slots=True)
class Throttled:
    """Why a request was not admitted and when to come back (whole seconds)."""

    reason: Reason
    retry_after_s: int


@dataclass(slots=True)
class _KeyState:
    bucket: TokenBucket
    in_flight: int = 0


class KeyLimiter:
    """Admission per key id: the rate (token bucket) and the requests in flight.

    ``admit`` either refuses (:class:`Throttled`) or counts one request in flight, which
    the caller must give back with ``release`` however the request ends. A refusal takes
    nothing: a request refused for being in flight spends no token, and one refused for
    its rate holds no slot. The state is in this process's memory: N gateways behind a
    load balancer admit up to N times the limits (decision 0025).
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: float,
        max_in_flight: int,
        clock: Callable[[], float],
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight!r}")
        TokenBucket(rate, burst, 0.0)  # the same checks as every bucket, at start
        self.rate = rate
        self.burst = burst
        self.max_in_flight = max_in_flight
        self._clock = clock
        self._keys: dict[str, _KeyState] = {}

    def _state(self, key_id: str, rate: float, burst: float, now: float) -> _KeyState:
        state = self._keys.get(key_id)
        if state is None:
            state = self._keys[key_id] = _KeyState(TokenBucket(rate, burst, now))
        elif (state.bucket.rate, state.bucket.burst) != (rate, burst):
            state.bucket.reshape(rate, burst)
        return state

    def admit(
        self, key_id: str, *, rate: float | None = None, burst: float | None = None
    ) -> Throttled | None:
        """None when admitted (one more in flight), else why not and for how long."""
        now = self._clock()
        state = self._state(
            key_id, self.rate if rate is None else rate, self.burst if burst is None else burst, now
        )
        if state.in_flight >= self.max_in_flight:
            return Throttled("in_flight", 1)
        wait = state.bucket.take(now)
        if wait > 0:
            return Throttled("rate", retry_after(wait))
        state.in_flight += 1
        return None

    def release(self, key_id: str) -> None:
        """One admitted request of ``key_id`` ended (in a ``finally``)."""
        state = self._keys.get(key_id)
        if state is not None and state.in_flight > 0:
            state.in_flight -= 1

    def in_flight(self, key_id: str) -> int:
        """Requests of ``key_id`` admitted and not yet released."""
        state = self._keys.get(key_id)
        return state.in_flight if state is not None else 0

    def forget(self, keep: set[str]) -> None:
        """Drop the state of keys no longer in the keys file (idle ones only)."""
        for key_id in [k for k, s in self._keys.items() if k not in keep and not s.in_flight]:
            del self._keys[key_id]
