"""Syslog receivers: TCP (RFC 6587 framing), TLS (RFC 5425) and UDP (RFC 5426: one datagram, one message).

Each message becomes a ``RawRecord`` whose ``data`` is the exact message bytes without framing, stamped
with the tenant and sensor of its sender; unknown senders are rejected and counted, never assigned to a
tenant. Records are published to the bus in batches of ``batch_size`` or after ``linger_ms``, whichever
comes first.

Sender identification (``routes.SenderResolver``, through ``senders.Senders``), strongest first: the TLS
client certificate's SHA-256 fingerprint, the token of a ``[mimamori@32473 token="..."]`` SD element, the
peer address. A TCP or TLS connection is identified once, on its first message; every later message on
it that carries a token must carry the first message's token (none if the first had none), else it is
dropped and counted as ``token-mismatch``. A datagram is identified on its own; datagrams waiting for
the look-up of a new token are held (bounded) until it answers.

Backpressure: TCP and TLS connections stop reading while the bus is full (at most ``MAX_INFLIGHT``
batches wait on the bus; then every connection waits), so the kernel's receive window closes and the
sender's writes block; memory per connection stays at the stream buffer plus one message. UDP cannot
push back: when the bus is full, the batch is dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import socket
import ssl
from datetime import UTC, datetime
from typing import Any, NamedTuple

from mimamori.bus.base import Bus
from mimamori.domain import RawRecord
from mimamori.errors import ConfigError
from mimamori.ingest.batcher import MAX_INFLIGHT, Batcher
from mimamori.ingest.framing import TRAILERS, Framer
from mimamori.ingest.routes import Resolver, Route, SenderResolver, sender_resolver
from mimamori.ingest.senders import Senders, unknown_reason
from mimamori.ingest.stats import ReceiverStats
from mimamori.ingest.structured_data import token
from mimamori.ingest.tls import peer_fingerprint

__all__ = ["MAX_INFLIGHT", "SyslogPorts", "SyslogServer"]

log = logging.getLogger(__name__)

READ_SIZE = 64 * 1024  # bytes per socket read; the stream buffer pauses the socket at twice this
STOP_TIMEOUT_S = 10.0  # how long ``stop`` waits for connections and the bus before dropping
MAX_TOKEN_LOOKUPS = 32  # UDP: new tokens looked up at once; datagrams with further new tokens are refused
MAX_WAITING_DATAGRAMS = 1024  # UDP: datagrams held per token while its look-up runs
TOKEN_MISMATCH = "token-mismatch"  # noqa: S105 -- a counter reason, not a secret
LOOKUP_BUSY = "token-lookup-busy"
UDP_BUFFER = 65536  # larger than any UDP payload (65,507 bytes over IPv4, 65,527 over IPv6)
UDP_READS_PER_WAKEUP = 64


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


class SyslogPorts(NamedTuple):
    """The TCP and UDP ports actually bound (useful with port 0); TLS: ``SyslogServer.tls_port``."""

    tcp: int
    udp: int


class _Datagram(NamedTuple):
    message: bytes
    ip: str
    port: int
    received_at: datetime


class _UdpReader:
    """Reads datagrams into one reusable buffer and copies each out at its exact size.

    Not asyncio's datagram transport: it receives every datagram into a fresh 256 KiB ``bytes`` and shrinks
    it, and under a sustained flood beside long-lived records that fragments the heap until the process's
    RSS grows by megabytes a second (issue 10's overload test). Reads at most ``UDP_READS_PER_WAKEUP``
    datagrams per wake-up, so a flood cannot starve the TCP and HTTP receivers on the same loop.
    """

    def __init__(self, sock: socket.socket, server: SyslogServer) -> None:
        self._sock, self._server = sock, server
        self._buffer = bytearray(UDP_BUFFER)
        self._view = memoryview(self._buffer)

    def on_readable(self) -> None:
        for _ in range(UDP_READS_PER_WAKEUP):
            try:
                size, addr = self._sock.recvfrom_into(self._buffer)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. an ICMP error reported on the socket
                log.debug("syslog-udp: %s", exc)
                return
            try:
                self._server._on_datagram(bytes(self._view[:size]), addr)
            except Exception:  # a datagram must never take the receiver down
                log.exception("syslog-udp: datagram from %s not handled", addr)


def _udp_socket(host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to ``host``:``port`` (the first address of ``host`` that binds)."""
    error: OSError | None = None
    for family, kind, proto, _, address in socket.getaddrinfo(
        host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE
    ):
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            with contextlib.suppress(OSError):  # absorb bursts; the kernel caps it at rmem_max
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
            sock.bind(address)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error or OSError(f"cannot resolve {host!r} for syslog-udp")


class SyslogServer:
    """TCP, UDP and (with ``tls_port`` and ``tls_context``) TLS syslog receivers publishing to ``bus``.

    ``resolve`` is a ``SenderResolver`` or a plain address resolver callable. Port 0 binds any free
    port. ``identify_timeout_s`` bounds how long a connection from an unregistered address without a
    known certificate may stay open before its first message (which may carry a token);
    ``handshake_timeout_s`` bounds the TLS handshake.
    """

    def __init__(
        self,
        bus: Bus,
        resolve: SenderResolver | Resolver,
        *,
        host: str,
        tcp_port: int,
        udp_port: int,
        tls_port: int | None = None,
        tls_context: ssl.SSLContext | None = None,
        max_message: int = 65536,
        batch_size: int = 500,
        linger_ms: int = 200,
        stats: ReceiverStats,
        max_connections: int = 10_000,
        idle_timeout_s: float | None = 3600.0,
        identify_timeout_s: float = 60.0,
        handshake_timeout_s: float = 10.0,
    ) -> None:
        if tls_port is not None and tls_context is None:
            raise ConfigError("a syslog TLS port needs a TLS context (server certificate and key)")
        self._bus, self._stats = bus, stats
        self._senders = Senders(sender_resolver(resolve))
        self._host, self._tcp_port, self._udp_port, self._tls_port = host, tcp_port, udp_port, tls_port
        self._tls_context, self._handshake_timeout = tls_context, handshake_timeout_s
        self._max_message, self._linger_s = max_message, linger_ms / 1000
        self._max_connections, self._idle_timeout = max_connections, idle_timeout_s
        self._identify_timeout = identify_timeout_s
        self._tcp_batches = Batcher(bus, stats, batch_size, self._linger_s, wait=True)
        self._udp_batches = Batcher(bus, stats, batch_size, self._linger_s, wait=False)
        self._servers: list[asyncio.Server] = []
        self._udp: socket.socket | None = None
        self._connections: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}
        self._waiting: dict[str, list[_Datagram]] = {}  # UDP datagrams by the new token they wait for
        self._lookups: set[asyncio.Task[None]] = set()
        self._bound_tls: int | None = None

    @property
    def senders(self) -> Senders:
        """The identification cache (its ``token_lookups`` counter is useful in tests and metrics)."""
        return self._senders

    @property
    def tls_port(self) -> int | None:
        """The TLS port actually bound once started, ``None`` without TLS."""
        return self._bound_tls

    async def start(self) -> SyslogPorts:
        """Bind the sockets and start accepting; returns the bound TCP and UDP ports."""
        tcp_server = await asyncio.start_server(
            functools.partial(self._serve, transport="tcp"),
            self._host,
            self._tcp_port,
            limit=READ_SIZE,
            backlog=1024,
        )
        self._servers.append(tcp_server)
        tcp = int(tcp_server.sockets[0].getsockname()[1])
        if self._tls_port is not None:
            tls_server = await asyncio.start_server(
                functools.partial(self._serve, transport="tls"),
                self._host,
                self._tls_port,
                limit=READ_SIZE,
                backlog=1024,
                ssl=self._tls_context,
                ssl_handshake_timeout=self._handshake_timeout,
            )
            self._servers.append(tls_server)
            self._bound_tls = int(tls_server.sockets[0].getsockname()[1])
        sock = _udp_socket(self._host, self._udp_port)
        asyncio.get_running_loop().add_reader(sock.fileno(), _UdpReader(sock, self).on_readable)
        self._udp = sock
        udp = int(sock.getsockname()[1])
        return SyslogPorts(tcp, udp)

    async def stop(self) -> None:
        """Stop accepting, close connections after their buffered data, publish pending batches."""
        for server in self._servers:
            server.close()
        if self._udp is not None:
            asyncio.get_running_loop().remove_reader(self._udp.fileno())
            self._udp.close()
            self._udp = None
        for writer in self._connections.values():
            writer.close()  # the handler still reads what was buffered, then sees the end of stream
        if self._connections:
            _, stuck = await asyncio.wait(list(self._connections), timeout=STOP_TIMEOUT_S)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()
        await self._senders.close()
        await asyncio.gather(*self._lookups, return_exceptions=True)
        await self._tcp_batches.flush(STOP_TIMEOUT_S)
        await self._udp_batches.flush(STOP_TIMEOUT_S)

    # -- TCP and TLS --------------------------------------------------------------------------------
    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, transport: str
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        ip, port = _peer(writer.get_extra_info("peername"))
        try:
            if len(self._connections) >= self._max_connections:
                self._stats.rejected("connection-limit")
                return
            self._connections[task] = writer
            with contextlib.suppress(OSError):
                writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            certificate = peer_fingerprint(writer.get_extra_info("ssl_object"))
            await self._read_frames(reader, ip, certificate, _origin(transport, ip, port))
        except (ConnectionError, TimeoutError, ssl.SSLError) as exc:
            log.debug("syslog-%s: %s:%d closed: %r", transport, ip, port, exc)
        except Exception:  # a misbehaving client must never take the server down
            log.exception("syslog-%s: connection from %s:%d failed", transport, ip, port)
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_frames(
        self, reader: asyncio.StreamReader, ip: str, certificate: str | None, origin: str
    ) -> None:
        """Identify the connection on its first message, then publish its messages until the end."""
        framer = Framer(self._max_message)
        route = self._senders.by_certificate(certificate) if certificate else None
        provisional = route or self._senders.by_address(ip)  # whom to charge drops before the 1st message
        identified, first_token = False, None
        # A stranger gets identify_timeout_s in all for its first message, however it trickles bytes.
        deadline = None if provisional else asyncio.get_running_loop().time() + self._identify_timeout
        while True:
            if deadline is not None:
                async with asyncio.timeout_at(deadline):
                    data = await reader.read(READ_SIZE)
            else:
                async with asyncio.timeout(self._idle_timeout):
                    data = await reader.read(READ_SIZE)
            frames = framer.feed(data) if data else framer.finish()
            if frames and not identified:
                identified, first_token = True, token(frames[0])
                if route is None and first_token is not None:
                    route = await self._senders.by_token(first_token)
                route = route or provisional
                if route is None:
                    self._stats.unknown_source(
                        ip, reason=unknown_reason(certificate=certificate, token=first_token)
                    )
                    log.debug("syslog: connection %s from an unknown sender rejected", origin)
                    return
                deadline = None
            if framer.drops:
                self._count_drops(framer, route or provisional)
            if frames:
                assert route is not None
                await self._accept(frames, route, first_token, origin)
            if not data:
                return

    def _count_drops(self, framer: Framer, route: Route | None) -> None:
        for reason, count in framer.drops.items():
            if route is None:
                self._stats.rejected(reason, count)
            else:
                self._stats.dropped(route.sensor_id, reason, count)
        framer.drops.clear()

    async def _accept(self, frames: list[bytes], route: Route, expected: str | None, origin: str) -> None:
        kept = [frame for frame in frames if (sent := token(frame)) is None or sent == expected]
        if len(kept) < len(frames):
            self._stats.dropped(route.sensor_id, TOKEN_MISMATCH, len(frames) - len(kept))
        if kept:
            now = datetime.now(UTC)
            t, s, f, z = route.tenant_id, route.sensor_id, route.format, route.timezone
            self._stats.received(s, len(kept), now)
            await self._tcp_batches.add([RawRecord(t, s, f, frame, now, origin, z) for frame in kept])

    # -- UDP ------------------------------------------------------------------------------------------
    def _on_datagram(self, data: bytes, addr: Any) -> None:
        ip, port = _peer(addr)
        message = data.rstrip(TRAILERS)  # RFC 5426 has no framing, but many senders append LF or NUL
        datagram = _Datagram(message, ip, port, datetime.now(UTC))
        sent = token(message)
        if sent is None:
            self._accept_datagram(datagram, self._senders.by_address(ip), sent)
            return
        hit, route = self._senders.cached_token(sent)
        if hit:
            self._accept_datagram(datagram, route or self._senders.by_address(ip), sent)
            return
        waiting = self._waiting.get(sent)
        if waiting is None:
            if len(self._waiting) >= MAX_TOKEN_LOOKUPS:
                self._stats.rejected(LOOKUP_BUSY)
                return
            waiting = self._waiting[sent] = []
            task = asyncio.get_running_loop().create_task(self._resolve_waiting(sent))
            self._lookups.add(task)
            task.add_done_callback(self._lookups.discard)
        if len(waiting) >= MAX_WAITING_DATAGRAMS:
            self._stats.rejected(LOOKUP_BUSY)
            return
        waiting.append(datagram)

    async def _resolve_waiting(self, sent: str) -> None:
        """Look a new token up once, then accept or reject the datagrams that waited for it."""
        try:
            route = await self._senders.by_token(sent)
        except asyncio.CancelledError:  # stopping: what waited is lost, and counted as such
            self._stats.rejected("shutdown", len(self._waiting.pop(sent, [])))
            raise
        for datagram in self._waiting.pop(sent, []):
            self._accept_datagram(datagram, route or self._senders.by_address(datagram.ip), sent)

    def _accept_datagram(self, datagram: _Datagram, route: Route | None, sent: str | None) -> None:
        message, ip, port, now = datagram
        if route is None:
            self._stats.unknown_source(ip, now, reason=unknown_reason(certificate=None, token=sent))
            return
        if len(message) > self._max_message:
            self._stats.dropped(route.sensor_id, "oversize")
            return
        if not message:
            return
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
