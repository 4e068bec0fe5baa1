"""The front of the scale-out mode: ``mimamori receiver`` and ``mimamori web``.

Both serve the web application (portal, SOC console, REST API) with a :class:`Gateway` as its runtime:
HTTP ingest (``POST /api/v1/ingest``) publishes to NATS JetStream and answers 429 with Retry-After when
the bus cannot take the batch. The receiver also runs the syslog listeners (UDP, TCP, TLS) and the
directory watch; their TCP connections stop being read while a publish waits (push-back to the sender),
so nothing a sender was acknowledged is lost when NATS restarts. No pipeline runs here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from mimamori.bus.base import Bus
from mimamori.config import Settings
from mimamori.ingest.stats import ReceiverStats
from mimamori.ingest.syslog import SyslogServer
from mimamori.ingest.watch import DirectoryWatcher
from mimamori.services.receiving import IngestResult, ReceivingStage, build_listeners
from mimamori.storage import Database

__all__ = ["Gateway"]

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 5.0  # new sensors reach the routing table, counters reach the database


class Gateway:
    """An ``AppRuntime`` whose ingest goes to a shared bus; with ``listeners`` also syslog and watch."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        bus: Bus,
        *,
        listeners: bool,
        bus_metrics: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus
        self.stats = ReceiverStats()
        self.receiving = ReceivingStage(settings, db, bus, self.stats)
        self.syslog: SyslogServer | None = None
        self.watcher: DirectoryWatcher | None = None
        if listeners:
            self.syslog, self.watcher = build_listeners(settings, db, bus, self.receiving, self.stats)
        self.syslog_ports: tuple[int, int] = (0, 0)
        self._bus_metrics = bus_metrics
        self._task: asyncio.Task[None] | None = None
        self.started = False

    async def start(self) -> None:
        await self.bus.start()
        await asyncio.to_thread(self.receiving.refresh_routes)
        if self.syslog is not None:
            self.syslog_ports = await self.syslog.start()
            log.info("syslog receivers on tcp/%d udp/%d", *self.syslog_ports)
        if self.watcher is not None:
            await self.watcher.start()
        self._task = asyncio.create_task(self._housekeeping(), name="gateway-housekeeping")
        self.started = True

    async def stop(self) -> None:
        if self.syslog is not None:
            await self.syslog.stop()
        if self.watcher is not None:
            await self.watcher.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.to_thread(self.receiving.flush_stats)
        await self.bus.close()
        self.started = False

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_SECONDS)
            try:
                await asyncio.to_thread(self.receiving.refresh_routes)
                await asyncio.to_thread(self.receiving.flush_stats)
            except Exception:
                log.exception("receiver housekeeping failed")

    async def ingest_http(self, token: str, body: bytes, content_encoding: str | None) -> IngestResult:
        return await self.receiving.ingest_http(token, body, content_encoding)

    def forget_tokens(self) -> None:
        self.receiving.forget_tokens()

    def metrics(self) -> dict[str, int]:
        extra = self._bus_metrics() if self._bus_metrics is not None else {}
        return {**self.receiving.totals, **extra}

    def ready(self) -> dict[str, bool]:
        return {"database": self.db.ping(), "receivers": self.started}
