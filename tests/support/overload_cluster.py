"""The overload scenario against a scale-out deployment: ``mimamori receiver`` + one ``mimamori worker``.

The same senders and shares as the embedded scenario (:mod:`tests.support.overload_run`), pointed at the
receiver's syslog TCP/UDP ports and HTTP ingest. What ``serve`` reads from its own ``/metrics``
(``records_received``) comes here from the database: the workers add each processed batch to the sensors'
``received`` counters. The receiver's and the worker's resident memory are sampled, and the stream's
backlog (messages not yet acknowledged by the worker) is read from NATS.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import nats
from tests.support.cluster import Cluster
from tests.support.overload import HttpSender, TcpSender, UdpSender, http_bodies, octet_frames
from tests.support.overload_run import (
    HTTP_BATCH,
    HTTP_SENDERS,
    SHARES,
    TCP_CONNECTIONS,
    TCP_SOURCE,
    UDP_SOURCE,
    Overload,
    sim_lines,
)
from tests.support.service import RssSampler, udp_socket_drops

from mimamori.bus.partitions import partition
from mimamori.services import tenants
from mimamori.storage import Database

__all__ = [
    "ClusterOverload",
    "ClusterSetup",
    "growth_rate",
    "measure_rate",
    "overload",
    "register",
    "trickle_latency",
    "wait_processed",
]


PROBE_SOURCE = "127.0.9.3"  # a second tenant's syslog TCP sender: the recovery probe


def register(db: Database, partitions: int) -> tuple[str, dict[str, str], str]:
    """One tenant with FortiGate sensors for syslog TCP and UDP (by source address) and HTTP (token), and
    a second tenant on another stream partition with a TCP sensor (``probe``) from ``PROBE_SOURCE``."""
    tenant = tenants.add_tenant(db, "分散過負荷テスト").id
    sensors: dict[str, str] = {}
    token = ""
    for transport, address in (("tcp", TCP_SOURCE), ("udp", UDP_SOURCE), ("http", None)):
        new = tenants.add_sensor(db, tenant, transport, "fortigate", source_address=address)
        sensors[transport] = new.sensor.id
        if transport == "http":
            token = new.token or ""
    for attempt in range(20):
        other = tenants.add_tenant(db, f"隣のテナント{attempt}").id
        if partition(other, partitions) != partition(tenant, partitions):
            break
    probe = tenants.add_sensor(db, other, "probe", "fortigate", source_address=PROBE_SOURCE)
    sensors["probe"] = probe.sensor.id
    return tenant, sensors, token


@dataclass
class ClusterSetup:
    """A started receiver and worker, the registered sensors and an open handle on their database."""

    cluster: Cluster
    db: Database
    tenant: str
    sensors: dict[str, str]  # transport -> sensor id
    token: str
    lines: list[bytes] = field(default_factory=lambda: sim_lines(20_000))
    started: float = field(default_factory=time.monotonic)
    frames: list[bytes] = field(init=False)

    def __post_init__(self) -> None:
        self.frames = octet_frames(self.lines)
        self.http = httpx.Client(base_url=self.cluster.base, timeout=5.0)

    def left(self, budget: float, reserve: float = 0.0) -> float:
        """Seconds left of ``budget`` (from ``started``) after keeping ``reserve`` (at least 1)."""
        return max(1.0, self.started + budget - reserve - time.monotonic())

    @property
    def udp_port(self) -> int:
        return int(self.cluster.env["MIMAMORI_SYSLOG_UDP_PORT"])

    def pid(self, name: str) -> int:
        return self.cluster.processes[name].pid

    def sensor_counts(self) -> dict[str, dict[str, int]]:
        by_id = {s.id: s for t in tenants.list_tenants(self.db) for s in tenants.list_sensors(self.db, t.id)}
        return {
            transport: {"received": by_id[sensor].received, "dropped": by_id[sensor].dropped}
            for transport, sensor in self.sensors.items()
        }

    def received(self, transport: str) -> int:
        return self.sensor_counts()[transport]["received"]

    def metrics(self) -> dict[str, int]:
        """The receiver's ``/metrics`` as ``{name without the mimamori_ prefix: value}``."""
        response = self.http.get("/metrics", timeout=10)
        response.raise_for_status()
        out: dict[str, int] = {}
        for line in response.text.splitlines():
            if line.startswith("mimamori_"):
                name, _, value = line.partition(" ")
                out[name.removeprefix("mimamori_")] = int(float(value))
        return out

    def ready(self) -> bool:
        try:
            return self.http.get("/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float) -> float | None:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.ready():
                return time.monotonic() - started
            time.sleep(0.2)
        return None

    def backlog(self, partitions: int) -> int:
        """Messages (batches) in the stream not yet acknowledged by the worker."""
        return asyncio.run(_pending(self.cluster.nats_url, self.cluster.prefix, partitions))

    def close(self) -> None:
        self.http.close()
        self.db.dispose()


async def _pending(url: str, prefix: str, partitions: int) -> int:
    client = await nats.connect(url, connect_timeout=3, max_reconnect_attempts=0)
    try:
        js = client.jetstream(timeout=5)
        total = 0
        for p in range(partitions):
            info = await js.consumer_info(f"{prefix}_raw", f"{prefix}_raw_{p}")
            total += int(info.num_pending or 0) + int(info.num_ack_pending or 0)
        return total
    finally:
        await client.close()


def _connect(setup: ClusterSetup, source: str = TCP_SOURCE) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", setup.cluster.tcp_port))
    return sock


def measure_rate(setup: ClusterSetup, count: int = 20_000, timeout: float = 40.0) -> float:
    """Records/s the idle deployment processes end to end: the slope of the TCP sensor's ``received``
    counter while a burst of ``count`` lines (taken by the receiver into the stream at once) is worked off."""
    base = setup.received("tcp")
    with _connect(setup) as sock:
        sock.sendall(b"".join(setup.frames[i % len(setup.frames)] for i in range(count)))
    points: list[tuple[float, int]] = []
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        done = setup.received("tcp") - base
        points.append((time.monotonic(), done))
        if done >= count:
            break
        time.sleep(0.1)
    moving = [(t, n) for t, n in points if n > 0]
    if len(moving) < 2 or moving[-1][1] < count:
        raise AssertionError(f"the rate burst was not processed in {timeout} s: {points[-1:]}")
    (t1, n1), (t2, n2) = moving[0], moving[-1]
    return (n2 - n1) / max(t2 - t1, 0.1)


def trickle_latency(
    setup: ClusterSetup, count: int = 100, rate: float = 50.0, limit: float = 30.0, *, probe: bool = True
) -> float:
    """Send ``count`` TCP lines at ``rate``/s from the second tenant's sensor (``probe``; else the
    overloaded tenant's); seconds from the last write until all were processed (inf after ``limit``)."""
    transport, source = ("probe", PROBE_SOURCE) if probe else ("tcp", TCP_SOURCE)
    base = setup.received(transport)
    with _connect(setup, source) as sock:
        for i in range(count):
            sock.sendall(setup.frames[i % len(setup.frames)])
            time.sleep(1 / rate)
    written = time.monotonic()
    while setup.received(transport) < base + count:
        if time.monotonic() - written > limit:
            return float("inf")
        time.sleep(0.05)
    return time.monotonic() - written


@dataclass
class ClusterOverload:
    """The embedded scenario's ``Overload`` (receiver RSS in ``load.rss``) plus the worker's RSS and the
    stream backlog sampled every second during the load."""

    load: Overload
    worker_rss: RssSampler
    backlog: list[tuple[float, int]]

    def figures(self) -> dict[str, Any]:
        out = self.load.figures()
        out["receiver_peak_rss_mib"] = out.pop("peak_rss_mib")
        out["worker_peak_rss_mib"] = round(self.worker_rss.peak() / 2**20, 1)
        out["backlog_batches_every_10s"] = [n for t, n in self.backlog if int(t) % 10 == 0]
        return out


def overload(
    setup: ClusterSetup, rate: float, *, factor: float, seconds: float, partitions: int
) -> ClusterOverload:
    """Offer ``factor`` x ``rate`` records/s for ``seconds`` at once over TCP, HTTP and UDP.

    The memory samplers keep running after the load (the worker's drain counts too): stop them."""
    offered = factor * rate
    until = time.monotonic() + seconds
    cluster = setup.cluster
    tcp = [
        TcpSender(
            ("127.0.0.1", cluster.tcp_port),
            TCP_SOURCE,
            setup.frames,
            rate=offered * SHARES["tcp"] / TCP_CONNECTIONS,
            until=until,
        )
        for _ in range(TCP_CONNECTIONS)
    ]
    bodies = http_bodies(setup.lines[: HTTP_BATCH * 40], HTTP_BATCH)
    url = f"{cluster.base}/api/v1/ingest"
    rate_per_http = offered * SHARES["http"] / HTTP_SENDERS
    http = [
        HttpSender(url, setup.token, bodies, batch=HTTP_BATCH, rate=rate_per_http, until=until)
        for _ in range(HTTP_SENDERS)
    ]
    udp = UdpSender(
        ("127.0.0.1", setup.udp_port), UDP_SOURCE, setup.lines, rate=offered * SHARES["udp"], until=until
    )
    receiver_rss, worker_rss = RssSampler(setup.pid("receiver")), RssSampler(setup.pid("w1"))
    drops_before = udp_socket_drops(setup.udp_port)
    receiver_rss.start()
    worker_rss.start()
    senders = [*tcp, *http, udp]
    for sender in senders:
        sender.start()
    backlog: list[tuple[float, int]] = []
    t0 = time.monotonic()
    while time.monotonic() < until:
        with contextlib.suppress(Exception):  # a slow NATS answer is no reason to stop the load
            backlog.append((time.monotonic() - t0, setup.backlog(partitions)))
        time.sleep(max(0.0, 1.0 - (time.monotonic() - t0) % 1.0))
    for sender in senders:
        sender.join(timeout=seconds + 40)
    load = Overload(rate, factor, seconds, tcp, http, udp, receiver_rss)
    load.udp_kernel_drops = udp_socket_drops(setup.udp_port) - drops_before
    return ClusterOverload(load, worker_rss, backlog)


def wait_processed(
    setup: ClusterSetup, targets: dict[str, int], partitions: int, timeout: float
) -> float | None:
    """Seconds until every sensor's ``received`` reached its target and the stream is empty, or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        counts = setup.sensor_counts()
        if all(counts[t]["received"] >= n for t, n in targets.items()) and setup.backlog(partitions) == 0:
            return time.monotonic() - started
        time.sleep(0.5)
    return None


def growth_rate(samples: RssSampler, start: float, end: float) -> float:
    """RSS trend in bytes/s from ``start`` to ``end`` (seconds since the sampler started): a least-squares
    fit of every sample, as the embedded overload test reads it. Two 10-s medians at the ends read a
    buffer held at the wrong moment, or the swing of a busy process's resident size, as growth."""
    return samples.slope(start, end)
