"""EmbeddedBus: delivery, acks, redelivery after crashes, corrupt spool tails, backpressure, order."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mimamori.bus.base import Bus, Delivery
from mimamori.bus.embedded import EmbeddedBus
from mimamori.domain import RawRecord
from mimamori.errors import BackpressureError, ConfigError

NOW = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def run(coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


def batch(n: int, size: int = 3) -> list[RawRecord]:
    return [
        RawRecord("t1", "s1", "fortigate", f"batch {n} record {i} ".encode() + bytes(range(256)), NOW, "test")
        for i in range(size)
    ]


async def take(bus: EmbeddedBus, n: int) -> list[Delivery]:
    out: list[Delivery] = []
    if n == 0:
        return out
    async for delivery in bus.deliveries():
        out.append(delivery)
        if len(out) == n:
            break
    return out


def segments(spool: Path) -> list[Path]:
    return sorted(spool.glob("*.seg"))


def test_is_a_bus(tmp_path: Path) -> None:
    bus: Bus = EmbeddedBus(tmp_path)
    assert bus.depth() == 0


def test_round_trip_keeps_records_exactly(tmp_path: Path) -> None:
    async def scenario() -> None:
        bus = EmbeddedBus(tmp_path)
        await bus.start()
        records = [
            *batch(1),
            RawRecord("t2", "s2", "zeek", "日本語 ok".encode(), NOW.replace(tzinfo=None), ""),
        ]
        await bus.publish(records)
        assert bus.depth() == 1
        (delivery,) = await take(bus, 1)
        assert list(delivery.records) == records
        assert delivery.redelivered is False
        await delivery.ack()
        await delivery.ack()  # idempotent
        await bus.close()
        assert bus.stats.published == 1
        assert bus.stats.published_records == 4
        assert bus.stats.acked == 1

    run(scenario())


def test_ack_removes_the_batch_from_the_spool(tmp_path: Path) -> None:
    async def scenario() -> None:
        bus = EmbeddedBus(tmp_path, segment_bytes=2048)  # a few batches per segment: rotation happens
        await bus.start()
        for n in range(10):
            await bus.publish(batch(n))
        assert len(segments(tmp_path)) > 1
        for delivery in await take(bus, 10):
            await delivery.ack()
        for _ in range(100):  # sealed segments are deleted in a worker thread
            if len(segments(tmp_path)) <= 1:
                break
            await asyncio.sleep(0.01)
        assert len(segments(tmp_path)) == 1  # only the active segment remains
        await bus.close()
        assert segments(tmp_path) == []
        again = EmbeddedBus(tmp_path)
        await again.start()
        assert again.depth() == 0
        await again.close()

    run(scenario())


def test_unacked_batches_are_redelivered_after_a_crash(tmp_path: Path) -> None:
    async def scenario() -> None:
        crashed = EmbeddedBus(tmp_path, segment_bytes=2048)
        await crashed.start()
        for n in range(6):
            await crashed.publish(batch(n))
        first, _taken_not_acked = await take(crashed, 2)
        await first.ack()
        # No close(): the next instance sees the spool exactly as a killed process leaves it.
        restarted = EmbeddedBus(tmp_path)
        await restarted.start()
        assert restarted.depth() == 5
        await restarted.publish(batch(99))
        got = await take(restarted, 6)
        assert [d.records for d in got] == [tuple(batch(n)) for n in (1, 2, 3, 4, 5, 99)]
        assert [d.redelivered for d in got] == [True] * 5 + [False]
        for delivery in got:
            await delivery.ack()
        await restarted.close()
        assert restarted.stats.redelivered == 5
        assert segments(tmp_path) == []
        await crashed.close()

    run(scenario())


CHILD = """
import asyncio, sys, time
from datetime import UTC, datetime
from pathlib import Path
from mimamori.bus.embedded import EmbeddedBus
from mimamori.domain import RawRecord

async def main():
    bus = EmbeddedBus(Path(sys.argv[1]))
    await bus.start()
    for n in range(5):
        await bus.publish([RawRecord("t1", "s1", "fmt", f"record {n}".encode(), datetime.now(UTC))])
    print("published", flush=True)
    time.sleep(60)

asyncio.run(main())
"""


def test_batches_survive_kill_9_of_the_publishing_process(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], 15)
        assert ready, "child did not publish in time"
        assert child.stdout.readline() == b"published\n"
        with pytest.raises(ConfigError):  # the spool is locked while the child lives
            run(EmbeddedBus(tmp_path).start())
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()

    async def scenario() -> None:
        bus = EmbeddedBus(tmp_path)
        await bus.start()
        got = await take(bus, 5)
        assert [d.records[0].data for d in got] == [f"record {n}".encode() for n in range(5)]
        assert all(d.redelivered for d in got)
        await bus.close()

    run(scenario())


@pytest.mark.parametrize("damage", ["garbage", "torn", "zeros"])
def test_a_corrupt_tail_is_cut_and_counted(tmp_path: Path, damage: str) -> None:
    async def publish_two() -> None:
        bus = EmbeddedBus(tmp_path)
        await bus.start()
        await bus.publish(batch(1))
        await bus.publish(batch(2))
        await bus.close()

    run(publish_two())
    (seg,) = segments(tmp_path)
    size = seg.stat().st_size
    if damage == "garbage":
        with seg.open("ab") as f:
            f.write(b"\x01\x02not a frame at all")
        expected = [1, 2]
    elif damage == "torn":
        os.truncate(seg, size - 7)  # the second frame lost its last bytes
        expected = [1]
    else:
        with seg.open("ab") as f:
            f.write(bytes(4096))  # what a power loss can leave behind a file's end
        expected = [1, 2]

    async def recover() -> None:
        bus = EmbeddedBus(tmp_path)
        await bus.start()
        assert bus.stats.corrupt_frames == 1
        got = await take(bus, len(expected))
        assert [d.records for d in got] == [tuple(batch(n)) for n in expected]
        assert bus.depth() == 0
        await bus.publish(batch(3))  # the spool is usable again
        await bus.close()

    run(recover())
    assert sum(p.stat().st_size for p in segments(tmp_path)) > 0

    async def once_more() -> None:
        bus = EmbeddedBus(tmp_path)
        await bus.start()
        assert bus.stats.corrupt_frames == 0
        got = await take(bus, len(expected) + 1)
        assert [d.records for d in got] == [tuple(batch(n)) for n in [*expected, 3]]
        await bus.close()

    run(once_more())


def test_backpressure(tmp_path: Path) -> None:
    async def scenario() -> None:
        bus = EmbeddedBus(tmp_path, max_batches=1)
        await bus.start()
        await bus.publish(batch(1))
        with pytest.raises(BackpressureError) as raised:
            await bus.publish(batch(2), wait=False)
        assert raised.value.retry_after > 0
        blocked = asyncio.create_task(bus.publish(batch(3)))
        await asyncio.sleep(0.05)
        assert not blocked.done()
        deliveries = bus.deliveries()
        first = await anext(deliveries)
        await asyncio.wait_for(blocked, 2)
        second = await anext(deliveries)
        assert [first.records, second.records] == [tuple(batch(1)), tuple(batch(3))]
        await bus.close()

    run(scenario())


def test_a_cancelled_waiting_publisher_passes_its_turn_on(tmp_path: Path) -> None:
    async def scenario() -> None:
        bus = EmbeddedBus(tmp_path, max_batches=1)
        await bus.start()
        await bus.publish(batch(1))
        cancelled = asyncio.create_task(bus.publish(batch(2)))
        waiting = asyncio.create_task(bus.publish(batch(3)))
        await asyncio.sleep(0.01)
        cancelled.cancel()
        (first,) = await take(bus, 1)
        await asyncio.wait_for(waiting, 2)
        assert cancelled.cancelled()
        (second,) = await take(bus, 1)
        assert second.records == tuple(batch(3))
        await first.ack()
        await bus.close()

    run(scenario())


def test_order_is_preserved_with_concurrent_publishers_and_restarts(tmp_path: Path) -> None:
    async def scenario() -> None:
        bus = EmbeddedBus(tmp_path, max_batches=8, segment_bytes=4096, fsync=False)
        await bus.start()
        tasks = [asyncio.create_task(bus.publish(batch(n, size=1))) for n in range(40)]
        got = await take(bus, 40)
        await asyncio.gather(*tasks)
        assert [d.records for d in got] == [tuple(batch(n, size=1)) for n in range(40)]
        await bus.close()  # nothing acked
        again = EmbeddedBus(tmp_path)
        await again.start()
        redelivered = await take(again, 40)
        assert [d.records for d in redelivered] == [tuple(batch(n, size=1)) for n in range(40)]
        await again.close()

    run(scenario())


def test_close_ends_the_consumers_and_refuses_publishes(tmp_path: Path) -> None:
    async def scenario() -> None:
        bus = EmbeddedBus(tmp_path)
        await bus.start()
        consumer = asyncio.create_task(take(bus, 1))
        await asyncio.sleep(0.01)
        await bus.close()
        assert await asyncio.wait_for(consumer, 2) == []
        with pytest.raises(RuntimeError):
            await bus.publish(batch(1))

    run(scenario())
