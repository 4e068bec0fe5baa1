"""The embedded runtime: receivers, bus, pipeline worker and housekeeping in one asyncio process.

``mimamori serve`` (and ``demo``) create one Runtime, start it, run the web app beside it and stop it.
The scale-out mode will run the same stages as separate processes on NATS JetStream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from mimamori.bus.embedded import EmbeddedBus
from mimamori.config import Settings
from mimamori.detection import build_engine
from mimamori.domain import QuarantinedRecord, Sensor
from mimamori.errors import AuthError
from mimamori.ingest.http import decode_body, read_body
from mimamori.ingest.routes import Route
from mimamori.ingest.stats import ReceiverStats
from mimamori.ingest.syslog import SyslogServer
from mimamori.ingest.tls import server_context
from mimamori.ingest.watch import DirectoryWatcher, WatchSource
from mimamori.services import behaviours, content, feeds, indicators, inventory, rules, tenants
from mimamori.services import events as event_archive
from mimamori.services.notifier import Notifier
from mimamori.services.pipeline import BatchResult, Pipeline
from mimamori.storage import Counters, Database, unit_of_work

log = logging.getLogger(__name__)

ROUTE_REFRESH_SECONDS = 5.0  # new sensors are picked up by the receivers within this time
FEED_CHECK_SECONDS = 60.0  # how often due feeds are looked for (each feed has its own refresh period)
STATS_FLUSH_SECONDS = 5.0  # receiver counters are written to the database this often
STATE_SAVE_SECONDS = 300.0  # the behaviour detectors' state is saved this often (and at shutdown)
TOKEN_CACHE_SECONDS = 30.0  # a revoked sensor token stops working within this time
ARCHIVE_TICK_SECONDS = 5.0  # how often due event-archive buffers are written
ARCHIVE_MAINTENANCE_SECONDS = 3600.0  # compaction and retention of the event archive


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    rejected: int


def open_database(settings: Settings) -> Database:
    """The operational database, migrated to the current schema."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    db.migrate()
    return db


def _route(sensor: Sensor) -> Route:
    return Route(sensor.tenant_id, sensor.id, sensor.format, sensor.timezone)


class Runtime:
    """Owns the stages of one embedded mimamori process."""

    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        content.ensure_content(settings)
        inventory.load_oui(settings.data_dir)  # a vendor table refreshed by `assets update-oui` wins
        self.db = db or open_database(settings)
        self.bus = EmbeddedBus(settings.spool_dir, max_batches=settings.queue_batches)
        self.stats = ReceiverStats()
        self.pipeline = Pipeline(
            self.db,
            build_engine(content.detector_context(settings, self.db)),
            max_record=settings.record_max_bytes,
            archive=event_archive.open_writer(settings),
        )
        self.processed = BatchResult()
        self.notifier = Notifier(self.db, settings) if settings.notify_enabled else None
        self.totals: dict[str, int] = dict.fromkeys(
            ("receiver_dropped", "receiver_unknown_source_rejected", "receiver_rejected", "http_rejected"), 0
        )
        tls_context = None
        if settings.tls_cert_file is not None:
            tls_context = server_context(
                settings.tls_cert_file,
                settings.tls_key_file,
                cafile=settings.tls_client_ca_file,
                require_client_cert=settings.tls_require_client_cert,
            )
        self.syslog = SyslogServer(
            self.bus,
            self,
            host=settings.syslog_host,
            tcp_port=settings.syslog_tcp_port,
            udp_port=settings.syslog_udp_port,
            tls_port=settings.syslog_tls_port if tls_context is not None else None,
            tls_context=tls_context,
            max_message=settings.syslog_max_message,
            batch_size=settings.batch_size,
            linger_ms=settings.batch_linger_ms,
            stats=self.stats,
        )
        self.watcher: DirectoryWatcher | None = None
        if settings.watch:
            sources = [
                WatchSource(
                    entry.path,
                    _route(tenants.get_sensor(self.db, entry.tenant, entry.sensor)),
                    from_start=settings.watch_from_start,
                )
                for entry in settings.watch
            ]
            self.watcher = DirectoryWatcher(
                self.bus,
                sources,
                state_path=settings.data_dir / "watch-state.json",
                batch_size=settings.batch_size,
                max_line=settings.record_max_bytes,
                stats=self.stats,
            )
        self.syslog_ports: tuple[int, int] = (0, 0)
        self._routes: dict[str, Route] = {}
        self._cert_routes: dict[str, Route] = {}
        self._tokens: dict[str, tuple[float, Route | None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.started = False

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        restored = await asyncio.to_thread(
            behaviours.load_state, self.pipeline.engine.detectors, self.settings
        )
        if restored:
            log.info("behaviour detectors continue from their saved state (%d)", restored)
        await self.bus.start()
        self.refresh_routes()
        self.syslog_ports = await self.syslog.start()
        if self.watcher is not None:
            await self.watcher.start()
        self._tasks = [
            asyncio.create_task(self._work(), name="pipeline-worker"),
            asyncio.create_task(self._housekeeping(), name="housekeeping"),
            asyncio.create_task(self._feeds(), name="feeds"),
        ]
        if self.notifier is not None:
            self._tasks.append(asyncio.create_task(self.notifier.run(), name="notifier"))
        if self.pipeline.archive is not None:
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
        await asyncio.to_thread(self.pipeline.flush)
        await asyncio.to_thread(self._save_state)
        await self.bus.close()
        self.started = False

    async def _drain(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.bus.depth() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    # -- stages ----------------------------------------------------------------------------------
    async def _work(self) -> None:
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
            if result.alerts_created and self.notifier is not None:
                self.notifier.wake()  # new alerts: route and send now, not at the next poll

    async def _housekeeping(self) -> None:
        saved = time.monotonic()
        while True:
            await asyncio.sleep(min(ROUTE_REFRESH_SECONDS, STATS_FLUSH_SECONDS))
            try:
                await asyncio.to_thread(self.refresh_routes)
                await asyncio.to_thread(self.flush_stats)
                await asyncio.to_thread(rules.refresh, self.pipeline.engine.detectors, self.settings, self.db)
                await asyncio.to_thread(behaviours.refresh, self.pipeline.engine.detectors, self.db)
                if time.monotonic() - saved >= STATE_SAVE_SECONDS:
                    saved = time.monotonic()
                    await asyncio.to_thread(self._save_state)
            except Exception:
                log.exception("housekeeping failed")

    async def _archive(self) -> None:
        """Write due event-archive buffers; hourly, compact small parts and delete expired days. Its own
        task: a long compaction never delays route refresh or counters. Shutdown flushes the rest."""
        writer = self.pipeline.archive
        assert writer is not None
        maintained = time.monotonic()
        while True:
            await asyncio.sleep(max(0.5, min(ARCHIVE_TICK_SECONDS, self.settings.archive_flush_seconds)))
            try:
                await asyncio.to_thread(writer.flush_due)
                if time.monotonic() - maintained >= ARCHIVE_MAINTENANCE_SECONDS:
                    maintained = time.monotonic()
                    await asyncio.to_thread(event_archive.maintain, self.settings)
            except Exception:
                log.exception("event archive housekeeping failed")

    def _save_state(self) -> None:
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
                await asyncio.to_thread(feeds.scheduled_refresh, self.db, self.settings, self.pipeline.engine)
                await asyncio.to_thread(indicators.housekeeping, self.db, self.settings)
            except Exception:
                log.exception("feed refresh failed")

    def refresh_routes(self) -> None:
        self._routes = {addr: _route(s) for addr, s in tenants.address_routes(self.db).items()}
        self._cert_routes = {fp: _route(s) for fp, s in tenants.certificate_routes(self.db).items()}

    # -- SenderResolver: how receivers learn which sensor sent something ----------------------------
    def by_address(self, ip: str) -> Route | None:
        return self._routes.get(ip)

    def by_certificate(self, sha256_hex: str) -> Route | None:
        return self._cert_routes.get(sha256_hex)

    def by_token(self, token: str) -> Route | None:
        """Called from a receiver's worker thread; the token cache makes repeats cheap."""
        try:
            return self.route_for_token(token)
        except AuthError:
            return None

    def flush_stats(self) -> None:
        snapshot = self.stats.snapshot_and_reset()
        deltas = {
            sensor_id: Counters(received=0, parsed=0, quarantined=0, dropped=c.dropped, last_seen=c.last_seen)
            for sensor_id, c in snapshot.sensors.items()
            if c.dropped or c.last_seen
        }
        if deltas:
            with unit_of_work(self.db) as uow:
                uow.sensors.add_counters(deltas)
        for counts in snapshot.sensors.values():
            self.totals["receiver_dropped"] += counts.dropped
        for address, unknown in snapshot.unknown_sources.items():
            self.totals["receiver_unknown_source_rejected"] += unknown.rejected
            reasons = ", ".join(f"{reason}: {count}" for reason, count in sorted(unknown.by_reason.items()))
            log.warning(
                "rejected %d messages from unregistered sender %s (%s)", unknown.rejected, address, reasons
            )
        for count in snapshot.rejected.values():
            self.totals["receiver_rejected"] += count

    # -- HTTP ingest -----------------------------------------------------------------------------
    def forget_tokens(self) -> None:
        """Drop the cached token answers (after a rotation or revocation in this process: effective now)."""
        self._tokens.clear()

    def route_for_token(self, token: str) -> Route:
        now = time.monotonic()
        cached = self._tokens.get(token)
        if cached is None or cached[0] < now:
            sensor = tenants.sensor_for_token(self.db, token)
            cached = (now + TOKEN_CACHE_SECONDS, _route(sensor) if sensor else None)
            if len(self._tokens) > 10_000:
                self._tokens.clear()
            self._tokens[token] = cached
        if cached[1] is None:
            raise AuthError("unknown sensor token")
        return cached[1]

    async def ingest_http(self, token: str, body: bytes, content_encoding: str | None) -> IngestResult:
        """Accept a JSON-lines body for the sensor owning ``token``; BackpressureError when full."""
        route = self.route_for_token(token)
        # Raises BodyTooLargeError (413, zip bombs too) or BodyError (400) for a bad body.
        raw = decode_body(body, content_encoding, self.settings.http_max_body)
        now = datetime.now(UTC)
        records, rejected = read_body(raw, route, max_record=self.settings.record_max_bytes, now=now)
        if records:
            await self.bus.publish(records, wait=False)
        if rejected:
            self.totals["http_rejected"] += len(rejected)
            bad = [
                QuarantinedRecord(route.tenant_id, route.sensor_id, route.format, reason, data, now)
                for data, reason in rejected
            ]
            await asyncio.to_thread(self._quarantine, bad)
        return IngestResult(accepted=len(records), rejected=len(rejected))

    def _quarantine(self, bad: list[QuarantinedRecord]) -> None:
        with unit_of_work(self.db) as uow:
            uow.quarantine.add_many(bad)
            uow.sensors.add_counters(
                {
                    bad[0].sensor_id: Counters(
                        received=len(bad),
                        parsed=0,
                        quarantined=len(bad),
                        dropped=0,
                        last_seen=bad[0].received_at,
                    )
                }
            )

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
            **self.totals,
            **self._notify_metrics(),
            **self._archive_metrics(),
        }

    def _archive_metrics(self) -> dict[str, int]:
        writer = self.pipeline.archive
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
        }
