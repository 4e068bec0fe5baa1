"""When a failed delivery is tried again: exponential backoff with jitter, and when to give up."""

from __future__ import annotations

import random
from datetime import timedelta

BASE = timedelta(seconds=30)  # wait after the first failure
CAP = timedelta(hours=1)  # longest wait between two attempts
MAX_ATTEMPTS = 10  # attempts before a notification is dead-lettered (~4 h of retrying with the defaults)
JITTER = 0.2  # ± fraction, so that many failed deliveries do not retry in lockstep


def retry_delay(
    attempts: int, *, base: timedelta = BASE, cap: timedelta = CAP, rng: random.Random | None = None
) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt (1 for the first failure)."""
    exponent = max(0, min(attempts - 1, 32))
    delay = min(cap.total_seconds(), base.total_seconds() * 2**exponent)
    spread = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return timedelta(seconds=max(0.0, delay * spread))


def gives_up(attempts: int, *, max_attempts: int = MAX_ATTEMPTS) -> bool:
    """Whether a notification that failed ``attempts`` times is dead."""
    return attempts >= max_attempts
