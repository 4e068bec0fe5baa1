"""The embedded runtime wires every receiver to the sensors in the database.

Real sockets, a real TLS handshake with a client certificate, a real tailed file: each path must end in an
alert of the right tenant.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.unit.ingest.certificates import make_pki

from mimamori.config import Settings, WatchEntry
from mimamori.services import tenants
from mimamori.services.runtime import Runtime
from mimamori.storage import read_only

C2 = "203.0.113.66"  # in the bundled demo indicators
LINE = (
    '<189>date=2026-11-26 time=10:00:00 devname="FGT60F" devid="FGT60FTK0000" tz="+0900" logid="0000000013" '
    'type="traffic" subtype="forward" level="notice" srcip=192.168.1.5 srcport=50000 dstip={dst} '
    'dstport=443 proto=6 action="accept" policyid=1 service="HTTPS" srcname="PC-01"'
)


def settings(tmp_path: Path, **extra: object) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        secret_key="s" * 48,
        syslog_tcp_port=0,
        syslog_udp_port=0,
        syslog_tls_port=0,
        batch_linger_ms=20,
        **extra,  # type: ignore[arg-type]
    )


def alerts_of(runtime: Runtime, tenant_id: str) -> int:
    with read_only(runtime.db) as uow:
        return uow.alerts.count(tenant_id)


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


def frame(message: str) -> bytes:
    data = message.encode()
    return str(len(data)).encode() + b" " + data


def test_token_in_structured_data_routes_a_tcp_sender_without_a_registered_address(tmp_path: Path) -> None:
    runtime = Runtime(settings(tmp_path))
    a = tenants.add_tenant(runtime.db, "A").id
    b = tenants.add_tenant(runtime.db, "B").id
    token = tenants.add_sensor(runtime.db, a, "fw", "syslog").token
    tenants.add_sensor(runtime.db, b, "fw", "fortigate", with_token=False)
    assert token

    async def scenario() -> None:
        await runtime.start()
        try:
            message = (
                f'<134>1 2026-11-26T10:00:00+09:00 fw01 app - - [mimamori@32473 token="{token}"] '
                f"connection to {C2}"
            )
            _reader, writer = await asyncio.open_connection("127.0.0.1", runtime.syslog_ports[0])
            writer.write(frame(message))
            await writer.drain()
            writer.close()
            assert await until(lambda: runtime.processed.received >= 1)
        finally:
            await runtime.stop()
        with read_only(runtime.db) as uow:
            (sensor,) = uow.sensors.list(a)
        assert sensor.received == 1
        assert alerts_of(runtime, b) == 0

    run(scenario)


def test_tls_client_certificate_identifies_the_sensor(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki", ("utm",))
    runtime = Runtime(
        settings(
            tmp_path,
            tls_cert_file=pki.server.cert,
            tls_key_file=pki.server.key,
            tls_client_ca_file=pki.ca.cert,
        )
    )
    a = tenants.add_tenant(runtime.db, "A").id
    tenants.add_sensor(
        runtime.db, a, "utm", "fortigate", with_token=False, cert_fingerprint=pki.clients["utm"].fingerprint
    )
    runtime.refresh_routes()

    async def scenario() -> None:
        await runtime.start()
        try:
            assert runtime.syslog.tls_port
            client = ssl.create_default_context(cafile=str(pki.ca.cert))
            client.load_cert_chain(str(pki.clients["utm"].cert), str(pki.clients["utm"].key))
            _reader, writer = await asyncio.open_connection(
                "127.0.0.1", runtime.syslog.tls_port, ssl=client, server_hostname="127.0.0.1"
            )
            writer.write(frame(LINE.format(dst=C2)))
            await writer.drain()
            writer.close()
            assert await until(lambda: alerts_of(runtime, a) == 1)
        finally:
            await runtime.stop()

    run(scenario)


def test_watched_file_lines_reach_the_sensors_tenant(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    bootstrap = Runtime(settings(tmp_path))
    a = tenants.add_tenant(bootstrap.db, "A").id
    sensor = tenants.add_sensor(bootstrap.db, a, "fw-file", "fortigate", with_token=False).sensor
    bootstrap.db.dispose()
    runtime = Runtime(
        settings(
            tmp_path,
            watch=[WatchEntry(path=str(log_dir / "*.log"), tenant=a, sensor=sensor.id)],
            watch_from_start=True,
        )
    )
    (log_dir / "fw.log").write_text(LINE.format(dst=C2) + "\n", encoding="utf-8")

    async def scenario() -> None:
        await runtime.start()
        try:
            assert await until(lambda: alerts_of(runtime, a) == 1)
        finally:
            await runtime.stop()

    run(scenario)


def test_unknown_senders_are_rejected_and_counted(tmp_path: Path) -> None:
    runtime = Runtime(settings(tmp_path))

    async def scenario() -> None:
        await runtime.start()
        try:
            with socket.create_connection(("127.0.0.1", runtime.syslog_ports[0]), timeout=5) as s:
                s.sendall(frame(LINE.format(dst=C2)))
            await asyncio.sleep(0.3)
            runtime.flush_stats()
        finally:
            await runtime.stop()
        assert runtime.metrics()["receiver_unknown_source_rejected"] >= 1
        assert runtime.processed.received == 0

    run(scenario)
