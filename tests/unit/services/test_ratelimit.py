"""Failed attempts per address in a sliding window, with a controllable clock."""

from __future__ import annotations

from mimamori.errors import BackpressureError
from mimamori.services.ratelimit import AttemptLimiter, RateLimitedError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limit_per_key_in_a_sliding_window() -> None:
    clock = Clock()
    limiter = AttemptLimiter(3, 600, clock=clock)
    for _ in range(2):
        limiter.failed("10.0.0.1")
        clock.now += 100
    assert limiter.retry_after("10.0.0.1") is None
    limiter.failed("10.0.0.1")  # third failure at t=1200
    assert limiter.retry_after("10.0.0.1") == 400  # the first (t=1000) leaves the window at t=1600
    assert limiter.retry_after("10.0.0.2") is None  # other addresses are not affected
    clock.now = 1600.5
    assert limiter.retry_after("10.0.0.1") is None
    limiter.failed("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") is not None  # t=1100, 1200, 1600.5 are within 600 s
    clock.now = 1000 + 600 * 10
    assert limiter.retry_after("10.0.0.1") is None


def test_memory_is_bounded() -> None:
    clock = Clock()
    limiter = AttemptLimiter(1, 600, clock=clock, max_keys=2)
    for key in ("a", "b", "c"):
        limiter.failed(key)
    assert limiter.retry_after("a") is None  # the oldest key was dropped
    assert limiter.retry_after("b") is not None
    assert limiter.retry_after("c") is not None


def test_the_error_is_a_429_with_a_clear_message() -> None:
    error = RateLimitedError(42.4)
    assert isinstance(error, BackpressureError)
    assert error.retry_after == 42.4
    assert "too many failed attempts" in str(error)
    assert "42" in str(error)
