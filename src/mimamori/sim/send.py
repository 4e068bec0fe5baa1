"""Delivery of simulated records: to a file, to a syslog receiver (TCP/UDP) or to the HTTP ingest API.

``source_addresses`` maps a tenant index to a local address the client socket binds to, because the syslog
receiver recognises a customer's UTM by its source address (on Linux every 127.x.y.z is loopback).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from mimamori.sim.model import SimRecord

BATCH = 500  # records per HTTP request, the ingest API's limit
MAX_RETRIES = 20  # consecutive 429 answers before giving up on a batch
SCHEMES = ("syslog+tcp", "syslog+tcp-lf", "syslog+udp", "http", "https")


def write(records: Iterable[SimRecord], path: Path) -> int:
    """Write one line per record to ``path``; return how many."""
    count = 0
    with path.open("wb") as fh:
        for record in records:
            fh.write(record.line + b"\n")
            count += 1
    return count


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if not parts.hostname or not parts.port:
        raise ValueError(f"{url!r}: expected scheme://host:port")
    return parts.hostname, parts.port


async def _send_tcp(
    records: Sequence[SimRecord], host: str, port: int, framing: str, binds: Mapping[int, str] | None
) -> int:
    writers: dict[str | None, asyncio.StreamWriter] = {}
    try:
        for record in records:
            local = binds.get(record.tenant_index) if binds else None
            writer = writers.get(local)
            if writer is None:
                _, writer = await asyncio.open_connection(
                    host, port, local_addr=(local, 0) if local else None
                )
                writers[local] = writer
            if framing == "octet":
                writer.write(b"%d %s" % (len(record.line), record.line))
            else:
                writer.write(record.line + b"\n")
            if writer.transport.get_write_buffer_size() > 1 << 20:
                await writer.drain()
        for writer in writers.values():
            await writer.drain()
    finally:
        for writer in writers.values():
            writer.close()
            await writer.wait_closed()
    return len(records)


async def _send_udp(
    records: Sequence[SimRecord], host: str, port: int, binds: Mapping[int, str] | None
) -> int:
    loop = asyncio.get_running_loop()
    transports: dict[str | None, asyncio.DatagramTransport] = {}
    try:
        for n, record in enumerate(records):
            local = binds.get(record.tenant_index) if binds else None
            transport = transports.get(local)
            if transport is None:
                transport, _ = await loop.create_datagram_endpoint(
                    asyncio.DatagramProtocol,
                    remote_addr=(host, port),
                    local_addr=(local, 0) if local else None,
                )
                transports[local] = transport
            transport.sendto(record.line)
            if n % 256 == 255:
                await asyncio.sleep(0)  # let the kernel drain; a burst of datagrams is dropped otherwise
    finally:
        for transport in transports.values():
            transport.close()
    return len(records)


async def _post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> None:
    for _ in range(MAX_RETRIES):
        response = await client.post(url, content=body, headers=headers)
        if response.status_code != 429:
            response.raise_for_status()
            return
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
    raise RuntimeError(f"{url}: still rate limited after {MAX_RETRIES} retries")


async def _send_http(
    records: Sequence[SimRecord], url: str, token: str | None, binds: Mapping[int, str] | None
) -> int:
    headers = {"Content-Type": "application/x-ndjson"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    groups: dict[str | None, list[SimRecord]] = {}
    for record in records:
        groups.setdefault(binds.get(record.tenant_index) if binds else None, []).append(record)
    for local, group in groups.items():
        transport = httpx.AsyncHTTPTransport(local_address=local) if local else None
        async with httpx.AsyncClient(transport=transport, timeout=30.0) as client:
            for i in range(0, len(group), BATCH):
                body = b"\n".join(
                    json.dumps({"message": r.line.decode("utf-8", "replace")}, ensure_ascii=False).encode()
                    for r in group[i : i + BATCH]
                )
                await _post(client, url, body, headers)
    return len(records)


async def send(
    records: Iterable[SimRecord],
    url: str,
    *,
    token: str | None = None,
    source_addresses: Mapping[int, str] | None = None,
) -> int:
    """Send ``records`` to ``url`` and return how many were sent.

    ``syslog+tcp://h:p`` (RFC 6587 octet counting), ``syslog+tcp-lf://h:p`` (LF framing),
    ``syslog+udp://h:p`` (one datagram per record), ``http(s)://h:p/api/v1/ingest`` (JSON lines
    ``{"message": ...}`` in batches of 500 with a bearer token; a 429 waits ``Retry-After`` and retries).
    """
    batch = list(records)
    scheme = urlsplit(url).scheme
    if scheme in ("http", "https"):
        return await _send_http(batch, url, token, source_addresses)
    if scheme not in SCHEMES:
        raise ValueError(f"{url!r}: unsupported scheme; expected one of {', '.join(SCHEMES)}")
    host, port = _host_port(url)
    if scheme == "syslog+udp":
        return await _send_udp(batch, host, port, source_addresses)
    return await _send_tcp(batch, host, port, "octet" if scheme == "syslog+tcp" else "lf", source_addresses)
