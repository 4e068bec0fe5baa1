"""NatsBus while its NATS server restarts: publishes block and resume, nothing confirmed is lost.

Uses a private nats-server (tests/support/nats_server.py) on its own port and store directory; the shared
server is never touched.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import require_service
from tests.support.nats_server import NatsServer, private_nats_server, unique_prefix

from mimamori.bus.jetstream import NatsBus, NatsBusConfig
from mimamori.bus.leases import LeaseTimings
from mimamori.domain import RawRecord
from mimamori.errors import BackpressureError

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
FAST = LeaseTimings(
    lease_ttl=4, renew_interval=1, member_ttl=4, heartbeat_interval=1, rebalance_interval=0.5, safety_margin=1
)


def run(coro: Coroutine[Any, Any, Any], timeout: float = 90.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    if not NatsServer.available():
        require_service("nats-server", "binary not found (see MIMAMORI_TEST_NATS_SERVER)")
    with private_nats_server(tmp_path) as server:
        yield server


def bus_config(server: NatsServer) -> NatsBusConfig:
    return NatsBusConfig(
        url=server.url,
        prefix=unique_prefix(),
        partitions=4,
        max_bytes=256 * 1024**2,
        publish_timeout=1.0,
        retry_max=0.5,
        leases=FAST,
        ack_wait=3,
    )


def batch(i: int) -> list[RawRecord]:
    return [RawRecord(f"tenant-{i % 7}", "s", "f", f"batch-{i} record-{j}".encode(), NOW) for j in range(20)]


async def consume_all(config: NatsBusConfig, expected: set[str], timeout: float) -> set[str]:
    """Batch names (the first record's data) a fresh worker receives until ``expected`` is covered."""
    worker = NatsBus(config)
    await worker.start()
    seen: set[str] = set()
    try:
        async with asyncio.timeout(timeout):
            async for delivery in worker.deliveries():
                seen.update(r.data.decode().split()[0] for r in delivery.records)
                await delivery.ack()
                if seen >= expected:
                    break
    except TimeoutError:
        pass
    finally:
        await worker.close()
    return seen


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
def test_publishes_block_across_a_restart_and_nothing_confirmed_is_lost(
    server: NatsServer, kill: bool
) -> None:
    config = bus_config(server)

    async def scenario() -> None:
        publisher = NatsBus(config)
        await publisher.start()
        confirmed: list[str] = []
        longest = 0.0
        stop = asyncio.Event()

        async def publish_continuously() -> None:
            nonlocal longest
            i = 0
            while not stop.is_set():
                started = time.monotonic()
                await publisher.publish(batch(i))
                longest = max(longest, time.monotonic() - started)
                confirmed.append(f"batch-{i}")
                i += 1
                await asyncio.sleep(0.005)

        task = asyncio.create_task(publish_continuously())
        await asyncio.sleep(1.0)
        before = len(confirmed)
        await asyncio.to_thread(server.stop, kill=kill)
        await asyncio.sleep(0.3)
        with pytest.raises(BackpressureError):  # a non-waiting publisher is told to come back later
            await publisher.publish(batch(10_000), wait=False)
        during = len(confirmed)
        await asyncio.sleep(2.0)
        assert len(confirmed) <= during + 1, "nothing is confirmed while the server is down"
        await asyncio.to_thread(server.start)
        await asyncio.sleep(3.0)
        stop.set()
        await asyncio.wait_for(task, 20)
        assert before > 10
        assert len(confirmed) > during + 10, "publishing resumed"
        assert longest > 1.5, "publishes blocked while the server was down"
        assert publisher.stats.publish_retries > 0
        await publisher.close()
        seen = await consume_all(config, set(confirmed), timeout=30)
        missing = set(confirmed) - seen
        assert not missing, f"{len(missing)} confirmed batches lost, e.g. {sorted(missing)[:5]}"

    run(scenario())


def test_worker_survives_a_restart(server: NatsServer) -> None:
    config = bus_config(server)

    async def scenario() -> None:
        publisher, worker = NatsBus(config), NatsBus(config)
        await publisher.start()
        await worker.start()
        seen: set[str] = set()

        async def consume() -> None:
            async for delivery in worker.deliveries():
                seen.update(r.data.decode().split()[0] for r in delivery.records)
                await delivery.ack()

        consumer = asyncio.create_task(consume())
        for i in range(20):
            await publisher.publish(batch(i))
        await asyncio.to_thread(server.restart, 1.0)
        for i in range(20, 40):
            await publisher.publish(batch(i))
        deadline = time.monotonic() + 30
        while len(seen) < 40 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert seen == {f"batch-{i}" for i in range(40)}
        await worker.close()
        consumer.cancel()
        await publisher.close()

    run(scenario())
