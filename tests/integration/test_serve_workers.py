"""``serve --workers 2``: the pipeline in two child processes behind the one embedded front.

Real sockets, real spawned processes, one SQLite file: FortiGate lines from several tenants' UTMs
(registered by source address, each on its own loopback address) over syslog TCP. The tenants fall into
both partitions, so both children work. Every record is processed (the sensors' counters), each tenant's
C2 connection ends in exactly one alert, and a child killed with SIGKILL half-way is replaced and loses
nothing: the parts it had not answered go to its successor, and the alert fingerprints keep a part
processed twice from creating a second alert. Tenants that all start in one child's partitions are
spread over both by the pool's balance rounds (partition moves), again without loss or duplicates.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.unit.services.test_runtime import C2, LINE, settings

from mimamori.bus.partitions import partition
from mimamori.services import tenants
from mimamori.services.cluster import pool
from mimamori.services.runtime import Runtime
from mimamori.storage import read_only

pytestmark = pytest.mark.e2e
WORKERS = 2
PER_PARTITION = 2  # tenants in each child's partition


def _tenants(runtime: Runtime, only: int | None = None) -> dict[str, str]:
    """Tenant id -> the loopback address of its UTM, PER_PARTITION tenants starting in each child
    (``WORKERS * PER_PARTITION`` all in child ``only`` when given, each in a partition of its own, so
    that moving some of them evens the load out)."""
    found: dict[str, str] = {}
    per: dict[int, int] = {}
    used: set[int] = set()
    n = 0
    while len(found) < WORKERS * PER_PARTITION:
        n += 1
        tenant = tenants.add_tenant(runtime.db, f"SME {n}").id
        p = partition(tenant, runtime.settings.bus_partitions)
        owner = p % WORKERS  # the pool's first spread
        if only is not None and (owner != only or p in used):
            continue
        used.add(p)
        if only is None and per.get(owner, 0) >= PER_PARTITION:
            continue  # this partition has its tenants already; the extra tenant simply sends nothing
        per[owner] = per.get(owner, 0) + 1
        address = f"127.0.0.{10 + len(found)}"
        tenants.add_sensor(runtime.db, tenant, "utm", "fortigate", source_address=address, with_token=False)
        found[tenant] = address
    return found


def _lines(count: int, *, c2_at: int) -> list[bytes]:
    """``count`` newline-framed FortiGate lines; the one at ``c2_at`` connects to the C2 address."""
    out = []
    for i in range(count):
        destination = C2 if i == c2_at else f"198.51.100.{i % 200 + 1}"
        line = LINE.format(dst=destination).replace("srcport=50000", f"srcport={10_000 + i % 50_000}")
        out.append(line.encode() + b"\n")
    return out


def _send(address: str, port: int, lines: list[bytes], chunk: int = 500) -> None:
    with socket.create_connection(("127.0.0.1", port), source_address=(address, 0)) as sock:
        for start in range(0, len(lines), chunk):
            sock.sendall(b"".join(lines[start : start + chunk]))
            time.sleep(0.01)  # a steady stream, not one burst


def _received(runtime: Runtime) -> dict[str, int]:
    with read_only(runtime.db) as uow:
        return {s.tenant_id: s.received for t in uow.tenants.list() for s in uow.sensors.list(t.id)}


def _c2_alerts(runtime: Runtime) -> dict[str, list[str]]:
    """Per tenant, the alerts about the C2 address (other detectors may alert on the traffic too)."""
    with read_only(runtime.db) as uow:
        return {
            t.id: [a.fingerprint for a in uow.alerts.list(t.id, limit=1000) if C2 in str(a.destination_ip)]
            for t in uow.tenants.list()
        }


async def _until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(predicate):
            return True
        await asyncio.sleep(0.2)
    return False


def _start(tmp_path: Path, only: int | None = None) -> tuple[Runtime, dict[str, str]]:
    runtime = Runtime(settings(tmp_path, workers=WORKERS, archive_enabled=False, notify_enabled=False))
    return runtime, _tenants(runtime, only)


async def _started(runtime: Runtime) -> int:
    await runtime.start()
    assert runtime.pool is not None
    assert await _until(runtime.pool.ready, 120), "the worker processes did not report ready"
    return runtime.syslog_ports[0]


def test_two_worker_processes_process_every_record_of_every_partition(tmp_path: Path) -> None:
    runtime, senders = _start(tmp_path)
    per_sensor = 3_000

    async def scenario() -> None:
        port = await _started(runtime)
        try:
            await asyncio.gather(
                *(
                    asyncio.to_thread(_send, address, port, _lines(per_sensor, c2_at=per_sensor // 2))
                    for address in senders.values()
                )
            )
            done = await _until(lambda: all(_received(runtime).get(t) == per_sensor for t in senders), 120)
            assert done, _received(runtime)
            # A SIGTERM to the group (systemd's stop) leaves the children to the parent's orderly stop.
            assert runtime.pool is not None
            child = runtime.pool._children[0].process
            assert child is not None
            assert child.pid is not None
            os.kill(child.pid, signal.SIGTERM)
            await asyncio.sleep(1.0)
            assert child.is_alive()
            metrics = runtime.metrics()
            assert metrics["worker_processes"] == WORKERS
            assert metrics["worker_restarts"] == 0
            assert runtime.processed.received == per_sensor * len(senders)
            assert runtime.processed.parsed == per_sensor * len(senders)
            assert runtime.ready()["workers"] is True
        finally:
            await runtime.stop()

    asyncio.run(asyncio.wait_for(scenario(), 300))
    alerts = _c2_alerts(runtime)
    for tenant in senders:
        assert len(alerts[tenant]) == 1, (tenant, alerts[tenant])
    # Each child saved its partitions' behaviour state when it stopped.
    partitions = runtime.settings.bus_partitions
    saved = sorted(p.name for p in (tmp_path / "data" / "state" / f"serve-partitions-{partitions}").iterdir())
    assert saved == sorted(f"behaviours.p{i}.json.gz" for i in range(partitions))


def test_a_worker_killed_mid_stream_is_replaced_and_nothing_is_lost(tmp_path: Path) -> None:
    runtime, senders = _start(tmp_path)
    per_sensor = 20_000
    total = per_sensor * len(senders)

    async def scenario() -> None:
        port = await _started(runtime)
        assert runtime.pool is not None
        try:
            sending = asyncio.gather(
                *(
                    asyncio.to_thread(_send, address, port, _lines(per_sensor, c2_at=per_sensor - 10))
                    for address in senders.values()
                )
            )
            # Kill child 1 once some of the stream is processed and much of it is not.
            assert await _until(lambda: sum(_received(runtime).values()) >= total // 10, 120)
            victim = runtime.pool._children[1].process
            assert victim is not None
            assert victim.pid is not None
            os.kill(victim.pid, signal.SIGKILL)
            killed_at = sum(_received(runtime).values())
            assert killed_at < total * 0.8, "the kill came too late to prove anything"
            await sending
            done = await _until(
                lambda: (
                    all(_received(runtime).get(t, 0) >= per_sensor for t in senders)
                    and runtime.pool is not None
                    and runtime.pool.outstanding() == 0
                    and runtime.bus.depth() == 0
                ),
                180,
            )
            assert done, (_received(runtime), runtime.metrics())
            assert runtime.pool.restarts == 1
            assert runtime.metrics()["worker_restarts"] == 1
            assert await _until(runtime.pool.ready, 60)
        finally:
            await runtime.stop()

    asyncio.run(asyncio.wait_for(scenario(), 420))
    alerts = _c2_alerts(runtime)
    for tenant in senders:  # one C2 line per tenant, possibly processed twice: still one alert
        assert len(alerts[tenant]) == 1, (tenant, alerts[tenant])


def test_tenants_that_start_in_one_child_are_spread_over_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool, "REBALANCE_SECONDS", 0.5)
    runtime, senders = _start(tmp_path, only=0)
    per_sensor = 12_000
    total = per_sensor * len(senders)

    async def scenario() -> None:
        port = await _started(runtime)
        assert runtime.pool is not None
        try:
            await asyncio.gather(
                *(
                    asyncio.to_thread(_send, address, port, _lines(per_sensor, c2_at=per_sensor - 10))
                    for address in senders.values()
                )
            )
            done = await _until(
                lambda: (
                    sum(_received(runtime).values()) >= total
                    and runtime.pool is not None
                    and runtime.pool.outstanding() == 0
                ),
                180,
            )
            assert done, (_received(runtime), runtime.metrics())
            assert runtime.metrics()["worker_partition_moves"] >= 1
            busy, idle = runtime.pool._children
            assert idle.records > 0, "no partition moved to the idle child"
            assert busy.records + idle.records >= total
            moved = [p for p, owner in enumerate(runtime.pool.owner) if owner == 1]
            assert any(partition(t, runtime.pool.partitions) in moved for t in senders)
        finally:
            await runtime.stop()

    asyncio.run(asyncio.wait_for(scenario(), 300))
    assert _received(runtime) == dict.fromkeys(senders, per_sensor)
    alerts = _c2_alerts(runtime)
    for tenant in senders:
        assert len(alerts[tenant]) == 1, (tenant, alerts[tenant])


def test_a_start_that_fails_after_the_children_started_stops_them(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = settings(tmp_path, workers=WORKERS).model_copy(update={"syslog_tcp_port": port})
        runtime = Runtime(config)

        async def scenario() -> None:
            with pytest.raises(OSError):
                await runtime.start()

        asyncio.run(asyncio.wait_for(scenario(), 120))
    assert runtime.pool is not None
    for child in runtime.pool._children:
        assert child.process is not None
        assert not child.process.is_alive()


EXIT_WITHOUT_STOP = """
import asyncio, sys
from pathlib import Path
from mimamori.config import Settings
from mimamori.services.cluster.pool import WorkerPool
from mimamori.services.pipeline import BatchResult

async def main() -> None:
    settings = Settings(data_dir=Path(sys.argv[1]), secret_key="s" * 48)
    pool = WorkerPool(settings, 2, processed=BatchResult())
    await pool.start()
    while not pool.ready():
        await asyncio.sleep(0.1)
    print("ready", *(c.process.pid for c in pool._children), flush=True)

asyncio.run(main())  # ends without pool.stop(): the exit handler must reap the children
"""


def test_the_process_exits_even_when_the_pool_was_never_stopped(tmp_path: Path) -> None:
    import subprocess
    import sys

    from mimamori.storage import Database

    data = tmp_path / "data"
    data.mkdir()
    Database(settings(tmp_path).db_url).migrate()
    done = subprocess.run(
        [sys.executable, "-c", EXIT_WITHOUT_STOP, str(data)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    words = done.stdout.split()
    assert words[0] == "ready"
    for pid in map(int, words[1:]):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
