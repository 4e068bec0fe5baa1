"""``mimamori scheduler``: the jobs that must run once across the cluster.

Notification routing, delivery and the 24-hour escalation ladder, threat-intelligence feed refresh (with
its retro-hunt), indicator and observation expiry, and event-archive compaction and retention. Any number of
scheduler processes may run (for availability); a PostgreSQL advisory lock
(:class:`mimamori.storage.locks.LeaderElection`) lets exactly one of them work at a time, and another
takes over within seconds when its session ends (the process died or lost the database).

Workers announce new alerts on a NATS subject (``<prefix>.alerts``); the leader wakes its notifier at
once, so an alert's first notification does not wait for the fallback poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from mimamori.config import Settings
from mimamori.services import events as event_archive
from mimamori.services import feeds, indicators
from mimamori.services.notifier import Notifier
from mimamori.storage import Database
from mimamori.storage.locks import LeaderElection

__all__ = ["LOCK_NAME", "Scheduler"]

log = logging.getLogger(__name__)

LOCK_NAME = "mimamori-scheduler"
FEED_CHECK_SECONDS = 60.0
ARCHIVE_MAINTENANCE_SECONDS = 3600.0


class Scheduler:
    """Leads or waits; while leading, runs the notifier, the feed job and archive maintenance."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        retry_seconds: float = 5.0,
        check_seconds: float = 5.0,
    ) -> None:
        self.settings = settings
        self.db = db
        self.election = LeaderElection(
            db, LOCK_NAME, retry_seconds=retry_seconds, check_seconds=check_seconds
        )
        self.notifier = Notifier(db, settings) if settings.notify_enabled else None
        self.terms = 0  # how many times this process became the leader

    def wake(self) -> None:
        """New alerts were committed somewhere: route and send now (no-op while not leading)."""
        if self.notifier is not None and self.election.is_leader:
            self.notifier.wake()

    async def run(self) -> None:
        """Lead whenever possible, until cancelled."""
        try:
            while True:
                await self.election.acquire_or_wait()
                self.terms += 1
                jobs = self._jobs()
                tasks = [asyncio.create_task(job, name=name) for name, job in jobs]
                watcher = asyncio.create_task(self.election.watch(), name="leader-watch")
                try:
                    await asyncio.wait([watcher, *tasks], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for task in (watcher, *tasks):
                        task.cancel()
                    for task in (watcher, *tasks):
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await task
                log.warning("scheduler: leadership ended; waiting to lead again")
                await self.election.release()
        finally:
            self.election.release_now()

    def _jobs(self) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        jobs: list[tuple[str, Coroutine[Any, Any, None]]] = [
            ("feeds", self._every(FEED_CHECK_SECONDS, self._feeds)),
            ("archive-maintenance", self._every(ARCHIVE_MAINTENANCE_SECONDS, self._archive)),
        ]
        if self.notifier is not None:
            jobs.append(("notifier", self.notifier.run()))
        return jobs

    async def _every(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            started = time.monotonic()
            try:
                await job()
            except Exception:
                log.exception("scheduled job failed")
            await asyncio.sleep(max(1.0, seconds - (time.monotonic() - started)))

    async def _feeds(self) -> None:
        results = await asyncio.to_thread(feeds.refresh_due, self.db, self.settings)
        for result in results:
            log.info("feed %s: %s", result.name, result.status)
        await asyncio.to_thread(indicators.housekeeping, self.db, self.settings)

    async def _archive(self) -> None:
        if self.settings.archive_enabled:
            await asyncio.to_thread(event_archive.maintain, self.settings)
