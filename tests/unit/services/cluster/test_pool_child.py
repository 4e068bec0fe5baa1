"""The child side of ``serve --workers N``'s pipes: parts in, answers out, waiting parts joined."""

from __future__ import annotations

import asyncio
import multiprocessing
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson
import pytest

from mimamori.bus.spool import encode_batch
from mimamori.domain import RawRecord
from mimamori.services.cluster import pool_child
from mimamori.services.cluster.pool_child import FileStateStore, _PipeSource
from mimamori.services.pipeline import BatchResult

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _records(tag: str, count: int) -> list[RawRecord]:
    return [RawRecord("t1", "s1", "fortigate", f"{tag} {i}".encode(), NOW, "test") for i in range(count)]


def _answers(conn: Connection) -> list[dict[str, Any]]:
    out = []
    while conn.poll(0.5):
        message = conn.recv_bytes()
        if message[:1] == pool_child.ACK:
            out.append(orjson.loads(message[1:]))
    return out


def test_waiting_parts_are_processed_as_one_batch_and_each_is_answered() -> None:
    parent, child = multiprocessing.Pipe(duplex=True)
    totals = BatchResult()

    async def scenario() -> list[tuple[list[int], list[bytes]]]:
        source = _PipeSource(child, 0, totals)
        for batch_id, tag in ((1, "a"), (2, "b"), (3, "c")):
            parent.send_bytes(pool_child.encode_batch_message(batch_id, encode_batch(_records(tag, 2))))
        parent.send_bytes(b"X")  # unknown: logged and ignored
        parent.send_bytes(pool_child.encode_batch_message(4, b"not a frame"))  # answered, not processed
        parent.send_bytes(pool_child.STOP)
        source.start()
        await asyncio.sleep(0.3)  # every message is read before the first batch is taken
        seen = []
        async for delivery in source.deliveries():
            assert delivery.partition == 0
            seen.append((list(delivery.batch_ids), [r.data for r in delivery.records]))  # type: ignore[attr-defined]
            totals.add(BatchResult(received=len(delivery.records), parsed=len(delivery.records)))
            await delivery.ack()
        return seen

    seen = asyncio.run(scenario())
    assert seen == [([1, 2, 3], [b"a 0", b"a 1", b"b 0", b"b 1", b"c 0", b"c 1"])]
    answers = _answers(parent)
    assert [a["id"] for a in answers] == [4, 1, 2, 3]
    # The counts go with the first answer after they were made, once: the parent sums them.
    assert sum(int(a["result"]["received"]) for a in answers) == 6
    assert answers[1]["result"]["parsed"] == 6


def test_a_part_alone_is_passed_on_as_it_is() -> None:
    parent, child = multiprocessing.Pipe(duplex=True)

    async def scenario() -> list[list[int]]:
        source = _PipeSource(child, 1, BatchResult())
        source.start()
        seen = []
        parent.send_bytes(pool_child.encode_batch_message(7, encode_batch(_records("x", 3))))
        async for delivery in source.deliveries():
            seen.append(list(delivery.batch_ids))  # type: ignore[attr-defined]
            await delivery.ack()
            parent.close()  # the parent is gone: the source ends like on STOP
        return seen

    assert asyncio.run(scenario()) == [[7]]


def test_joined_parts_stay_under_the_record_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_child, "COALESCE_RECORDS", 5)
    parent, child = multiprocessing.Pipe(duplex=True)

    async def scenario() -> list[list[int]]:
        source = _PipeSource(child, 0, BatchResult())
        for batch_id in range(1, 5):
            parent.send_bytes(pool_child.encode_batch_message(batch_id, encode_batch(_records("r", 3))))
        parent.send_bytes(pool_child.STOP)
        source.start()
        await asyncio.sleep(0.3)
        return [list(d.batch_ids) async for d in source.deliveries()]  # type: ignore[attr-defined]

    assert asyncio.run(scenario()) == [[1, 2], [3, 4]]


def test_a_move_is_carried_out_after_the_batches_before_it_and_answered_after_their_acks() -> None:
    parent, child = multiprocessing.Pipe(duplex=True)
    order: list[str] = []

    async def mover(kind: bytes, partitions: list[int]) -> None:
        order.append(f"{kind.decode()}{partitions}")

    async def scenario() -> None:
        source = _PipeSource(child, 0, BatchResult(), mover)
        parent.send_bytes(pool_child.encode_batch_message(1, encode_batch(_records("a", 2))))
        parent.send_bytes(pool_child.encode_batch_message(2, encode_batch(_records("b", 2))))
        parent.send_bytes(pool_child.encode_partitions(pool_child.GIVE, [5, 3]))
        parent.send_bytes(pool_child.encode_batch_message(3, encode_batch(_records("c", 2))))
        parent.send_bytes(pool_child.GIVE + b"[-1]")  # malformed: ignored
        parent.send_bytes(pool_child.encode_partitions(pool_child.TAKE, [7]))
        parent.send_bytes(pool_child.STOP)
        source.start()
        await asyncio.sleep(0.3)  # every message is waiting: joining must stop at the move
        async for delivery in source.deliveries():
            order.append(str(delivery.batch_ids))  # type: ignore[attr-defined]
            await delivery.ack()

    asyncio.run(scenario())
    assert order == ["[1, 2]", "G[3, 5]", "[3]", "T[7]"]
    kinds = []
    while parent.poll(0.5):
        message = parent.recv_bytes()
        kinds.append(message[:1] + (message[1:] if message[:1] == pool_child.GIVEN else b""))
    assert kinds == [pool_child.ACK, pool_child.ACK, pool_child.GIVEN + b"[3,5]", pool_child.ACK]


def test_partition_lists_are_checked() -> None:
    assert pool_child.decode_partitions(pool_child.encode_partitions(pool_child.TAKE, {2, 1})) == [1, 2]
    for bad in (b"T", b"T{}", b"T[1.5]", b"T[true]", b'T["1"]', b"T[-2]"):
        assert pool_child.decode_partitions(bad) is None


def test_state_files_are_written_whole_and_read_back(tmp_path: Path) -> None:
    store = FileStateStore(tmp_path / "state")

    async def scenario() -> tuple[bytes | None, bytes | None]:
        missing = await store.get("behaviours.p0")
        await store.put("behaviours.p0", b"one")
        await store.put("behaviours.p0", b"two")
        return missing, await store.get("behaviours.p0")

    assert asyncio.run(scenario()) == (None, b"two")
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["behaviours.p0.json.gz"]
