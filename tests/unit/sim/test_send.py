"""send() over real local sockets: syslog TCP (octet counting and LF), UDP, HTTP with a 429; write()."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from mimamori.sim import SimRecord, generate, send, write

from .conftest import START


@pytest.fixture(scope="module")
def records() -> list[SimRecord]:
    run = generate(tenants=2, seed=3, scenarios=["byod-iphone"], start=START, duration=timedelta(minutes=5))
    return run.records


def _octet_frames(data: bytes) -> list[bytes]:
    frames = []
    while data:
        size, _, rest = data.partition(b" ")
        frames.append(rest[: int(size)])
        data = rest[int(size) :]
    return frames


async def _tcp_collect(
    records: list[SimRecord], scheme: str, binds: dict[int, str] | None
) -> tuple[bytes, set[str]]:
    chunks: list[bytes] = []
    peers: set[str] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.add(writer.get_extra_info("peername")[0])
        chunks.append(await reader.read())
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sent = await send(records, f"{scheme}://127.0.0.1:{port}", source_addresses=binds)
    assert sent == len(records)
    for _ in range(100):
        if len(chunks) == len(binds or {0: ""}):
            break
        await asyncio.sleep(0.01)
    server.close()
    await server.wait_closed()
    return b"".join(chunks) if len(chunks) == 1 else b"".join(sorted(chunks)), peers


def test_tcp_octet_counting(records: list[SimRecord]) -> None:
    data, _ = asyncio.run(_tcp_collect(records, "syslog+tcp", None))
    assert _octet_frames(data) == [r.line for r in records]


def test_tcp_lf_framing_binds_one_source_address_per_tenant(records: list[SimRecord]) -> None:
    binds = {0: "127.0.1.1", 1: "127.0.1.2"}
    data, peers = asyncio.run(_tcp_collect(records, "syslog+tcp-lf", binds))
    assert sorted(data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n")) == sorted(
        r.line for r in records
    )
    assert peers == {"127.0.1.1", "127.0.1.2"}


def test_udp_one_datagram_per_record(records: list[SimRecord]) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2)
    port = sock.getsockname()[1]
    some = records[:200]
    assert asyncio.run(send(some, f"syslog+udp://127.0.0.1:{port}")) == len(some)
    got = [sock.recv(65535) for _ in some]
    sock.close()
    assert got == [r.line for r in some]


class _Ingest(BaseHTTPRequestHandler):
    bodies: ClassVar[list[bytes]] = []
    auth: ClassVar[list[str]] = []
    throttled = False

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if not _Ingest.throttled:
            _Ingest.throttled = True
            self.send_response(429)
            self.send_header("Retry-After", "0")
            self.end_headers()
            return
        _Ingest.bodies.append(body)
        _Ingest.auth.append(self.headers.get("Authorization", ""))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_http_batches_with_token_and_retry_after(records: list[SimRecord]) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ingest)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/ingest"
        assert asyncio.run(send(records, url, token="s3cret")) == len(records)
    finally:
        server.shutdown()
        server.server_close()
    messages = [json.loads(line)["message"] for body in _Ingest.bodies for line in body.split(b"\n")]
    assert messages == [r.line.decode() for r in records]
    assert all(len(body.split(b"\n")) <= 500 for body in _Ingest.bodies)
    assert set(_Ingest.auth) == {"Bearer s3cret"}


def test_write_one_line_per_record(records: list[SimRecord], tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    assert write(records, path) == len(records)
    assert path.read_bytes().split(b"\n")[:-1] == [r.line for r in records]


def test_unknown_scheme_is_refused(records: list[SimRecord]) -> None:
    with pytest.raises(ValueError, match="unsupported scheme"):
        asyncio.run(send(records, "ftp://127.0.0.1:21"))
