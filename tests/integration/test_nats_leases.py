"""Partition leases of NatsBus workers against the shared NATS server: fair split, takeover, lost leases."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import pytest
from tests.support.nats_server import bus_config

from mimamori.bus.jetstream import NatsBus, NatsBusConfig
from mimamori.bus.partitions import partition
from mimamori.domain import RawRecord

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def run(coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture
def config() -> Iterator[NatsBusConfig]:
    yield from bus_config()


async def until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until ``condition`` held; fails after ``timeout``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.1)
    return time.monotonic() - start


def tenant_for(p: int, partitions: int = 8) -> str:
    return next(f"tenant-{i}" for i in range(10_000) if partition(f"tenant-{i}", partitions) == p)


class Worker:
    """An in-process worker that records its callbacks and the batches it acked."""

    def __init__(self, name: str, config: NatsBusConfig, events: list[tuple[str, str, int]]) -> None:
        self.name, self.events, self.acked = name, events, list[str]()
        self.bus = NatsBus(config, on_assigned=self._on("assigned"), on_revoked=self._on("revoked"))
        self._task: asyncio.Task[None] | None = None

    def _on(self, kind: str) -> Callable[[frozenset[int]], Awaitable[None]]:
        async def handler(partitions: frozenset[int]) -> None:
            self.events.extend((self.name, kind, p) for p in sorted(partitions))

        return handler

    async def start(self) -> None:
        await self.bus.start()
        self._task = asyncio.create_task(self._consume())

    async def _consume(self) -> None:
        async for delivery in self.bus.deliveries():
            self.acked.append(delivery.records[0].data.decode())
            await delivery.ack()

    async def stop(self) -> None:
        await self.bus.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def test_two_workers_split_partitions_fairly(config: NatsBusConfig) -> None:
    async def scenario() -> None:
        events: list[tuple[str, str, int]] = []
        a, b = Worker("a", config, events), Worker("b", config, events)
        await a.start()
        await until(lambda: len(a.bus.partitions_owned) == 8, 10, "a owns all 8")
        await b.start()
        await until(lambda: len(b.bus.partitions_owned) == 4 == len(a.bus.partitions_owned), 15, "4/4 split")
        assert a.bus.partitions_owned | b.bus.partitions_owned == frozenset(range(8))
        # A partition moves only after its old owner's on_revoked returned.
        for p in b.bus.partitions_owned:
            assert events.index(("a", "revoked", p)) < events.index(("b", "assigned", p))
        publisher = NatsBus(config)
        await publisher.start()
        for p in range(8):
            await publisher.publish([RawRecord(tenant_for(p), "s", "f", f"p{p}".encode(), NOW)])
        await until(lambda: len(a.acked) + len(b.acked) == 8, 15, "all 8 batches consumed")
        assert sorted(a.acked) == sorted(f"p{p}" for p in a.bus.partitions_owned)
        await b.stop()  # a clean stop releases at once: a takes everything back
        await until(lambda: len(a.bus.partitions_owned) == 8, 10, "a owns all 8 again")
        await a.stop()
        await publisher.close()
        assert ("a", "revoked", 0) in events

    run(scenario())


def test_lost_lease_stops_fetching_at_once(config: NatsBusConfig) -> None:
    async def scenario() -> None:
        events: list[tuple[str, str, int]] = []
        a = Worker("a", config, events)
        await a.start()
        await until(lambda: len(a.bus.partitions_owned) == 8, 10, "a owns all 8")
        nc = await nats.connect(config.url)
        kv = await nc.jetstream().key_value(f"{config.prefix}_leases")
        entry = await kv.get("p.3")
        await kv.update("p.3", b"intruder", last=entry.revision)  # someone else now holds partition 3
        await until(lambda: ("a", "revoked", 3) in events, 5, "a notices the lost lease")
        assert 3 not in a.bus.partitions_owned
        assert a.bus.stats.leases_lost == 1
        publisher = NatsBus(config)
        await publisher.start()
        await publisher.publish([RawRecord(tenant_for(3), "s", "f", b"p3", NOW)])
        await publisher.publish([RawRecord(tenant_for(4), "s", "f", b"p4", NOW)])
        await until(lambda: a.acked == ["p4"], 10, "p4 consumed")
        await asyncio.sleep(1.5)
        assert a.acked == ["p4"], "partition 3 is not fetched without its lease"
        await kv.delete("p.3")
        await until(lambda: a.acked == ["p4", "p3"], 10, "p3 consumed after a reclaimed it")
        await nc.close()
        await publisher.close()
        await a.stop()

    run(scenario())


def test_killed_worker_is_replaced_and_its_unacked_batches_redelivered(config: NatsBusConfig) -> None:
    async def scenario() -> None:
        options = {
            "url": config.url,
            "prefix": config.prefix,
            "partitions": config.partitions,
            "ack_wait": config.ack_wait,
            "leases": dataclasses.asdict(config.leases),
            "ack_every": 2,
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.nats_worker",
            json.dumps(options),
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE,
        )
        events: list[tuple[str, str, int]] = []
        survivor = Worker("b", config, events)
        lines: list[str] = []
        try:
            assert proc.stdout is not None
            lines.append((await asyncio.wait_for(proc.stdout.readline(), 15)).decode().strip())
            assert lines[0].startswith("OWN"), lines
            await survivor.start()
            await until(lambda: len(survivor.bus.partitions_owned) == 4, 20, "b owns its share")
            publisher = NatsBus(config)
            await publisher.start()
            sent = [f"batch-{i}" for i in range(64)]
            for i, name in enumerate(sent):
                await publisher.publish([RawRecord(tenant_for(i % 8), "s", "f", name.encode(), NOW)])
            while sum(line.startswith("GOT") for line in lines) < 32:  # the subprocess got its half
                lines.append((await asyncio.wait_for(proc.stdout.readline(), 15)).decode().strip())
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            killed_at = time.monotonic()
            takeover = await until(lambda: len(survivor.bus.partitions_owned) == 8, 20, "b takes over")
            acked_by_dead = {line.split()[2] for line in lines if line.startswith("GOT ack")}
            kept = {line.split()[2] for line in lines if line.startswith("GOT keep")}
            assert kept
            assert acked_by_dead
            await until(
                lambda: acked_by_dead | set(survivor.acked) >= set(sent), 20, "every batch acked by someone"
            )
            assert kept <= set(survivor.acked), "unacked batches of the dead worker are redelivered"
            print(f"takeover {takeover:.1f}s, all batches {time.monotonic() - killed_at:.1f}s after SIGKILL")
            assert survivor.bus.stats.redelivered >= len(kept)
            await publisher.close()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await survivor.stop()

    run(scenario(), timeout=90)


class SlowWorker(Worker):
    """Takes ``delay`` seconds per batch, so a backlog stays in the stream while the leases rebalance."""

    delay = 0.05

    async def _consume(self) -> None:
        async for delivery in self.bus.deliveries():
            await asyncio.sleep(self.delay)
            self.acked.append(delivery.records[0].data.decode())
            await delivery.ack()


def test_partitions_move_from_the_worker_with_the_backlog_to_the_idle_one(config: NatsBusConfig) -> None:
    """Split 4/4 by count, then all the records land in a's partitions: a hands part of them to b
    (after its on_revoked), and every batch is still consumed exactly once by the pair."""

    async def scenario() -> None:
        events: list[tuple[str, str, int]] = []
        # A batch stranded by a hand-over would come back only after ack_wait: 120 s is past the deadline.
        slow_ack = dataclasses.replace(config, ack_wait=120.0)
        a, b = SlowWorker("a", slow_ack, events), SlowWorker("b", slow_ack, events)
        await a.start()
        await until(lambda: len(a.bus.partitions_owned) == 8, 10, "a owns all 8")
        await b.start()
        await until(lambda: len(b.bus.partitions_owned) == 4 == len(a.bus.partitions_owned), 15, "4/4 split")
        busy = sorted(a.bus.partitions_owned)
        publisher = NatsBus(config)
        await publisher.start()
        sent = [f"p{p}-{i}" for i in range(60) for p in busy]
        for name in sent:  # 60 batches of 20 records in each of a's partitions, none in b's
            p = int(name[1 : name.index("-")])
            records = [RawRecord(tenant_for(p), "s", "f", name.encode(), NOW) for _ in range(20)]
            await publisher.publish(records)
        moved = await until(lambda: bool(b.bus.partitions_owned & set(busy)), 20, "a hands b busy partitions")
        # Handed over after the old owner let go, and only some of them: the pair ends even, not swapped.
        taken = sorted(b.bus.partitions_owned & set(busy))
        assert 1 <= len(taken) <= 3, taken
        for p in taken:
            assert events.index(("a", "revoked", p)) < events.index(("b", "assigned", p))
        await until(lambda: set(a.acked + b.acked) >= set(sent), 40, "every batch consumed")
        await asyncio.sleep(0.5)
        assert set(a.acked + b.acked) == set(sent), "every batch consumed"
        assert any(name.startswith(tuple(f"p{p}-" for p in taken)) for name in b.acked)
        print(f"first hand-over {moved:.1f}s after the backlog arrived; b took {taken}")
        await publisher.close()
        await a.stop()
        await b.stop()

    run(scenario(), timeout=120)
