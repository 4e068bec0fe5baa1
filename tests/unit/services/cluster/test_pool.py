"""The serving process's side of ``serve --workers N``: a partition move never overtakes parts sent before."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

from mimamori.config import Settings
from mimamori.services.cluster import pool_child
from mimamori.services.cluster.pool import WorkerPool
from mimamori.services.pipeline import BatchResult


class RecordingConn:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send_bytes(self, message: bytes) -> None:
        self.sent.append(message)


def test_a_give_is_sent_after_the_parts_already_queued_for_the_child(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="p" * 40)
    pool = WorkerPool(settings, 2, processed=BatchResult())
    giver, taker = pool._children
    conns = [RecordingConn(), RecordingConn()]

    async def scenario() -> bool:
        pool._loop = asyncio.get_running_loop()
        for child, conn in zip(pool._children, conns, strict=True):
            child.conn, child.ready = cast(Any, conn), True
        p = next(p for p, owner in enumerate(pool.owner) if owner == giver.index)

        async def answer_the_give() -> None:
            while not any(m[:1] == pool_child.GIVE for m in conns[0].sent):
                await asyncio.sleep(0.01)
            pool._on_message(giver, pool_child.encode_partitions(pool_child.GIVEN, [p]))

        answering = asyncio.create_task(answer_the_give())
        # As the dispatcher does: parts queued, then the move awaited at once (no await between).
        for n in range(3):
            pool._background(pool._send(giver, b"B%d" % n, giver.generation))
        moved = await pool.move(p, taker.index)
        await answering
        return moved

    assert asyncio.run(scenario()) is True
    assert [m[:2] for m in conns[0].sent] == [b"B0", b"B1", b"B2", pool_child.GIVE + b"["]
    assert [m[:1] for m in conns[1].sent] == [pool_child.TAKE]
    assert pool.moves == 1
