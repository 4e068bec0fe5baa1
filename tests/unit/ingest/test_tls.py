"""Syslog over TLS (RFC 5425): the server context, identification by client certificate, hostile clients."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.unit.ingest.certificates import Pki, make_pki
from tests.unit.ingest.syslog_env import HOST, Directory, closed_by_server, collect, octet, run, running

from mimamori.errors import ConfigError
from mimamori.ingest import Route, server_context
from mimamori.ingest.tls import fingerprint

BY_CERT = Route("tenant-a", "sensor-cert", "fortigate")
BY_TOKEN = Route("tenant-b", "sensor-token", "syslog")
TOKEN_MESSAGE = b'<134>1 2026-11-26T10:00:00+09:00 fw01 - - - [mimamori@32473 token="tok-1"] hello'


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), ("registered", "stranger"))


def client_context(pki: Pki, client: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca.cert))
    if client is not None:
        pair = pki.clients[client]
        context.load_cert_chain(pair.cert, pair.key)
    return context


def directory(pki: Pki) -> Directory:
    return Directory(
        certificates={pki.clients["registered"].fingerprint: BY_CERT}, tokens={"tok-1": BY_TOKEN}
    )


def tls_options(pki: Pki, *, require_client_cert: bool = False) -> dict[str, Any]:
    context = server_context(
        pki.server.cert, pki.server.key, cafile=pki.ca.cert, require_client_cert=require_client_cert
    )
    return {"tls_port": 0, "tls_context": context}


async def send_tls(port: int, context: ssl.SSLContext, data: bytes) -> asyncio.StreamReader:
    reader, writer = await asyncio.open_connection(HOST, port, ssl=context, server_hostname="localhost")
    writer.write(data)
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    return reader


def test_the_server_context_is_tls12_or_newer_and_asks_for_client_certificates(pki: Pki) -> None:
    optional = server_context(pki.server.cert, pki.server.key, cafile=pki.ca.cert)
    assert optional.minimum_version == ssl.TLSVersion.TLSv1_2
    assert optional.verify_mode == ssl.CERT_OPTIONAL
    required = server_context(pki.server.cert, pki.server.key, cafile=pki.ca.cert, require_client_cert=True)
    assert required.verify_mode == ssl.CERT_REQUIRED
    assert server_context(pki.server.cert, pki.server.key).verify_mode == ssl.CERT_NONE
    with pytest.raises(ConfigError):
        server_context(pki.server.cert, pki.server.key, require_client_cert=True)
    with pytest.raises(ConfigError):
        server_context(pki.server.cert, pki.ca.key)  # key of another certificate
    with pytest.raises(ConfigError):
        server_context(pki.server.cert, pki.server.key, cafile=pki.ca.cert.with_name("missing.pem"))


def test_the_fingerprint_is_what_openssl_prints(pki: Pki) -> None:
    pem = pki.clients["registered"].cert
    der = ssl.PEM_cert_to_DER_cert(pem.read_text())
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    printed = subprocess.run(
        ["openssl", "x509", "-in", str(pem), "-noout", "-fingerprint", "-sha256"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    assert fingerprint(der) == printed.split("=", 1)[1].strip().replace(":", "").lower()


def test_a_registered_client_certificate_routes_to_its_sensor(tmp_path: Path, pki: Pki) -> None:
    messages = [b"<13>octet counted", b"<13>multi\nline", b"<13>lf framed"]

    async def scenario() -> None:
        async with running(tmp_path, resolve=directory(pki), **tls_options(pki)) as env:
            stream = octet(messages[0]) + octet(messages[1]) + messages[2] + b"\n"
            await send_tls(env.tls, client_context(pki, "registered"), stream)
            records = await collect(env.bus, 3)
            assert [r.data for r in records] == messages
            assert {(r.tenant_id, r.sensor_id) for r in records} == {("tenant-a", "sensor-cert")}
            assert records[0].origin.startswith("syslog-tls 127.0.0.1:")
            assert env.stats.snapshot_and_reset().sensors["sensor-cert"].received == 3

    run(scenario())


def test_a_client_without_certificate_is_routed_by_its_token(tmp_path: Path, pki: Pki) -> None:
    async def scenario() -> None:
        async with running(tmp_path, resolve=directory(pki), **tls_options(pki)) as env:
            await send_tls(env.tls, client_context(pki, None), octet(TOKEN_MESSAGE))
            records = await collect(env.bus, 1)
            assert [(r.sensor_id, r.data) for r in records] == [("sensor-token", TOKEN_MESSAGE)]

    run(scenario())


def test_an_unknown_certificate_without_token_or_address_is_rejected(tmp_path: Path, pki: Pki) -> None:
    async def scenario() -> None:
        async with running(tmp_path, resolve=directory(pki), **tls_options(pki)) as env:
            reader, writer = await asyncio.open_connection(
                HOST, env.tls, ssl=client_context(pki, "stranger"), server_hostname="localhost"
            )
            writer.write(octet(b"<13>who am I"))
            assert await closed_by_server(reader)
            writer.close()
            # The same unregistered certificate may still identify by a token.
            await send_tls(env.tls, client_context(pki, "stranger"), octet(TOKEN_MESSAGE))
            assert [r.sensor_id for r in await collect(env.bus, 1)] == ["sensor-token"]
            snapshot = env.stats.snapshot_and_reset()
            assert snapshot.unknown_sources[HOST].by_reason == {"unknown-certificate": 1}
            assert "sensor-cert" not in snapshot.sensors

    run(scenario())


def test_plain_tcp_and_silent_clients_fail_cleanly(tmp_path: Path, pki: Pki) -> None:
    async def scenario() -> None:
        options = tls_options(pki)
        async with running(tmp_path, resolve=directory(pki), handshake_timeout_s=0.3, **options) as env:
            reader, writer = await asyncio.open_connection(HOST, env.tls)  # no TLS at all
            writer.write(b"<13>plain text to a TLS port\n" * 10)
            assert await closed_by_server(reader)
            writer.close()
            silent_reader, silent = await asyncio.open_connection(HOST, env.tls)  # never says hello
            assert await closed_by_server(silent_reader)
            silent.close()
            await send_tls(env.tls, client_context(pki, "registered"), b"<13>still serving\n")
            assert [r.data for r in await collect(env.bus, 1)] == [b"<13>still serving"]

    run(scenario())


def test_required_client_certificates_refuse_clients_without_one(tmp_path: Path, pki: Pki) -> None:
    async def scenario() -> None:
        options = tls_options(pki, require_client_cert=True)
        async with running(tmp_path, resolve=directory(pki), **options) as env:
            try:  # TLS 1.3 reports the refusal after the client's side of the handshake
                reader = await send_tls(env.tls, client_context(pki, None), octet(TOKEN_MESSAGE))
                assert await reader.read() == b""
            except (ssl.SSLError, ConnectionError):
                pass
            await send_tls(env.tls, client_context(pki, "registered"), b"<13>with a certificate\n")
            assert [r.sensor_id for r in await collect(env.bus, 1)] == ["sensor-cert"]
            assert env.bus.stats.published_records == 1

    run(scenario())
