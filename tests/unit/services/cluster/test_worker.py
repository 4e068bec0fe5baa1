"""The scale-out worker's batch handling: waiting batches joined into one, hand-back on a moved partition."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mimamori.config import Settings
from mimamori.domain import RawRecord
from mimamori.services import Database
from mimamori.services.cluster import worker as worker_module
from mimamori.services.cluster.worker import Worker
from mimamori.services.pipeline import BatchResult

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
LINE = (
    b"date=2026-11-29 time=12:00:00 devname=fg type=traffic subtype=forward srcip=192.168.1.10 dstip=8.8.8.8"
)


class FakeDelivery:
    def __init__(self, partition: int, tag: str, count: int = 2) -> None:
        self.partition = partition
        self.records = [
            RawRecord(f"t{partition}", "s", "fortigate", LINE + f" {tag}{i}".encode(), NOW)
            for i in range(count)
        ]
        self.redelivered = False
        self.state = "open"

    async def ack(self) -> None:
        assert self.state == "open"
        self.state = "acked"

    async def nak(self) -> None:
        assert self.state == "open"
        self.state = "naked"


class FakeSource:
    def __init__(
        self, first: Sequence[FakeDelivery], waiting: Sequence[FakeDelivery], owned: set[int]
    ) -> None:
        self.first, self.buffered, self.owned = list(first), list(waiting), owned
        self.asked: list[int] = []

    async def deliveries(self) -> AsyncIterator[FakeDelivery]:
        for delivery in self.first:
            yield delivery

    async def waiting(self, max_records: int) -> Sequence[FakeDelivery]:
        self.asked.append(max_records)
        out, total = [], 0
        while self.buffered and total < max_records:
            out.append(self.buffered.pop(0))
            total += len(out[-1].records)
        return out

    @property
    def partitions_owned(self) -> frozenset[int]:
        return frozenset(self.owned)


@pytest.fixture
def worker(tmp_path: Path) -> Worker:
    settings = Settings(data_dir=tmp_path, secret_key="w" * 40, archive_enabled=False)
    db = Database(f"sqlite:///{tmp_path / 'ops.db'}")
    db.migrate()
    return Worker(settings, db, partition_of=lambda tenant: int(tenant[1:]))


def test_batches_waiting_in_the_buffer_are_processed_with_the_one_received_as_one(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    process = worker.pipeline.process

    def counting(records: Sequence[RawRecord]) -> BatchResult:
        calls.append(len(records))
        return process(records)

    monkeypatch.setattr(worker.pipeline, "process", counting)
    monkeypatch.setattr(worker_module, "JOIN_RECORDS", 7)
    first = FakeDelivery(1, "a", 3)
    waiting = [FakeDelivery(2, "b"), FakeDelivery(1, "c"), FakeDelivery(2, "d"), FakeDelivery(1, "e")]
    source = FakeSource([first], waiting, {1, 2})

    asyncio.run(worker.run(source))  # returns when the source's deliveries end
    assert source.asked == [4], "asked for what the first batch leaves of JOIN_RECORDS"
    assert calls == [7], "one transaction for the first batch and two waiting ones (3 + 2 + 2 records)"
    assert [d.state for d in [first, *waiting]] == ["acked", "acked", "acked", "open", "open"]
    assert worker.processed.received == 7


def test_a_failing_batch_hands_back_the_batches_of_a_partition_that_moved_and_retries_the_rest(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "RETRY_FIRST_SECONDS", 0.01)
    source = FakeSource([], [], {1, 2})
    batch = [FakeDelivery(1, "a"), FakeDelivery(2, "b"), FakeDelivery(1, "c")]
    seen: list[list[bytes]] = []
    process = worker.pipeline.process

    def flaky(records: Sequence[RawRecord]) -> BatchResult:
        seen.append([r.data[-2:] for r in records])
        if len(seen) == 1:
            source.owned.discard(2)  # the lease of partition 2 moves while the database is down
            raise RuntimeError("database down")
        return process(records)

    monkeypatch.setattr(worker.pipeline, "process", flaky)
    acked = asyncio.run(worker.handle(batch, source))
    assert acked == 2
    assert [d.state for d in batch] == ["acked", "naked", "acked"]
    assert seen == [[b"a0", b"a1", b"b0", b"b1", b"c0", b"c1"], [b"a0", b"a1", b"c0", b"c1"]]
    assert (worker.retries, worker.abandoned) == (1, 1)


def test_a_failing_batch_whose_partitions_all_moved_is_handed_back_whole(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "RETRY_FIRST_SECONDS", 0.01)
    source = FakeSource([], [], {3})
    batch = [FakeDelivery(3, "a")]

    def down(records: Sequence[RawRecord]) -> BatchResult:
        source.owned.clear()
        raise RuntimeError("database down")

    monkeypatch.setattr(worker.pipeline, "process", down)
    assert asyncio.run(worker.handle(batch, source)) == 0
    assert batch[0].state == "naked"
    assert worker.processed.received == 0
