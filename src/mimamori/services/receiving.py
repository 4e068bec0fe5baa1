"""The receiving stage shared by ``serve`` (embedded) and ``mimamori receiver`` (scale-out).

``ReceivingStage`` owns what a receiver process needs besides the sockets: the sender routing table
(which sensor sent a message: source address, TLS client certificate or token, see
:class:`mimamori.ingest.routes.SenderResolver`), HTTP ingest onto the bus, quarantine of records refused
at the door, and the receiver counters written to the database. The bus is whatever the process uses:
the embedded spool or NATS JetStream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from mimamori.bus.base import Bus
from mimamori.config import Settings
from mimamori.domain import QuarantinedRecord, Sensor
from mimamori.errors import AuthError
from mimamori.ingest.http import decode_body, read_body
from mimamori.ingest.routes import Route, SenderResolver
from mimamori.ingest.stats import ReceiverStats
from mimamori.ingest.syslog import SyslogServer
from mimamori.ingest.tls import server_context
from mimamori.ingest.watch import DirectoryWatcher, WatchSource
from mimamori.services import tenants
from mimamori.storage import Counters, Database, unit_of_work

__all__ = ["TOKEN_CACHE_SECONDS", "IngestResult", "ReceivingStage", "build_listeners", "route_of"]

log = logging.getLogger(__name__)

TOKEN_CACHE_SECONDS = 30.0  # a revoked sensor token stops working within this time
TOKEN_CACHE_MAX = 10_000


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    rejected: int


def route_of(sensor: Sensor) -> Route:
    return Route(sensor.tenant_id, sensor.id, sensor.format, sensor.timezone)


class ReceivingStage:
    """Sender routing, HTTP ingest and receiver counters over one bus (a ``SenderResolver``)."""

    def __init__(self, settings: Settings, db: Database, bus: Bus, stats: ReceiverStats) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus
        self.stats = stats
        self.totals: dict[str, int] = dict.fromkeys(
            ("receiver_dropped", "receiver_unknown_source_rejected", "receiver_rejected", "http_rejected"), 0
        )
        self._routes: dict[str, Route] = {}
        self._cert_routes: dict[str, Route] = {}
        self._tokens: dict[str, tuple[float, Route | None]] = {}

    # -- SenderResolver ----------------------------------------------------------------------------
    def refresh_routes(self) -> None:
        self._routes = {addr: route_of(s) for addr, s in tenants.address_routes(self.db).items()}
        self._cert_routes = {fp: route_of(s) for fp, s in tenants.certificate_routes(self.db).items()}

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

    def forget_tokens(self) -> None:
        """Drop the cached token answers (after a rotation or revocation in this process: effective now)."""
        self._tokens.clear()

    def route_for_token(self, token: str) -> Route:
        now = time.monotonic()
        cached = self._tokens.get(token)
        if cached is None or cached[0] < now:
            sensor = tenants.sensor_for_token(self.db, token)
            cached = (now + TOKEN_CACHE_SECONDS, route_of(sensor) if sensor else None)
            if len(self._tokens) > TOKEN_CACHE_MAX:
                self._tokens.clear()
            self._tokens[token] = cached
        if cached[1] is None:
            raise AuthError("unknown sensor token")
        return cached[1]

    # -- counters ----------------------------------------------------------------------------------
    def flush_stats(self) -> None:
        """Write the receivers' per-sensor drops and last-seen times; log rejected senders."""
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

    # -- HTTP ingest -------------------------------------------------------------------------------
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
            await asyncio.to_thread(self.quarantine, bad)
        return IngestResult(accepted=len(records), rejected=len(rejected))

    def quarantine(self, bad: list[QuarantinedRecord]) -> None:
        """Store records refused before the bus (one sensor's) with their reasons and count them."""
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


def build_listeners(
    settings: Settings, db: Database, bus: Bus, resolver: SenderResolver, stats: ReceiverStats
) -> tuple[SyslogServer, DirectoryWatcher | None]:
    """The syslog server (UDP, TCP, and TLS when a certificate is set) and the directory watch, if any."""
    tls_context = None
    if settings.tls_cert_file is not None:
        tls_context = server_context(
            settings.tls_cert_file,
            settings.tls_key_file,
            cafile=settings.tls_client_ca_file,
            require_client_cert=settings.tls_require_client_cert,
        )
    syslog = SyslogServer(
        bus,
        resolver,
        host=settings.syslog_host,
        tcp_port=settings.syslog_tcp_port,
        udp_port=settings.syslog_udp_port,
        tls_port=settings.syslog_tls_port if tls_context is not None else None,
        tls_context=tls_context,
        max_message=settings.syslog_max_message,
        batch_size=settings.batch_size,
        linger_ms=settings.batch_linger_ms,
        stats=stats,
    )
    watcher: DirectoryWatcher | None = None
    if settings.watch:
        sources = [
            WatchSource(
                entry.path,
                route_of(tenants.get_sensor(db, entry.tenant, entry.sensor)),
                from_start=settings.watch_from_start,
            )
            for entry in settings.watch
        ]
        watcher = DirectoryWatcher(
            bus,
            sources,
            state_path=settings.data_dir / "watch-state.json",
            batch_size=settings.batch_size,
            max_line=settings.record_max_bytes,
            stats=stats,
        )
    return syslog, watcher
