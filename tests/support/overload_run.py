"""The overload scenario against a real ``mimamori serve``: shared by the integration test and the bench.

``prepare`` registers one tenant with three FortiGate sensors (syslog TCP and syslog UDP by source address,
HTTP by token) and starts the service. ``measure_rate`` estimates the sustainable rate R: the slope of
``records_received`` while a burst that fits in the bus queue is processed. ``overload`` offers ``factor``
x R for ``seconds`` at once over TCP, HTTP and UDP (the shares in ``SHARES``) while sampling the service's
resident memory. ``settle`` waits for every taken record to be processed, then reads the sensor counters;
``trickle_latency`` measures the delay of a normal-rate trickle.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.support.overload import HttpSender, TcpSender, UdpSender, http_bodies, octet_frames
from tests.support.service import RssSampler, ServiceProcess

from mimamori import sim
from mimamori.config import Settings
from mimamori.services import content, tenants
from mimamori.services.runtime import open_database
from mimamori.storage import Database

__all__ = ["SHARES", "Overload", "Setup", "measure_rate", "overload", "prepare", "settle", "trickle_latency"]

TCP_SOURCE, UDP_SOURCE = "127.0.9.1", "127.0.9.2"  # the simulated FortiGates' registered addresses
SHARES = {"tcp": 0.6, "http": 0.2, "udp": 0.2}  # of the offered load
TCP_CONNECTIONS = 4
HTTP_SENDERS = 2
HTTP_BATCH = 250  # records per POST


@dataclass
class Setup:
    service: ServiceProcess
    tenant: str
    sensors: dict[str, str]  # transport -> sensor id
    token: str  # the HTTP sensor's
    lines: list[bytes]
    started: float = field(default_factory=time.monotonic)  # when the test began (its time budget)
    frames: list[bytes] = field(init=False)

    def left(self, budget: float, reserve: float = 0.0) -> float:
        """Seconds left of ``budget`` (counted from ``started``) after keeping ``reserve`` (at least 1)."""
        return max(1.0, self.started + budget - reserve - time.monotonic())

    def __post_init__(self) -> None:
        self.frames = octet_frames(self.lines)

    def sensor_counts(self) -> dict[str, dict[str, Any]]:
        """Each sensor's counters as stored in the service's database (what ``sensors list`` shows)."""
        db = _database(self.service)
        try:
            by_id = {s.id: s for s in tenants.list_sensors(db, self.tenant)}
        finally:
            db.dispose()
        return {
            transport: {"received": by_id[sensor].received, "dropped": by_id[sensor].dropped}
            for transport, sensor in self.sensors.items()
        }


def _database(service: ServiceProcess) -> Database:
    """The service's operational database, opened in this process (the CLI would take seconds)."""
    settings = Settings(
        data_dir=Path(service.env["MIMAMORI_DATA_DIR"]), secret_key=service.env["MIMAMORI_SECRET_KEY"]
    )
    content.ensure_content(settings)
    return open_database(settings)


def sim_lines(count: int, seed: int = 5) -> list[bytes]:
    """At least ``count`` benign FortiGate syslog lines (one simulated SME), cycled by the senders."""
    minutes = max(10, count // 60 + 1)
    run = sim.generate(
        tenants=1,
        seed=seed,
        start=datetime.now(UTC) - timedelta(minutes=minutes),
        duration=timedelta(minutes=minutes),
        events_per_minute=60,
    )
    return [record.line for record in run.records]


def prepare(root: Path, extra_env: dict[str, str] | None = None, lines: int = 20_000) -> Setup:
    """Initialise a data directory, register the tenant and its sensors, start the service.

    Registration calls the services the CLI calls (``mimamori init``, ``tenants add``, ``sensors add``)
    in this process: five CLI runs would take some 20 s of the test's time."""
    started = time.monotonic()
    service = ServiceProcess(root, extra_env)
    db = _database(service)
    try:
        tenant = tenants.add_tenant(db, "過負荷テスト").id
        sensors: dict[str, str] = {}
        token = ""
        for transport, address in (("tcp", TCP_SOURCE), ("udp", UDP_SOURCE), ("http", None)):
            new = tenants.add_sensor(db, tenant, transport, "fortigate", source_address=address)
            sensors[transport] = new.sensor.id
            token = new.token or token if transport == "http" else token
    finally:
        db.dispose()
    service.start()
    return Setup(service, tenant, sensors, token, sim_lines(lines), started)


def wait_received(service: ServiceProcess, target: int, timeout: float) -> float | None:
    """Seconds until ``records_received`` reached ``target`` and the bus is empty, or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        metrics = service.metrics()
        if metrics["records_received"] >= target and metrics["bus_depth_batches"] == 0:
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def _send_all(setup: Setup, count: int) -> None:
    """Write ``count`` lines on a fresh TCP connection as fast as the service takes them."""
    service = setup.service
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((TCP_SOURCE, 0))
        sock.connect(("127.0.0.1", service.tcp_port))
        frames = setup.frames
        sock.sendall(b"".join(frames[i % len(frames)] for i in range(count)))


def measure_rate(setup: Setup, count: int = 20_000, timeout: float = 40.0) -> float:
    """Records/s the idle service processes: the slope of ``records_received`` over a burst of ``count``
    TCP lines (a burst the bus queue holds at once, so the pipeline, not the sender, sets the pace)."""
    service = setup.service
    base = service.metrics()["records_received"]
    _send_all(setup, count)
    points: list[tuple[float, int]] = []
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        done = service.metrics()["records_received"] - base
        points.append((time.monotonic(), done))
        if done >= count:
            break
        time.sleep(0.1)
    moving = [(t, n) for t, n in points if n > 0]
    if len(moving) < 2 or moving[-1][1] < count:
        raise AssertionError(f"the rate burst was not processed in {timeout} s: {points[-1]}")
    (t1, n1), (t2, n2) = moving[0], moving[-1]
    return (n2 - n1) / max(t2 - t1, 0.1)


def trickle_latency(setup: Setup, count: int = 100, rate: float = 50.0) -> float:
    """Send ``count`` TCP lines at ``rate``/s; seconds from the last write until all were processed."""
    service = setup.service
    base = service.metrics()["records_received"]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((TCP_SOURCE, 0))
        sock.connect(("127.0.0.1", service.tcp_port))
        for i in range(count):
            sock.sendall(setup.frames[i % len(setup.frames)])
            time.sleep(1 / rate)
        written = time.monotonic()
        while service.metrics()["records_received"] < base + count:
            if time.monotonic() - written > 30:
                return float("inf")
            time.sleep(0.02)
    return time.monotonic() - written


@dataclass
class Overload:
    """What the senders offered and achieved during the load, and the memory samples."""

    rate: float  # R, records/s
    factor: float
    seconds: float
    tcp: list[TcpSender]
    http: list[HttpSender]
    udp: UdpSender
    rss: RssSampler
    udp_kernel_drops: int = 0  # the service socket's /proc/net/udp drops during the load

    @property
    def offered(self) -> int:
        return sum(s.stats.offered for s in (*self.tcp, *self.http, self.udp))

    def taken(self, transport: str) -> int:
        senders: dict[str, list[TcpSender] | list[HttpSender] | list[UdpSender]] = {
            "tcp": self.tcp,
            "http": self.http,
            "udp": [self.udp],
        }
        return sum(s.stats.sent for s in senders[transport])

    def figures(self) -> dict[str, Any]:
        statuses: dict[int, int] = {}
        for sender in self.http:
            for status, n in sender.stats.statuses.items():
                statuses[status] = statuses.get(status, 0) + n
        tcp_offered = sum(s.stats.offered for s in self.tcp)
        return {
            "R_per_s": round(self.rate),
            "factor": self.factor,
            "seconds": self.seconds,
            "offered_total": self.offered,
            "offered_per_s": round(self.offered / self.seconds),
            "tcp_offered": tcp_offered,
            "tcp_written": self.taken("tcp"),
            "tcp_blocked_s": round(sum(s.stats.blocked_s for s in self.tcp), 1),
            "tcp_longest_block_s": round(max(s.stats.longest_block_s for s in self.tcp), 2),
            "http_offered": sum(s.stats.offered for s in self.http),
            "http_accepted": self.taken("http"),
            "http_statuses": statuses,
            "http_retry_after": sorted(set().union(*(s.stats.retry_after for s in self.http))),
            "udp_offered": self.udp.stats.offered,
            "udp_sent": self.taken("udp"),
            "udp_send_errors": self.udp.send_errors,
            "udp_kernel_drops": self.udp_kernel_drops,
            "peak_rss_mib": round(self.rss.peak() / 2**20, 1),
            "errors": [e for s in (*self.tcp, *self.http, self.udp) for e in s.stats.errors],
        }


def overload(setup: Setup, rate: float, *, factor: float = 5.0, seconds: float = 60.0) -> Overload:
    """Offer ``factor`` x ``rate`` records/s for ``seconds`` over TCP, HTTP and UDP at once."""
    service = setup.service
    offered = factor * rate
    until = time.monotonic() + seconds
    tcp_address, udp_address = ("127.0.0.1", service.tcp_port), ("127.0.0.1", service.udp_port)
    tcp = [
        TcpSender(
            tcp_address, TCP_SOURCE, setup.frames, rate=offered * SHARES["tcp"] / TCP_CONNECTIONS, until=until
        )
        for _ in range(TCP_CONNECTIONS)
    ]
    bodies = http_bodies(setup.lines[: HTTP_BATCH * 40], HTTP_BATCH)
    url = f"{service.base}/api/v1/ingest"
    http = [
        HttpSender(
            url,
            setup.token,
            bodies,
            batch=HTTP_BATCH,
            rate=offered * SHARES["http"] / HTTP_SENDERS,
            until=until,
        )
        for _ in range(HTTP_SENDERS)
    ]
    udp = UdpSender(udp_address, UDP_SOURCE, setup.lines, rate=offered * SHARES["udp"], until=until)
    rss = RssSampler(service.pid)
    drops_before = service.udp_kernel_drops()
    rss.start()
    senders = [*tcp, *http, udp]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=seconds + 40)
    result = Overload(rate, factor, seconds, tcp, http, udp, rss)
    if os.environ.get("MIMAMORI_OVERLOAD_RSS_DUMP"):  # every (t, VmRSS) sample as JSON, for diagnosis
        Path(os.environ["MIMAMORI_OVERLOAD_RSS_DUMP"]).write_text(json.dumps(rss.samples))
    result.udp_kernel_drops = service.udp_kernel_drops() - drops_before
    return result


def settle(setup: Setup, load: Overload, base: int, timeout: float) -> float | None:
    """Seconds until everything taken during ``load`` (over ``base``) was processed, or None.

    UDP datagrams the kernel dropped never reached the service; those the service dropped on a full bus
    are counted per sensor, so the target is a lower bound that leaves them out."""
    target = base + load.taken("tcp") + load.taken("http")
    return wait_received(setup.service, target, timeout)
