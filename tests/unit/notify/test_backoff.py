"""Retry timing: exponential, capped, jittered; dead after the limit."""

from __future__ import annotations

import random
from datetime import timedelta

from mimamori.notify.backoff import JITTER, gives_up, retry_delay


def test_delays_double_and_stop_at_the_cap() -> None:
    rng = random.Random(1)
    base, cap = timedelta(seconds=30), timedelta(hours=1)
    for attempts, expected in ((1, 30), (2, 60), (3, 120), (8, 3600), (40, 3600)):
        delay = retry_delay(attempts, base=base, cap=cap, rng=rng).total_seconds()
        assert expected * (1 - JITTER) <= delay <= expected * (1 + JITTER)


def test_jitter_spreads_retries() -> None:
    rng = random.Random(2)
    delays = {retry_delay(3, rng=rng) for _ in range(20)}
    assert len(delays) > 10


def test_gives_up_at_the_limit() -> None:
    assert not gives_up(9, max_attempts=10)
    assert gives_up(10, max_attempts=10)
