"""The embedded runtime: receivers, bus, pipeline worker and housekeeping in one asyncio process.

``mimamori serve`` (and ``demo``) create one Runtime, start it, run the web app beside it and stop it.
With ``workers > 1`` (``serve --workers N``) the pipeline runs in N child processes instead
(:class:`~mimamori.services.cluster.pool.WorkerPool`); everything else stays here. The scale-out mode runs
the same stages as separate processes on NATS JetStream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from mimamori.bus.embedded import EmbeddedBus
from mimamori.config import Settings
from mimamori.detection import build_engine
from mimamori.ingest.routes import Route
from mimamori.ingest.stats import ReceiverStats
from mimamori.services import behaviours, content, feeds, indicators, inventory, rules
from mimamori.services import events as event_archive
from mimamori.services.cluster.pool import WorkerPool
from mimamori.services.notifier import Notifier
from mimamori.services.pipeline import BatchResult, Pipeline
from mimamori.services.receiving import IngestResult, ReceivingStage, build_listeners
from mimamori.storage import Database

log = logging.getLogger(__name__)

ROUTE_REFRESH_SECONDS = 5.0  # new sensors are picked up by the receivers within this time
FEED_CHECK_SECONDS = 60.0  # how often due feeds are looked for (each feed has its own refresh period)
STATS_FLUSH_SECONDS = 5.0  # receiver counters are written to the database this often
STATE_SAVE_SECONDS = 300.0  # the behaviour detectors' state is saved this often (and at shutdown)
ARCHIVE_TICK_SECONDS = 5.0  # how often due event-archive buffers are written
ARCHIVE_MAINTENANCE_SECONDS = 3600.0  # compaction and retention of the event archive


def open_database(settings: Settings) -> Database:
    """The operational database, migrated to the current schema."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    db.migrate()
    return db


class Runtime:
    """Owns the stages of one embedded mimamori process."""

    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        content.ensure_content(settings)
        inventory.load_oui(settings.data_dir)  # a vendor table refreshed by `assets update-oui` wins
        self.db = db or open_database(settings)
        self.bus = EmbeddedBus(settings.spool_dir, max_batches=settings.queue_batches)
        self.stats = ReceiverStats()
        self.processed = BatchResult()
        self.notifier = Notifier(self.db, settings) if settings.notify_enabled else None
        # The pipeline: here, or in child processes (each builds its own engine and archive writer).
        self.pipeline: Pipeline | None = None
        self.pool: WorkerPool | None = None
        if settings.workers > 1:
            self.pool = WorkerPool(settings, settings.workers, processed=self.processed, on_alerts=self._wake)
        else:
            self.pipeline = Pipeline(
                self.db,
                build_engine(content.detector_context(settings, self.db)),
                max_record=settings.record_max_bytes,
                archive=event_archive.open_writer(settings),
            )
        self.receiving = ReceivingStage(settings, self.db, self.bus, self.stats)
        self.syslog, self.watcher = build_listeners(settings, self.db, self.bus, self.receiving, self.stats)
        self.syslog_ports: tuple[int, int] = (0, 0)
        self._tasks: list[asyncio.Task[None]] = []
        self.started = False

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        if self.pipeline is not None:
            restored = await asyncio.to_thread(
                behaviours.load_state, self.pipeline.engine.detectors, self.settings
            )
            if restored:
                log.info("behaviour detectors continue from their saved state (%d)", restored)
        await self.bus.start()
        if self.pool is not None:
            await self.pool.start()
        try:
            self.refresh_routes()
            self.syslog_ports = await self.syslog.start()
            if self.watcher is not None:
                await self.watcher.start()
        except BaseException:  # a port in use, an unreadable directory: stop the children before failing
            if self.pool is not None:
                await self.pool.stop()
            raise
        work = self.pool.run(self.bus) if self.pool is not None else self._work()
        self._tasks = [
            asyncio.create_task(work, name="pipeline-worker"),
            asyncio.create_task(self._housekeeping(), name="housekeeping"),
            asyncio.create_task(self._feeds(), name="feeds"),
        ]
        if self.notifier is not None:
            self._tasks.append(asyncio.create_task(self.notifier.run(), name="notifier"))
        if self.settings.archive_enabled:
            self._tasks.append(asyncio.create_task(self._archive(), name="event-archive"))
        self.started = True
        log.info("syslog receivers on tcp/%d udp/%d", *self.syslog_ports)
        if self.syslog.tls_port:
            log.info("syslog over TLS on tcp/%d", self.syslog.tls_port)

    async def stop(self) -> None:
        await self.syslog.stop()
        if self.watcher is not None:
            await self.watcher.stop()
        await self._drain()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.flush_stats()
        if self.pool is not None:
            await self.pool.stop()  # each child writes what it holds and saves its state
        if self.pipeline is not None:
            await asyncio.to_thread(self.pipeline.flush)
            await asyncio.to_thread(self._save_state)
        await self.bus.close()
        self.started = False

    async def _drain(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while (self.bus.depth() or self._outstanding()) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    def _outstanding(self) -> int:
        return self.pool.outstanding() if self.pool is not None else 0

    def _wake(self) -> None:
        if self.notifier is not None:
            self.notifier.wake()  # new alerts: route and send now, not at the next poll

    # -- stages ----------------------------------------------------------------------------------
    async def _work(self) -> None:
        assert self.pipeline is not None
        async for delivery in self.bus.deliveries():
            try:
                result = await asyncio.to_thread(self.pipeline.process, delivery.records)
            except Exception:
                # The database is unreachable or a bug: keep the batch in the spool and retry later.
                log.exception("pipeline batch failed; it stays in the spool and is retried after restart")
                await asyncio.sleep(1.0)
                continue
            await delivery.ack()
            self.processed.add(result)
            if result.alerts_created:
                self._wake()

    async def _housekeeping(self) -> None:
        saved = time.monotonic()
        while True:
            await asyncio.sleep(min(ROUTE_REFRESH_SECONDS, STATS_FLUSH_SECONDS))
            try:
                await asyncio.to_thread(self.refresh_routes)
                await asyncio.to_thread(self.flush_stats)
                if self.pipeline is None:
                    continue  # the pool's children pick up rules and thresholds themselves
                detectors = self.pipeline.engine.detectors
                await asyncio.to_thread(rules.refresh, detectors, self.settings, self.db)
                await asyncio.to_thread(behaviours.refresh, detectors, self.db)
                if time.monotonic() - saved >= STATE_SAVE_SECONDS:
                    saved = time.monotonic()
                    await asyncio.to_thread(self._save_state)
            except Exception:
                log.exception("housekeeping failed")

    async def _archive(self) -> None:
        """Write due event-archive buffers; hourly, compact small parts and delete expired days. Its own
        task: a long compaction never delays route refresh or counters. Shutdown flushes the rest."""
        writer = self.pipeline.archive if self.pipeline is not None else None  # children write their own
        maintained = time.monotonic()
        while True:
            await asyncio.sleep(max(0.5, min(ARCHIVE_TICK_SECONDS, self.settings.archive_flush_seconds)))
            try:
                if writer is not None:
                    await asyncio.to_thread(writer.flush_due)
                if time.monotonic() - maintained >= ARCHIVE_MAINTENANCE_SECONDS:
                    maintained = time.monotonic()
                    await asyncio.to_thread(event_archive.maintain, self.settings)
            except Exception:
                log.exception("event archive housekeeping failed")

    def _save_state(self) -> None:
        if self.pipeline is None:
            return
        try:
            behaviours.save_state(self.pipeline.engine.detectors, self.settings)
        except OSError:
            log.exception("could not save the behaviour detectors' state")

    async def _feeds(self) -> None:
        """Refresh due threat-intelligence feeds (each its own period) and prune expired data, off the
        housekeeping task so that a slow download never delays route refresh or counters."""
        while True:
            await asyncio.sleep(FEED_CHECK_SECONDS)
            try:
                if self.pipeline is not None:
                    await asyncio.to_thread(
                        feeds.scheduled_refresh, self.db, self.settings, self.pipeline.engine
                    )
                else:  # the children reload the indicators when they see the store changed
                    await asyncio.to_thread(feeds.refresh_due, self.db, self.settings)
                await asyncio.to_thread(indicators.housekeeping, self.db, self.settings)
            except Exception:
                log.exception("feed refresh failed")

    # -- the receiving stage (routes, HTTP ingest, receiver counters) ------------------------------
    def refresh_routes(self) -> None:
        self.receiving.refresh_routes()

    def flush_stats(self) -> None:
        self.receiving.flush_stats()

    def forget_tokens(self) -> None:
        """Drop the cached token answers (after a rotation or revocation in this process: effective now)."""
        self.receiving.forget_tokens()

    def route_for_token(self, token: str) -> Route:
        return self.receiving.route_for_token(token)

    async def ingest_http(self, token: str, body: bytes, content_encoding: str | None) -> IngestResult:
        """Accept a JSON-lines body for the sensor owning ``token``; BackpressureError when full."""
        return await self.receiving.ingest_http(token, body, content_encoding)

    def metrics(self) -> dict[str, int]:
        """Process-wide counters since start (no tenant data), for ``/metrics``."""
        bus = self.bus.stats
        return {
            "records_received": self.processed.received,
            "records_parsed": self.processed.parsed,
            "records_quarantined": self.processed.quarantined,
            "findings": self.processed.findings,
            "alerts_created": self.processed.alerts_created,
            "alerts_updated": self.processed.alerts_updated,
            "bus_depth_batches": self.bus.depth(),
            "bus_published_batches": bus.published,
            "bus_redelivered_batches": bus.redelivered,
            "bus_corrupt_frames": bus.corrupt_frames,
            **self._pool_metrics(),
            **self.receiving.totals,
            **self._notify_metrics(),
            **self._archive_metrics(),
        }

    def _pool_metrics(self) -> dict[str, int]:
        if self.pool is None:
            return {}
        return {
            "worker_processes": self.pool.count,
            "worker_restarts": self.pool.restarts,
            "worker_partition_moves": self.pool.moves,
        }

    def _archive_metrics(self) -> dict[str, int]:
        writer = self.pipeline.archive if self.pipeline is not None else None
        if writer is None:
            return {}
        return {
            "archive_events_written": writer.stats.written,
            "archive_events_dropped": writer.stats.dropped,
            "archive_parts_written": writer.stats.parts,
        }

    def _notify_metrics(self) -> dict[str, int]:
        if self.notifier is None:
            return {}
        totals = self.notifier.totals
        return {
            "notifications_queued": totals.queued,
            "notifications_sent": totals.sent,
            "notifications_retried": totals.retried,
            "notifications_dead": totals.dead,
            "escalations": totals.escalated,
        }

    def ready(self) -> dict[str, bool]:
        """Readiness: the database answers and the queue is not full."""
        return {
            "database": self.db.ping(),
            "queue": self.bus.depth() < self.settings.queue_batches,
            "receivers": self.started,
            **({"workers": self.pool.ready()} if self.pool is not None else {}),
        }
