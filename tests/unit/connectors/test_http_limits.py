"""Per-key admission: token bucket arithmetic and the in-flight cap, on a hand-moved clock."""

from __future__ import annotations

import math

import pytest

from connectors.sources.http.limits import KeyLimiter, Throttled, TokenBucket, retry_after

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self, t: float = 1_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_a_full_bucket_admits_its_burst_then_says_when() -> None:
    bucket = TokenBucket(rate=2.0, burst=5, now=0.0)
    assert [bucket.take(0.0) for _ in range(5)] == [0.0] * 5
    assert bucket.take(0.0) == pytest.approx(0.5)  # one token every 1/rate s
    assert bucket.take(0.25) == pytest.approx(0.25)  # refused requests take nothing
    assert bucket.take(0.5) == 0.0
    assert bucket.take(0.5) == pytest.approx(0.5)


def test_refill_is_capped_at_the_burst() -> None:
    bucket = TokenBucket(rate=10.0, burst=3, now=0.0)
    for _ in range(3):
        bucket.take(0.0)
    assert bucket.tokens(0.1) == pytest.approx(1.0)
    assert bucket.tokens(3_600.0) == 3.0  # an hour's silence banks only the burst
    assert [bucket.take(3_600.0) for _ in range(4)][-1] == pytest.approx(0.1)


def test_a_clock_going_backwards_mints_no_tokens() -> None:
    bucket = TokenBucket(rate=1.0, burst=1, now=100.0)
    assert bucket.take(100.0) == 0.0
    assert bucket.take(50.0) == pytest.approx(1.0)  # stepped back: still empty
    # Forward again to just before a token is due: the step back gave nothing either.
    assert bucket.take(100.5) == pytest.approx(0.5)
    assert bucket.take(101.0) == 0.0
    assert bucket.take(101.0) > 0


def test_retry_after_is_whole_seconds_rounded_up_at_least_one() -> None:
    assert retry_after(0.001) == 1
    assert retry_after(0.0) == 1
    assert retry_after(1.0) == 1
    assert retry_after(1.01) == 2
    assert retry_after(59.5) == 60
    assert retry_after(math.inf) == 1
    assert retry_after(math.nan) == 1


def test_slow_rate_gives_a_long_retry_after() -> None:
    clock = Clock()
    limiter = KeyLimiter(rate=0.1, burst=1, max_in_flight=4, clock=clock)
    assert limiter.admit("k") is None
    limiter.release("k")
    assert limiter.admit("k") == Throttled("rate", 10)
    clock.t += 9.2
    assert limiter.admit("k") == Throttled("rate", 1)
    clock.t += 0.8
    assert limiter.admit("k") is None


@pytest.mark.parametrize(
    ("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0), (1.0, 0.5), (math.nan, 1)]
)
def test_nonsense_limits_are_refused(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        TokenBucket(rate, burst, 0.0)
    with pytest.raises(ValueError, match="must be"):
        KeyLimiter(rate=rate, burst=burst, max_in_flight=1, clock=Clock())


def test_in_flight_cap_and_release() -> None:
    limiter = KeyLimiter(rate=1_000.0, burst=1_000, max_in_flight=2, clock=Clock())
    assert limiter.admit("a") is None
    assert limiter.admit("a") is None
    assert limiter.admit("a") == Throttled("in_flight", 1)
    assert limiter.admit("b") is None  # per key: another key is not held back
    assert limiter.in_flight("a") == 2
    limiter.release("a")
    assert limiter.admit("a") is None
    for _ in range(5):  # released more often than admitted: never below zero
        limiter.release("a")
    assert limiter.in_flight("a") == 0
    limiter.release("never-seen")


def test_a_refusal_takes_nothing() -> None:
    clock = Clock()
    limiter = KeyLimiter(rate=1.0, burst=2, max_in_flight=1, clock=clock)
    assert limiter.admit("k") is None
    for _ in range(10):  # refused for being in flight: no token spent
        assert limiter.admit("k") == Throttled("in_flight", 1)
    limiter.release("k")
    assert limiter.admit("k") is None  # the burst's second token is still there
    limiter.release("k")
    assert limiter.admit("k") == Throttled("rate", 1)
    assert limiter.in_flight("k") == 0  # refused for its rate: holds no slot


def test_per_key_limits_win_and_a_change_reshapes_the_bucket() -> None:
    clock = Clock()
    limiter = KeyLimiter(rate=1_000.0, burst=1_000, max_in_flight=100, clock=clock)
    assert [limiter.admit("slow", rate=1.0, burst=2) for _ in range(3)][-1] == Throttled("rate", 1)
    for _ in range(50):  # the default is far higher
        assert limiter.admit("fast") is None
    # The keys file gave "slow" a larger burst: it applies, what was banked stays.
    clock.t += 1.0
    assert limiter.admit("slow", rate=1.0, burst=10) is None
    assert limiter.admit("slow", rate=1.0, burst=10) == Throttled("rate", 1)


def test_forget_drops_idle_keys_only() -> None:
    limiter = KeyLimiter(rate=1.0, burst=1, max_in_flight=1, clock=Clock())
    assert limiter.admit("gone") is None
    assert limiter.admit("idle") is None
    limiter.release("idle")
    limiter.forget(keep=set())
    assert limiter.in_flight("gone") == 1  # still in flight: its release must count
    assert limiter.admit("idle") is None  # forgotten: a fresh, full bucket
