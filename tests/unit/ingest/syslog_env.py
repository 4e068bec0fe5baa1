"""Shared by the syslog receiver tests: a running server on a real EmbeddedBus, clients, collectors."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mimamori.bus.embedded import EmbeddedBus
from mimamori.domain import RawRecord
from mimamori.ingest import ReceiverStats, Resolver, Route, SenderResolver, SyslogPorts, SyslogServer

HOST = "127.0.0.1"
ROUTE = Route("tenant-a", "sensor-1", "fortigate")


def run(coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


def known(ip: str) -> Route | None:
    return ROUTE if ip == HOST else None


@dataclass
class Env:
    bus: EmbeddedBus
    server: SyslogServer
    ports: SyslogPorts
    stats: ReceiverStats

    @property
    def tcp(self) -> int:
        return self.ports.tcp

    @property
    def udp(self) -> int:
        return self.ports.udp

    @property
    def tls(self) -> int:
        assert self.server.tls_port is not None
        return self.server.tls_port


class Directory:
    """A SenderResolver over dictionaries that records its token look-ups (slow ones, like a database)."""

    def __init__(
        self,
        addresses: dict[str, Route] | None = None,
        tokens: dict[str, Route] | None = None,
        certificates: dict[str, Route] | None = None,
        token_delay: float = 0.0,
    ) -> None:
        self.addresses, self.tokens = addresses or {}, tokens or {}
        self.certificates, self.token_delay = certificates or {}, token_delay
        self.token_calls: list[str] = []

    def by_certificate(self, sha256_hex: str) -> Route | None:
        return self.certificates.get(sha256_hex)

    def by_token(self, token: str) -> Route | None:
        self.token_calls.append(token)
        time.sleep(self.token_delay)  # called in a worker thread
        return self.tokens.get(token)

    def by_address(self, ip: str) -> Route | None:
        return self.addresses.get(ip)


@contextlib.asynccontextmanager
async def running(
    tmp_path: Path, resolve: SenderResolver | Resolver = known, max_batches: int = 256, **options: Any
) -> AsyncIterator[Env]:
    bus = EmbeddedBus(tmp_path / "spool", max_batches=max_batches, fsync=False)
    await bus.start()
    stats = ReceiverStats()
    options.setdefault("linger_ms", 20)
    server = SyslogServer(bus, resolve, host=HOST, tcp_port=0, udp_port=0, stats=stats, **options)
    ports = await server.start()
    try:
        yield Env(bus, server, ports, stats)
    finally:
        await server.stop()
        await bus.close()


async def collect(bus: EmbeddedBus, count: int) -> list[RawRecord]:
    records: list[RawRecord] = []
    if count == 0:
        return records
    async for delivery in bus.deliveries():
        records.extend(delivery.records)
        await delivery.ack()
        if len(records) >= count:
            break
    return records


async def send_tcp(port: int, *chunks: bytes) -> None:
    _, writer = await asyncio.open_connection(HOST, port)
    for chunk in chunks:
        writer.write(chunk)
        await writer.drain()
        await asyncio.sleep(0.005)  # let the server see separate reads
    writer.close()
    await writer.wait_closed()


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    try:  # unread data makes the close a reset
        return await asyncio.wait_for(reader.read(), 2) == b""
    except ConnectionError:  # reset, or a broken pipe from a write after the close
        return True


def octet(message: bytes) -> bytes:
    return b"%d %s" % (len(message), message)
