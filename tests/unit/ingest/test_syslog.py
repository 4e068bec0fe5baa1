"""SyslogServer over real sockets: framing, oversize frames, unknown senders, UDP, backpressure."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from tests.unit.ingest.syslog_env import (
    HOST,
    Directory,
    closed_by_server,
    collect,
    known,
    octet,
    run,
    running,
    send_tcp,
)

from mimamori.bus.embedded import EmbeddedBus
from mimamori.ingest import ReceiverStats, Route, SyslogServer


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


def test_udp_bursts_and_the_largest_datagram_arrive_exactly(tmp_path: Path) -> None:
    # More datagrams than one wake-up reads, then the largest IPv4 UDP payload (65,507 bytes): each
    # record holds its own exact-size copy of the reusable receive buffer.
    burst = [b"<13>burst %d" % i for i in range(300)]
    largest = b"<13>" + b"z" * (65_507 - 4)

    async def scenario() -> None:
        async with running(tmp_path, max_message=65_536, batch_size=1000) as env:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
                for message in [*burst, largest]:
                    udp.sendto(message, (HOST, env.udp))
            records = await collect(env.bus, len(burst) + 1)
            assert [r.data for r in records] == [*burst, largest]
            assert all(type(r.data) is bytes for r in records)

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


# -- sender identification: token in the structured data, then address ---------------------------------
BY_TOKEN = Route("tenant-b", "sensor-token", "syslog", "UTC")
BY_ADDRESS = Route("tenant-c", "sensor-address", "fortigate")


def sd(token: str, text: str = "msg") -> bytes:
    return b'<134>1 2026-11-26T10:00:00+09:00 fw01 - - - [mimamori@32473 token="%s"] %s' % (
        token.encode(),
        text.encode(),
    )


def test_a_token_identifies_a_tcp_connection_once_and_other_tokens_are_dropped(tmp_path: Path) -> None:
    directory = Directory(tokens={"tok-1": BY_TOKEN}, token_delay=0.05)
    messages = [sd("tok-1", "one"), b"<13>no token", sd("tok-2", "other"), sd("tok-1", "two")]

    async def scenario() -> None:
        async with running(tmp_path, resolve=directory) as env:
            await send_tcp(env.tcp, b"".join(octet(m) for m in messages))
            records = await collect(env.bus, 3)
            assert [r.data for r in records] == [messages[0], messages[1], messages[3]]  # bytes untouched
            assert {(r.tenant_id, r.sensor_id, r.format, r.timezone) for r in records} == {
                ("tenant-b", "sensor-token", "syslog", "UTC")
            }
            counts = env.stats.snapshot_and_reset().sensors["sensor-token"]
            assert (counts.received, counts.dropped_by_reason) == (3, {"token-mismatch": 1})
            assert directory.token_calls == ["tok-1"]  # once per connection, not per message

    run(scenario())


def test_the_token_wins_over_the_address_and_a_tokenless_start_forbids_tokens(tmp_path: Path) -> None:
    directory = Directory(addresses={HOST: BY_ADDRESS}, tokens={"tok-1": BY_TOKEN})

    async def scenario() -> None:
        async with running(tmp_path, resolve=directory) as env:
            await send_tcp(env.tcp, sd("tok-1") + b"\n")
            await send_tcp(env.tcp, b"<13>plain\n" + sd("tok-1", "later") + b"\n<13>plain again\n")
            await send_tcp(env.tcp, sd("unknown-token") + b"\n")  # unknown token: the address decides
            records = await collect(env.bus, 4)
            assert [(r.sensor_id, r.data) for r in records] == [
                ("sensor-token", sd("tok-1")),
                ("sensor-address", b"<13>plain"),
                ("sensor-address", b"<13>plain again"),
                ("sensor-address", sd("unknown-token")),
            ]
            drops = env.stats.snapshot_and_reset().sensors["sensor-address"].dropped_by_reason
            assert drops == {"token-mismatch": 1}

    run(scenario())


def test_unknown_tokens_are_rejected_and_silent_strangers_timed_out(tmp_path: Path) -> None:
    directory = Directory(tokens={"tok-1": BY_TOKEN})

    async def scenario() -> None:
        async with running(tmp_path, resolve=directory, identify_timeout_s=0.2) as env:
            reader, writer = await asyncio.open_connection(HOST, env.tcp)
            writer.write(sd("wrong") + b"\n" + sd("tok-1") + b"\n")
            assert await closed_by_server(reader)
            writer.close()
            silent_reader, silent = await asyncio.open_connection(HOST, env.tcp)
            assert await closed_by_server(silent_reader)  # no first message within identify_timeout_s
            silent.close()
            slow_reader, slow = await asyncio.open_connection(HOST, env.tcp)
            started = asyncio.get_running_loop().time()
            for _ in range(6):  # bytes that never make a message do not extend the time allowed
                try:
                    slow.write(b"x")
                except ConnectionError:  # the server already hung up: that is the point
                    break
                await asyncio.sleep(0.1)
            assert await closed_by_server(slow_reader)
            assert asyncio.get_running_loop().time() - started < 1.5
            slow.close()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.sendto(sd("wrong"), (HOST, env.udp))
                udp.sendto(b"<13>no token", (HOST, env.udp))
            await asyncio.sleep(0.2)
            snapshot = env.stats.snapshot_and_reset()
            unknown = snapshot.unknown_sources[HOST]
            assert unknown.by_reason == {"unknown-token": 2, "unknown-address": 1}
            assert unknown.rejected == 3
            assert snapshot.sensors == {}
            assert env.bus.stats.published == 0

    run(scenario())


def test_udp_datagrams_with_a_new_token_wait_for_one_look_up(tmp_path: Path) -> None:
    directory = Directory(addresses={HOST: BY_ADDRESS}, tokens={"tok-1": BY_TOKEN}, token_delay=0.1)
    messages = [sd("tok-1", str(i)) for i in range(30)]

    async def scenario() -> None:
        async with running(tmp_path, resolve=directory) as env:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                for message in messages:
                    udp.sendto(message, (HOST, env.udp))
                udp.sendto(b"<13>by address", (HOST, env.udp))
                await asyncio.sleep(0.3)
                udp.sendto(sd("tok-1", "cached"), (HOST, env.udp))
            records = await collect(env.bus, 32)
            by_sensor: dict[str, list[bytes]] = {}
            for record in records:
                by_sensor.setdefault(record.sensor_id, []).append(record.data)
            assert by_sensor == {
                "sensor-token": [*messages, sd("tok-1", "cached")],
                "sensor-address": [b"<13>by address"],
            }
            assert directory.token_calls == ["tok-1"]
            assert env.server.senders.token_lookups == 1

    run(scenario())


def test_a_plain_address_callable_and_a_failing_resolver_are_accepted(tmp_path: Path) -> None:
    class Broken(Directory):
        def by_address(self, ip: str) -> Route | None:
            raise RuntimeError("table not loaded")

    async def scenario() -> None:
        async with running(tmp_path, resolve=Broken()) as env:
            await send_tcp(env.tcp, b"<13>x\n")
            await asyncio.sleep(0.1)
            assert env.stats.snapshot_and_reset().unknown_sources[HOST].rejected == 1
        async with running(tmp_path, resolve=known) as env:  # plain Callable[[str], Route | None]
            await send_tcp(env.tcp, sd("ignored") + b"\n")
            assert [r.sensor_id for r in await collect(env.bus, 1)] == ["sensor-1"]

    run(scenario())
