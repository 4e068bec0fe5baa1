"""Failed login attempts counted per client address in a sliding window (one process, in memory).

``AttemptLimiter.retry_after(key)`` is None while the address may try again, else the seconds until its
oldest counted failure leaves the window. Memory is bounded: at most ``max_keys`` addresses are tracked
(the ones with the oldest activity are dropped first). Several processes each count on their own
(docs/accounts.md). The clock is injectable for tests.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from mimamori.errors import BackpressureError

LOGIN_FAILURES = 10  # per address and window
LOGIN_WINDOW = 600.0  # seconds


class RateLimitedError(BackpressureError):
    """Too many failed attempts from one address (HTTP 429 with ``Retry-After``)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.args = (f"too many failed attempts from this address; try again in {retry_after:.0f} s",)


class AttemptLimiter:
    """At most ``limit`` failures per key in ``window`` seconds."""

    def __init__(
        self,
        limit: int = LOGIN_FAILURES,
        window: float = LOGIN_WINDOW,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, key: str) -> float | None:
        """None if ``key`` may try, else how many seconds it must wait."""
        with self._lock:
            now = self.clock()
            times = self._recent(key, now)
            if times is None or len(times) < self.limit:
                return None
            return max(1.0, times[0] + self.window - now)

    def failed(self, key: str) -> None:
        """Count one failure of ``key``."""
        with self._lock:
            now = self.clock()
            times = self._recent(key, now)
            if times is None:
                times = self._failures[key] = deque(maxlen=self.limit)
                while len(self._failures) > self.max_keys:
                    self._failures.popitem(last=False)
            else:
                self._failures.move_to_end(key)
            times.append(now)
