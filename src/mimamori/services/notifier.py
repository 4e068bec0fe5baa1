"""The notifier: one loop that routes new alerts, escalates, sends digests, watches for silent sensors
and delivers — in the embedded runtime (woken by the pipeline when it created alerts) or on its own
(``mimamori notify run``, e.g. a separate process in the scale-out mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mimamori.config import Settings
from mimamori.services import notify_periodic, notify_plan
from mimamori.services.notify_delivery import Deliverer
from mimamori.storage import Database

log = logging.getLogger(__name__)

SCHEDULE_SECONDS = (
    60.0  # digests and silent-sensor checks run this often (cheap; their own periods are longer)
)
# Escalation steps are minutes apart, so the check for due steps need not run on every round (a busy
# notifier runs several rounds a second, one per wake-up); it runs when this much clock time has passed.
ESCALATE_SECONDS = 5.0
# Under load the workers' commits wake the notifier many times a second, and each round has a fixed cost
# (reading the outbox, its alerts, incidents and policies, claiming deliveries: ~10 statements). Rounds
# start at least this far apart, so one round takes the alerts of several commits; an alert that wakes
# an idle notifier is routed at once.
ROUND_GAP_SECONDS = 0.2


@dataclass(slots=True)
class NotifierTotals:
    routed: int = 0
    queued: int = 0
    escalated: int = 0
    digests: int = 0
    silent: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


class Notifier:
    """Runs the notification stages; ``tick`` is one synchronous round (tests call it with a clock)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], datetime] | None = None,
        deliverer: Deliverer | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self.deliverer = deliverer or Deliverer(db, settings, clock=self.clock)
        self.totals = NotifierTotals()
        self._last_schedule = float("-inf")
        self._last_escalation: datetime | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def tick(self, *, schedule: bool | None = None) -> int:
        """One round; returns how many notifications were attempted. ``schedule`` forces (or skips) the
        digest and silent-sensor checks, which otherwise run every ``SCHEDULE_SECONDS``; True also
        forces the check for due escalation steps (else at most every ``ESCALATE_SECONDS`` of clock)."""
        now = self.clock()
        planned = [notify_plan.process_outbox(self.db, self.settings, now)]
        last = self._last_escalation
        if schedule or last is None or abs((now - last).total_seconds()) >= ESCALATE_SECONDS:
            self._last_escalation = now
            planned.append(notify_plan.escalate_due(self.db, self.settings, now))
        due = time.monotonic() - self._last_schedule >= SCHEDULE_SECONDS
        if schedule if schedule is not None else due:
            self._last_schedule = time.monotonic()
            planned.append(notify_periodic.send_digests(self.db, self.settings, now))
            planned.append(notify_periodic.check_sensors(self.db, self.settings, now))
        for result in planned:
            self.totals.routed += result.outbox
            self.totals.queued += result.queued
            self.totals.escalated += result.escalated
            self.totals.digests += result.digests
            self.totals.silent += result.silent
            for kind, count in result.kinds.items():
                self.totals.kinds[kind] = self.totals.kinds.get(kind, 0) + count
        attempted = 0
        while True:  # deliver everything due now, in claim-sized rounds
            stats = self.deliverer.run_once()
            self.totals.sent += stats.sent
            self.totals.retried += stats.retried
            self.totals.dead += stats.dead
            attempted += stats.attempted
            # A short claim took everything due (this round queued its notifications before it).
            if not stats.full or stats.retried + stats.dead == stats.attempted:
                return attempted

    def wake(self) -> None:
        """Ask the loop to run a round now (thread-safe: the pipeline calls it from its worker thread)."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Round after round until cancelled: at once when woken, else every ``notify_poll_seconds``."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:
            while True:
                started = time.monotonic()
                try:
                    await asyncio.to_thread(self.tick)
                except Exception:
                    log.exception("notification round failed; retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.settings.notify_poll_seconds)
                await asyncio.sleep(max(0.0, started + ROUND_GAP_SECONDS - time.monotonic()))
                self._wake.clear()
        finally:
            self._loop = None
            await asyncio.to_thread(self.deliverer.close)
