"""NATS and PostgreSQL restarted under a running scale-out deployment (real processes, private servers).

A sensor posts FortiGate lines to ``mimamori receiver`` over HTTP without pause while first the private
NATS server and then the private PostgreSQL server are restarted (PostgreSQL also killed with SIGKILL).
While NATS is down the receiver answers 429 with Retry-After (or holds a request in flight until
NATS is back) and the sender retries; while PostgreSQL is
down the worker retries its batch. Afterwards every record the receiver answered 202 for has been
processed exactly as often as the sensor counters say, at least once, and nothing is left in the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import orjson
import pytest
from tests.conftest import require_service
from tests.support.cluster import Cluster, check_nats
from tests.support.nats_server import NatsServer
from tests.support.pg_server import PgServer, find_binaries

from mimamori.services import tenants
from mimamori.storage import Database

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
LINE = (
    'date=2026-11-26 time=10:00:{s:02d} devname="FGT60F" devid="FGT60FTK0000001" logid="0000000013" '
    'type="traffic" subtype="forward" level="notice" vd="root" srcip=192.168.1.{h} srcport={port} '
    'srcintf="internal" dstip=93.184.216.34 dstport=443 dstintf="wan1" proto=6 action="accept" '
    'policyid=1 service="HTTPS" sentbyte={n} rcvdbyte=2048 sessionid={n}'
)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[NatsServer, PgServer]]:
    if not NatsServer.available():
        require_service("nats-server", "the binary is needed for fault tests (apt install nats-server)")
    if find_binaries() is None:
        require_service("PostgreSQL server binaries", "initdb/pg_ctl not found")
    nats_server = NatsServer(tmp_path / "nats-store")
    nats_server.start()
    try:
        check_nats(nats_server.url)
        with PgServer.create() as pg:
            yield nats_server, pg
    finally:
        nats_server.stop()


class Sender(threading.Thread):
    """Posts batches of unique lines until stopped; counts what the receiver accepted (202) and refused."""

    def __init__(self, base: str, token: str) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=base, timeout=10, headers={"Authorization": f"Bearer {token}"})
        self.stop = threading.Event()
        self.accepted = 0
        self.refused_429 = 0
        self.errors = 0
        self.sequence = 0
        self.longest_wait = 0.0  # seconds of the slowest answer: a receiver holding a request pushes back too

    def batch(self) -> bytes:
        lines = []
        for _ in range(200):
            n = self.sequence = self.sequence + 1
            line = LINE.format(s=n % 60, h=n % 200 + 2, port=1024 + n % 60000, n=n)
            lines.append(orjson.dumps({"message": line}))
        return b"\n".join(lines)

    def run(self) -> None:
        body = self.batch()
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                response = self.client.post("/api/v1/ingest", content=body)
            except httpx.HTTPError:
                self.errors += 1
                time.sleep(0.2)
                continue
            finally:
                self.longest_wait = max(self.longest_wait, time.monotonic() - started)
            if response.status_code == 202:
                self.accepted += int(response.json()["accepted"])
                body = self.batch()
                time.sleep(0.01)
            elif response.status_code == 429:
                self.refused_429 += 1
                time.sleep(min(2.0, float(response.headers.get("Retry-After", "1"))))
            else:
                raise AssertionError(f"unexpected answer {response.status_code}: {response.text[:300]}")


async def _pending(url: str, prefix: str, partitions: int) -> int:
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        total = 0
        for p in range(partitions):
            info = await js.consumer_info(f"{prefix}_raw", f"{prefix}_raw_{p}")
            total += info.num_pending + info.num_ack_pending
        return total
    finally:
        await client.close()


def _received(url: str) -> int:
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT coalesce(sum(received), 0) FROM sensors").scalar_one())
    finally:
        db.dispose()


def test_nats_and_postgres_restarts_lose_nothing(
    tmp_path: Path, servers: tuple[NatsServer, PgServer]
) -> None:
    nats_server, pg = servers
    url = pg.url()
    db = Database(url)
    db.migrate()
    tenant = tenants.add_tenant(db, "再起動テスト").id
    token = tenants.add_sensor(db, tenant, "utm", "fortigate").token
    db.dispose()
    assert token
    cluster = Cluster(tmp_path, url, partitions=4, nats_url=nats_server.url)
    sender = Sender(cluster.base, token)
    try:
        cluster.start_receiver()
        cluster.start_worker("w1")
        cluster.wait_log("w1", "assigned partitions")
        sender.start()
        time.sleep(4)
        nats_server.restart(down_for=3)
        # A request in flight when NATS went away is answered 429 only after the publish timeout, which
        # may come after NATS is back: wait for it (up to 15 s) before the PostgreSQL phase.
        deadline = time.monotonic() + 15
        time.sleep(5)
        while sender.refused_429 == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        during_nats = sender.refused_429
        held = sender.longest_wait
        pg.restart("fast")
        time.sleep(3)
        pg.kill()
        time.sleep(2)
        pg.start()
        time.sleep(4)
        sender.stop.set()
        sender.join(timeout=30)
        assert sender.accepted > 0
        deadline = time.monotonic() + 180
        received = 0
        while time.monotonic() < deadline:
            received = _received(url)
            if received >= sender.accepted and asyncio.run(_pending(nats_server.url, cluster.prefix, 4)) == 0:
                break
            time.sleep(1)
        log = cluster.log("w1").read_text(errors="replace")
        assert received >= sender.accepted, (received, sender.accepted, log[-4000:])
        assert asyncio.run(_pending(nats_server.url, cluster.prefix, 4)) == 0
        # Push-back while NATS was down: 429 with Retry-After, or the request held until NATS was back.
        assert during_nats > 0 or held >= 2.0, ("no push-back while NATS was down", during_nats, held)
        assert "retrying" in log  # the worker met the database outage and retried its batch
        assert cluster.processes["w1"].poll() is None  # and is still running
        assert cluster.processes["receiver"].poll() is None
        print(
            f"accepted {sender.accepted}, processed {received}, 429 answers {sender.refused_429}, "
            f"connection errors {sender.errors}"
        )
    finally:
        sender.stop.set()
        with contextlib.suppress(Exception):
            sender.client.close()
        cluster.stop_all()
