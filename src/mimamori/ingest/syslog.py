"""Syslog receivers on TCP (RFC 6587 framing) and UDP (RFC 5426: one datagram, one message).

Each message becomes a ``RawRecord`` whose ``data`` is the exact message bytes without framing, stamped
with the tenant and sensor that the sender's address resolves to; unknown senders are rejected and
counted, never assigned to a tenant. Records are published to the bus in batches of ``batch_size`` or
after ``linger_ms``, whichever comes first.

Backpressure: TCP connections stop reading while the bus is full (at most ``MAX_INFLIGHT`` batches wait
on the bus; then every connection waits), so the kernel's receive window closes and the sender's writes
block; memory per connection stays at the stream buffer plus one message. UDP cannot push back: when the
bus is full, the batch is dropped and counted.

Sender identification is the seam :meth:`SyslogServer.identify`: it maps a peer address through the
``resolve`` callable today; a token in the structured data or a TLS client certificate will plug in there.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from mimamori.bus.base import Bus
from mimamori.domain import RawRecord
from mimamori.errors import BackpressureError
from mimamori.ingest.framing import TRAILERS, Framer
from mimamori.ingest.routes import Resolver, Route
from mimamori.ingest.stats import ReceiverStats

__all__ = ["SyslogPorts", "SyslogServer"]

log = logging.getLogger(__name__)

READ_SIZE = 64 * 1024  # bytes per socket read; the stream buffer pauses the socket at twice this
MAX_INFLIGHT = 4  # batches of one transport waiting on the bus before TCP connections stop reading
STOP_TIMEOUT_S = 10.0  # how long ``stop`` waits for connections and the bus before dropping


def _peer(peername: Any) -> tuple[str, int]:
    """Canonical IP text and port of a socket peer; IPv4-mapped IPv6 addresses are unwrapped."""
    host, port = str(peername[0]), int(peername[1])
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host, port
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped), port
    return str(address), port


def _origin(transport: str, ip: str, port: int) -> str:
    return f"syslog-{transport} [{ip}]:{port}" if ":" in ip else f"syslog-{transport} {ip}:{port}"


class _Batcher:
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


class SyslogPorts(NamedTuple):
    """The ports actually bound (useful with port 0)."""

    tcp: int
    udp: int


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: SyslogServer) -> None:
        self._server = server

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            self._server._on_datagram(data, addr)
        except Exception:  # a datagram must never take the receiver down
            log.exception("syslog-udp: datagram from %s not handled", addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("syslog-udp: %s", exc)


class SyslogServer:
    """TCP and UDP syslog receivers publishing to ``bus`` (port 0: any free port)."""

    def __init__(
        self,
        bus: Bus,
        resolve: Resolver,
        *,
        host: str,
        tcp_port: int,
        udp_port: int,
        max_message: int = 65536,
        batch_size: int = 500,
        linger_ms: int = 200,
        stats: ReceiverStats,
        max_connections: int = 10_000,
        idle_timeout_s: float | None = 3600.0,
    ) -> None:
        self._bus, self._resolve, self._stats = bus, resolve, stats
        self._host, self._tcp_port, self._udp_port = host, tcp_port, udp_port
        self._max_message, self._linger_s = max_message, linger_ms / 1000
        self._max_connections, self._idle_timeout = max_connections, idle_timeout_s
        self._tcp_batches = _Batcher(bus, stats, batch_size, self._linger_s, wait=True)
        self._udp_batches = _Batcher(bus, stats, batch_size, self._linger_s, wait=False)
        self._tcp_server: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._connections: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}

    async def start(self) -> SyslogPorts:
        """Bind the sockets and start accepting; returns the bound ports."""
        self._tcp_server = await asyncio.start_server(
            self._serve, self._host, self._tcp_port, limit=READ_SIZE, backlog=1024
        )
        tcp = int(self._tcp_server.sockets[0].getsockname()[1])
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self), local_addr=(self._host, self._udp_port)
        )
        self._udp = transport
        sock = transport.get_extra_info("socket")
        with contextlib.suppress(OSError):  # absorb bursts; the kernel caps it at rmem_max
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        udp = int(sock.getsockname()[1])
        return SyslogPorts(tcp, udp)

    async def stop(self) -> None:
        """Stop accepting, close connections after their buffered data, publish pending batches."""
        if self._tcp_server is not None:
            self._tcp_server.close()
        if self._udp is not None:
            self._udp.close()
        for writer in self._connections.values():
            writer.close()  # the handler still reads what was buffered, then sees the end of stream
        if self._connections:
            _, stuck = await asyncio.wait(list(self._connections), timeout=STOP_TIMEOUT_S)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
        if self._tcp_server is not None:
            await self._tcp_server.wait_closed()
        await self._tcp_batches.flush(STOP_TIMEOUT_S)
        await self._udp_batches.flush(STOP_TIMEOUT_S)

    def identify(self, peer_ip: str) -> Route | None:
        """The route of a sender, ``None`` if unknown (the seam for tokens and TLS client certificates)."""
        try:
            return self._resolve(peer_ip)
        except Exception:
            log.exception("syslog: resolving %s failed; treated as unknown", peer_ip)
            return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        ip, port = _peer(writer.get_extra_info("peername"))
        try:
            if len(self._connections) >= self._max_connections:
                self._stats.rejected("connection-limit")
                return
            route = self.identify(ip)
            if route is None:
                self._stats.unknown_source(ip)
                log.debug("syslog-tcp: connection from unknown source %s rejected", ip)
                return
            self._connections[task] = writer
            with contextlib.suppress(OSError):
                writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            await self._read_frames(reader, route, _origin("tcp", ip, port))
        except (ConnectionError, TimeoutError) as exc:
            log.debug("syslog-tcp: %s:%d closed: %r", ip, port, exc)
        except Exception:  # a misbehaving client must never take the server down
            log.exception("syslog-tcp: connection from %s:%d failed", ip, port)
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_frames(self, reader: asyncio.StreamReader, route: Route, origin: str) -> None:
        framer = Framer(self._max_message)
        while True:
            async with asyncio.timeout(self._idle_timeout):
                data = await reader.read(READ_SIZE)
            frames = framer.feed(data) if data else framer.finish()
            if framer.drops:
                for reason, count in framer.drops.items():
                    self._stats.dropped(route.sensor_id, reason, count)
                framer.drops.clear()
            if frames:
                now = datetime.now(UTC)
                t, s, f, z = route.tenant_id, route.sensor_id, route.format, route.timezone
                self._stats.received(s, len(frames), now)
                await self._tcp_batches.add([RawRecord(t, s, f, frame, now, origin, z) for frame in frames])
            if not data:
                return

    def _on_datagram(self, data: bytes, addr: Any) -> None:
        ip, port = _peer(addr)
        route = self.identify(ip)
        if route is None:
            self._stats.unknown_source(ip)
            return
        message = data.rstrip(TRAILERS)  # RFC 5426 has no framing, but many senders append LF or NUL
        if len(message) > self._max_message:
            self._stats.dropped(route.sensor_id, "oversize")
            return
        if not message:
            return
        now = datetime.now(UTC)
        self._stats.received(route.sensor_id, 1, now)
        record = RawRecord(
            route.tenant_id,
            route.sensor_id,
            route.format,
            message,
            now,
            _origin("udp", ip, port),
            route.timezone,
        )
        self._udp_batches.add_nowait((record,))
