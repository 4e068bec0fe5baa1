"""Collects the records of one receiver transport into bus batches (size or linger, whichever first).

Shared by the syslog transports: TCP and TLS connections ``await add`` (waiting while ``MAX_INFLIGHT``
batches are stuck on a full bus, which stops their reading: backpressure), UDP uses ``add_nowait`` (a
full bus then drops the batch, counted per sensor as ``backpressure``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence

from mimamori.bus.base import Bus
from mimamori.domain import RawRecord
from mimamori.errors import BackpressureError
from mimamori.ingest.stats import ReceiverStats

__all__ = ["MAX_INFLIGHT", "Batcher"]

log = logging.getLogger(__name__)

MAX_INFLIGHT = 4  # batches of one transport waiting on the bus before TCP connections stop reading


class Batcher:
    """Collects records of one transport into bus batches (size or linger, whichever first)."""

    def __init__(self, bus: Bus, stats: ReceiverStats, size: int, linger_s: float, *, wait: bool) -> None:
        self._bus, self._stats, self._size, self._linger, self._wait = bus, stats, size, linger_s, wait
        self._buf: list[RawRecord] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._room = asyncio.Event()
        self._room.set()

    async def add(self, records: Sequence[RawRecord]) -> None:
        """Queue records; waits while ``MAX_INFLIGHT`` batches are stuck on a full bus (TCP)."""
        while len(self._tasks) >= MAX_INFLIGHT:
            await self._room.wait()
        self.add_nowait(records)

    def add_nowait(self, records: Sequence[RawRecord]) -> None:
        """Queue records without waiting (UDP; a full bus then drops batches)."""
        if not self._buf:
            self._timer = asyncio.get_running_loop().call_later(self._linger, self._on_linger)
        self._buf.extend(records)
        while len(self._buf) >= self._size:
            batch = self._buf[: self._size]
            del self._buf[: self._size]
            self._spawn(batch)
        if not self._buf:
            self._cancel_timer()

    async def flush(self, timeout: float) -> None:
        """Publish what is buffered and wait for every publish; drop (and count) what is still stuck."""
        self._cancel_timer()
        if self._buf:
            self._spawn(self._buf)
            self._buf = []
        tasks = list(self._tasks)
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=timeout)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)

    def _on_linger(self) -> None:
        self._timer = None
        if self._buf:
            batch, self._buf = self._buf, []
            self._spawn(batch)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _spawn(self, batch: list[RawRecord]) -> None:
        task = asyncio.get_running_loop().create_task(self._publish(batch))
        self._tasks.add(task)
        if len(self._tasks) >= MAX_INFLIGHT:
            self._room.clear()
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if len(self._tasks) < MAX_INFLIGHT:
            self._room.set()

    async def _publish(self, batch: list[RawRecord]) -> None:
        reason = ""
        try:
            await self._bus.publish(batch, wait=self._wait)
        except BackpressureError:
            reason = "backpressure"
        except asyncio.CancelledError:
            reason = "shutdown"
            raise
        except Exception:
            log.exception("syslog: publishing a batch of %d records failed", len(batch))
            reason = "bus-error"
        finally:
            if reason:
                for sensor_id, count in Counter(r.sensor_id for r in batch).items():
                    self._stats.dropped(sensor_id, reason, count)
