"""Helpers of ``bench/scaleout.py``: input, senders, service processes, PostgreSQL/NATS scratch state, /proc.

The input is pre-encoded per simulated SME as RFC 6587 octet-counted syslog frames; sender processes
(forked, so the frames are inherited, not pickled) write them with blocking ``sendall`` from a source
address of their own (``127.0.1.N``, how the receiver recognises the UTM), optionally paced.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg
from sqlalchemy.engine import make_url

from mimamori import sim

PG_URL = os.environ.get("MIMAMORI_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("MIMAMORI_BENCH_NATS_URL", "nats://127.0.0.1:4222")
C2 = "203.0.113.66"  # in the bundled indicators: a connection to it is a 高 alert
CHUNK = 200  # records per sendall (and the pacing unit)
TICK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def source_address(tenant_index: int) -> str:
    return f"127.0.1.{tenant_index + 1}"


# --- input -------------------------------------------------------------------------------------------


def alert_line(tenant_index: int, device: int, now: datetime) -> bytes:
    """A FortiGate connection from a device never seen before to the listed C2 server (a new 高 alert)."""
    local = now.astimezone(UTC) + timedelta(hours=9)
    src = f"10.{tenant_index & 255}.{(device >> 8) & 255}.{device & 255}"
    return (
        f'<189>date={local:%Y-%m-%d} time={local:%H:%M:%S} devname="FGT60F" '
        f'devid="FGT60FTK{tenant_index:04d}" '
        f'tz="+0900" logid="0000000013" type="traffic" subtype="forward" level="notice" srcip={src} '
        f'srcport=50000 dstip={C2} dstport=443 proto=6 action="accept" policyid=1 service="HTTPS" '
        "sentbyte=1200 rcvdbyte=800"
    ).encode()


@dataclass
class Load:
    """Pre-encoded frames per tenant index, in chunks of ``CHUNK`` records."""

    chunks: dict[int, list[tuple[int, bytes]]]  # tenant index -> [(records, octet-counted frames)]
    total: int
    alert_lines: int
    mean_bytes: float


def build_load(events: int, tenant_count: int, alert_every: int, seed: int = 3) -> Load:
    """``events`` records of simulated FortiGate traffic (all scenarios), a 高 alert every ``alert_every``."""
    minutes = 10
    now = datetime.now(UTC)
    run = sim.generate(
        tenants=tenant_count, seed=seed, scenarios=tuple(sim.SCENARIOS), fmt="fortigate",
        start=now - timedelta(minutes=minutes), duration=timedelta(minutes=minutes),
        events_per_minute=max(1, events // (tenant_count * minutes)),
    )  # fmt: skip
    lines: dict[int, list[bytes]] = {t.index: [] for t in run.tenants}
    records = run.records
    n = 0
    alerts = 0
    while n < events:
        record = records[n % len(records)]
        if alert_every and n % alert_every == alert_every - 1:
            index = alerts % tenant_count
            lines[index].append(alert_line(index, alerts // tenant_count + 1, now))
            alerts += 1
        else:
            lines[record.tenant_index].append(record.line)
        n += 1
    chunks: dict[int, list[tuple[int, bytes]]] = {}
    size = 0
    for index, group in lines.items():
        size += sum(len(x) for x in group)
        chunks[index] = [
            (len(group[i : i + CHUNK]), b"".join(b"%d %s" % (len(x), x) for x in group[i : i + CHUNK]))
            for i in range(0, len(group), CHUNK)
        ]
    return Load(chunks, n, alerts, size / max(1, n))


# --- senders -----------------------------------------------------------------------------------------

_LOAD: dict[str, Load] = {}  # inherited by the forked senders


def _sender(
    indexes: list[int], port: int, rate: float, ready: Any, go: Any, out: Any
) -> None:  # pragma: no cover - runs in a child process
    load = _LOAD["load"]
    socks = {}
    for index in indexes:
        s = socket.socket()
        s.bind((source_address(index), 0))
        s.connect(("127.0.0.1", port))
        socks[index] = s
    ready.release()
    go.wait()
    started = time.time()
    sent = 0
    queues = {i: list(reversed(load.chunks[i])) for i in indexes}
    while queues:
        for index in list(queues):
            count, frames = queues[index].pop()
            socks[index].sendall(frames)
            sent += count
            if not queues[index]:
                del queues[index]
            if rate:
                ahead = started + sent / rate - time.time()
                if ahead > 0:
                    time.sleep(ahead)
    for s in socks.values():
        s.shutdown(socket.SHUT_WR)
    finished = time.time()
    for s in socks.values():
        s.close()
    times = os.times()
    out.put((sent, started, finished, times.user + times.system))


@dataclass
class SendResult:
    sent: int
    started: float  # wall clock (time.time) of the first send
    finished: float
    cpu_s: float
    processes: int


class Senders:
    """``count`` forked processes, connected and waiting; :meth:`go` starts them all at once."""

    def __init__(self, load: Load, port: int, count: int, rate: float) -> None:
        _LOAD["load"] = load
        ctx = mp.get_context("fork")
        indexes = sorted(load.chunks)
        groups = [indexes[i::count] for i in range(min(count, len(indexes)))]
        self._ready = ctx.Semaphore(0)
        self._go = ctx.Event()
        self._out: Any = ctx.Queue()
        self._procs = [
            ctx.Process(
                target=_sender,
                args=(g, port, rate / len(groups), self._ready, self._go, self._out),
                daemon=True,
            )
            for g in groups
        ]
        for p in self._procs:
            p.start()
        for _ in self._procs:
            if not self._ready.acquire(timeout=30):
                raise RuntimeError("a sender could not connect")

    def go(self) -> float:
        at = time.time()
        self._go.set()
        return at

    def result(self, timeout: float) -> SendResult:
        parts = [self._out.get(timeout=timeout) for _ in self._procs]
        for p in self._procs:
            p.join(10)
        return SendResult(
            sent=sum(x[0] for x in parts),
            started=min(x[1] for x in parts),
            finished=max(x[2] for x in parts),
            cpu_s=sum(x[3] for x in parts),
            processes=len(parts),
        )


def sender_speed(load: Load, count: int) -> float:
    """Records/s the senders reach into a sink that reads and discards (their own ceiling)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(256)
    port = server.getsockname()[1]
    sink = subprocess.Popen([sys.executable, "-c", _SINK, str(server.fileno())], pass_fds=[server.fileno()])
    server.close()
    try:
        senders = Senders(load, port, count, 0)
        senders.go()
        result = senders.result(600)
        return result.sent / max(1e-9, result.finished - result.started)
    finally:
        sink.terminate()
        sink.wait(10)


_SINK = r"""
import selectors, socket, sys
server = socket.socket(fileno=int(sys.argv[1]))
sel = selectors.DefaultSelector()
sel.register(server, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is server:
            conn, _ = server.accept()
            sel.register(conn, selectors.EVENT_READ)
        elif not key.fileobj.recv(1 << 20):
            sel.unregister(key.fileobj)
            key.fileobj.close()
"""


# --- scratch state -----------------------------------------------------------------------------------


def _admin_dsn() -> str:
    return make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def fresh_database() -> Iterator[tuple[str, str]]:
    """(SQLAlchemy URL, name) of a new PostgreSQL database, dropped afterwards."""
    name = f"mimamori_scaleout_{secrets.token_hex(4)}"
    with psycopg.connect(_admin_dsn(), autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = make_url(PG_URL).set(drivername="postgresql+psycopg", database=name)
            yield url.render_as_string(hide_password=False), name
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def backend_pids(database: str) -> list[int]:
    """PostgreSQL server processes serving ``database`` (for their CPU time)."""
    with psycopg.connect(_admin_dsn(), autocommit=True, connect_timeout=5) as admin:
        rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)).fetchall()
    return [int(r[0]) for r in rows]


async def _delete_nats(prefix: str) -> None:
    client = await nats.connect(NATS_URL, connect_timeout=3, max_reconnect_attempts=0)
    try:
        js = client.jetstream()
        for stream in (f"{prefix}_raw", f"KV_{prefix}_leases", f"KV_{prefix}_workers", f"OBJ_{prefix}_state"):
            with contextlib.suppress(Exception):
                await js.delete_stream(stream)
    finally:
        await client.close()


def delete_nats(prefix: str) -> None:
    with contextlib.suppress(Exception):
        asyncio.run(_delete_nats(prefix))


# --- /proc -------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one process (None when it is gone or unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICK, sum(values) / TICK


def peak_rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def with_descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (``serve --workers N`` spawns its pipeline processes)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
                parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds of ``pid`` and its living descendants (None when ``pid`` is gone)."""
    own = cpu_seconds(pid)
    if own is None:
        return None
    return own + sum(cpu_seconds(p) or 0.0 for p in with_descendants(pid)[1:])


def pids_named(name: str) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == name:
                    out.append(int(entry.name))
    return out


# --- service processes -------------------------------------------------------------------------------


@dataclass
class Services:
    """``mimamori`` subprocesses of one run, each logging to ``<dir>/<name>.log``."""

    dir: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def log(self, name: str) -> Path:
        return self.dir / f"{name}.log"

    def start(self, name: str, *args: str, **env: str) -> None:
        with self.log(name).open("ab") as out:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "mimamori", *args],
                env={**self.env, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def check(self, name: str) -> None:
        if self.processes[name].poll() is not None:
            raise RuntimeError(f"{name} exited:\n{self.log(name).read_text(errors='replace')[-4000:]}")

    def wait_http(self, name: str, base: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check(name)
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"{name} not ready:\n{self.log(name).read_text(errors='replace')[-4000:]}")

    def wait_log(self, name: str, text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log(name).read_text(errors="replace"):
                return
            self.check(name)
            time.sleep(0.3)
        raise RuntimeError(f"{name} never logged {text!r}")

    def cpu(self) -> dict[str, float | None]:
        return {name: tree_cpu_seconds(p.pid) for name, p in self.processes.items()}

    def peak_rss(self) -> dict[str, float]:
        return {
            name: round(sum(peak_rss_mb(q) for q in with_descendants(p.pid)), 1)
            for name, p in self.processes.items()
            if p.poll() is None
        }

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for name, process in self.processes.items():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log(f"{name} ignored SIGTERM for 30 s; killed")
                process.kill()
                process.wait(timeout=5)
