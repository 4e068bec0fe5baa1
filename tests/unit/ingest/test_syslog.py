"""SyslogServer over real sockets: framing, oversize frames, unknown senders, UDP, backpressure."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mimamori.bus.embedded import EmbeddedBus
from mimamori.domain import RawRecord
from mimamori.ingest import ReceiverStats, Route, SyslogPorts, SyslogServer

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


@contextlib.asynccontextmanager
async def running(
    tmp_path: Path, resolve: Callable[[str], Route | None] = known, max_batches: int = 256, **options: Any
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
    except ConnectionResetError:
        return True


def octet(message: bytes) -> bytes:
    return b"%d %s" % (len(message), message)


def test_octet_counted_and_lf_framed_messages_arrive_exactly(tmp_path: Path) -> None:
    japanese = "<14>1 2024-05-01T12:00:00Z fw app - - - ログイン失敗 user=山田".encode()
    messages = [
        b"<13>first",
        b"<13>multi\nline\r\nmessage",
        japanese,
        b"<13>lf",
        b"<13>crlf",
        b"<13>nul",
        b"<13>tail",
    ]
    stream = [
        octet(messages[0]) + octet(messages[1]),
        octet(japanese)[:20],  # a frame split across reads, inside a multi-byte character
        octet(japanese)[20:] + b"<13>lf\n<13>crlf\r\n<13>nu",
        b"l\x00" + b"<13>tail",  # the last line has no trailer: it ends with the connection
    ]

    async def scenario() -> None:
        async with running(tmp_path) as env:
            await send_tcp(env.tcp, *stream)
            records = await collect(env.bus, len(messages))
            assert [r.data for r in records] == messages
            first = records[0]
            assert (first.tenant_id, first.sensor_id, first.format) == ("tenant-a", "sensor-1", "fortigate")
            assert first.origin.startswith("syslog-tcp 127.0.0.1:")
            assert first.received_at.tzinfo is not None
            snapshot = env.stats.snapshot_and_reset()
            assert snapshot.sensors["sensor-1"].received == len(messages)
            assert snapshot.sensors["sensor-1"].dropped == 0

    run(scenario())


def test_mixed_framing_across_concurrent_connections(tmp_path: Path) -> None:
    counted = [b"<13>octet %d" % i for i in range(200)]
    lined = [b"<13>line %d" % i for i in range(200)]

    async def scenario() -> None:
        async with running(tmp_path, batch_size=50) as env:
            await asyncio.gather(
                send_tcp(env.tcp, b"".join(octet(m) for m in counted)),
                send_tcp(env.tcp, b"".join(m + b"\n" for m in lined)),
            )
            records = await collect(env.bus, 400)
            by_origin: dict[str, list[bytes]] = {}
            for record in records:
                by_origin.setdefault(record.origin, []).append(record.data)
            assert sorted(by_origin.values()) == sorted([counted, lined])  # order kept per connection

    run(scenario())


def test_oversize_frames_are_dropped_and_the_next_message_survives(tmp_path: Path) -> None:
    big = b"<13>" + b"x" * 300

    async def scenario() -> None:
        async with running(tmp_path, max_message=100) as env:
            counted_big = octet(big)
            await send_tcp(
                env.tcp,
                counted_big[:150],
                counted_big[150:] + octet(b"<13>after octet"),
                big[:120],
                big[120:] + b"\n<13>after line\n" + big + b"\n<13>last\n",
            )
            records = await collect(env.bus, 3)
            assert [r.data for r in records] == [b"<13>after octet", b"<13>after line", b"<13>last"]
            counts = env.stats.snapshot_and_reset().sensors["sensor-1"]
            assert counts.dropped == 3
            assert counts.dropped_by_reason == {"oversize": 3}

    run(scenario())


def test_unknown_sources_are_rejected_and_counted(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, resolve=lambda ip: None) as env:
            reader, writer = await asyncio.open_connection(HOST, env.tcp)
            writer.write(b"<13>who am I\n")
            assert await closed_by_server(reader)
            writer.close()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.sendto(b"<13>who am I", (HOST, env.udp))
            await asyncio.sleep(0.1)
            snapshot = env.stats.snapshot_and_reset()
            assert snapshot.unknown_sources[HOST].rejected == 2
            assert snapshot.sensors == {}
            assert env.bus.depth() == 0
            assert env.bus.stats.published == 0

    run(scenario())


def test_udp_datagrams_are_messages(tmp_path: Path) -> None:
    messages = [b"<13>udp one", "<13>udp 二".encode(), b"<13>udp\nthree"]

    async def scenario() -> None:
        async with running(tmp_path, max_message=1000) as env:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                for message in messages:
                    udp.sendto(message + b"\n", (HOST, env.udp))
                udp.sendto(b"<13>" + b"y" * 2000, (HOST, env.udp))
            records = await collect(env.bus, 3)
            assert [r.data for r in records] == messages
            assert records[0].origin.startswith("syslog-udp 127.0.0.1:")
            counts = env.stats.snapshot_and_reset().sensors["sensor-1"]
            assert (counts.received, counts.dropped_by_reason) == (3, {"oversize": 1})

    run(scenario())


def test_udp_drops_and_counts_when_the_bus_is_full(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, max_batches=1, batch_size=1) as env:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                for i in range(20):
                    udp.sendto(b"<13>udp %d" % i, (HOST, env.udp))
                    await asyncio.sleep(0.002)
            await asyncio.sleep(0.1)
            counts = env.stats.snapshot_and_reset().sensors["sensor-1"]
            assert counts.received == 20
            assert counts.dropped_by_reason["backpressure"] >= 15
            assert len(await collect(env.bus, 1)) == 1

    run(scenario())


def test_tcp_backpressure_stops_reading_and_resumes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, max_batches=1, batch_size=100) as env:
            loop = asyncio.get_running_loop()
            client = socket.create_connection((HOST, env.tcp))
            client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
            client.setblocking(False)
            sent = 0
            pending = b""
            blocked_since = None
            while True:  # write until the kernel refuses more for a while: the server stopped reading
                if not pending:
                    pending = b"".join(b"<13>message %08d\n" % (sent + i) for i in range(100))
                    sent += 100
                try:
                    pending = pending[client.send(pending) :]
                    blocked_since = None
                except BlockingIOError:
                    blocked_since = blocked_since or loop.time()
                    if loop.time() - blocked_since > 0.3:
                        break
                await asyncio.sleep(0)
            taken = env.stats.snapshot_and_reset().sensors["sensor-1"].received
            await asyncio.sleep(0.2)
            assert env.stats.snapshot_and_reset().sensors == {}  # nothing more read while the bus is full
            assert taken < 3000  # the server holds a few batches, the rest waits in kernel buffers
            assert env.bus.depth() == 1

            consumer = asyncio.create_task(collect(env.bus, sent))
            client.setblocking(True)
            await loop.run_in_executor(None, client.sendall, pending)
            client.close()
            records = await asyncio.wait_for(consumer, 15)
            assert [r.data for r in records] == [b"<13>message %08d" % i for i in range(sent)]

    run(scenario(), timeout=20)


def test_stop_flushes_pending_batches(tmp_path: Path) -> None:
    async def scenario() -> None:
        bus = EmbeddedBus(tmp_path, fsync=False)
        await bus.start()
        server = SyslogServer(
            bus, known, host=HOST, tcp_port=0, udp_port=0, linger_ms=60_000, stats=ReceiverStats()
        )
        ports = await server.start()
        _, writer = await asyncio.open_connection(HOST, ports.tcp)
        writer.write(b"<13>one\n<13>two\n")  # the connection stays open: stop() must close it
        await writer.drain()
        await asyncio.sleep(0.05)
        await server.stop()
        assert [r.data for r in await collect(bus, 2)] == [b"<13>one", b"<13>two"]
        writer.close()
        await bus.close()

    run(scenario())


def test_many_idle_and_misbehaving_connections_do_not_hurt(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, idle_timeout_s=0.3, max_message=1000) as env:
            idle = [await asyncio.open_connection(HOST, env.tcp) for _ in range(50)]
            await send_tcp(env.tcp, b"99999999999999 \x00\xff\xfe garbage\n", b"12345678 cut short")
            await send_tcp(env.tcp, b"\x00\x00\r\n\n\n", b"40 <13>truncated")
            await asyncio.gather(*(send_tcp(env.tcp, b"<13>hello %d\n" % i) for i in range(20)))
            records = await collect(env.bus, 22)
            expected = {b"99999999999999 ", b"\xff\xfe garbage"} | {b"<13>hello %d" % i for i in range(20)}
            assert {r.data for r in records} == expected  # NUL ended the first frame
            for reader, _ in idle:  # idle connections are closed after the idle timeout
                assert await closed_by_server(reader)
            for _, writer in idle:
                writer.close()
            drops = env.stats.snapshot_and_reset().sensors["sensor-1"].dropped_by_reason
            assert drops == {"oversize": 1, "truncated": 1}

    run(scenario())
