"""NatsBus against the shared NATS server: round trip, redelivery, push-back, framing, state store."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from typing import Any

import nats
import pytest
from tests.support.nats_server import bus_config

from mimamori.bus.base import Bus
from mimamori.bus.jetstream import NatsBus, NatsBusConfig, NatsDelivery
from mimamori.bus.partitions import partition
from mimamori.domain import RawRecord
from mimamori.errors import BackpressureError, ConfigError, PayloadTooLargeError

NOW = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def run(coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture
def config() -> Iterator[NatsBusConfig]:
    yield from bus_config()


def records(batch: int, tenant: str, n: int = 5) -> list[RawRecord]:
    return [
        RawRecord(tenant, "s1", "fortigate", f"b{batch} r{i} ".encode() + bytes(range(256)), NOW, "test")
        for i in range(n)
    ]


async def take(bus: NatsBus, n: int, *, ack: bool = True) -> list[NatsDelivery]:
    out: list[NatsDelivery] = []
    async for delivery in bus.deliveries():
        if ack:
            await delivery.ack()
        out.append(delivery)
        if len(out) == n:
            break
    return out


def test_is_a_bus(config: NatsBusConfig) -> None:
    bus: Bus = NatsBus(config)
    assert bus.depth() == 0


def test_round_trip_many_records_across_partitions(config: NatsBusConfig) -> None:
    async def scenario() -> None:
        publisher, worker = NatsBus(config), NatsBus(config, on_assigned=assigned)
        await publisher.start()
        await worker.start()
        sent = [r for b in range(40) for r in records(b, f"tenant-{b % 13}", 50)]
        await asyncio.gather(*(publisher.publish(sent[i : i + 200]) for i in range(0, len(sent), 200)))
        got: list[RawRecord] = []
        async for delivery in worker.deliveries():
            assert assignments, "on_assigned is awaited before fetching starts"
            assert not delivery.redelivered
            assert {partition(r.tenant_id, 8) for r in delivery.records} == {delivery.partition}
            got.extend(delivery.records)
            await delivery.ack()
            if len(got) >= len(sent):
                break
        assert Counter(got) == Counter(sent)
        assert worker.partitions_owned == frozenset(range(8))
        assert publisher.stats.published_records == len(sent) == worker.stats.acked * 0 + len(got)
        assert publisher.stats.published_batches == 10
        assert publisher.stats.published_messages >= 10
        await publisher.close()
        await worker.close()

    assignments: list[frozenset[int]] = []

    async def assigned(partitions: frozenset[int]) -> None:
        await asyncio.sleep(0.2)
        assignments.append(partitions)

    run(scenario())


def test_unacked_batch_is_redelivered_to_the_next_owner(config: NatsBusConfig) -> None:
    async def scenario() -> None:
        publisher = NatsBus(config)
        await publisher.start()
        await publisher.publish(records(1, "acme"))
        first = NatsBus(config)
        await first.start()
        [delivery] = await take(first, 1, ack=False)
        assert not delivery.redelivered
        await first.close()  # without ack: the batch must come back
        second = NatsBus(config)
        await second.start()
        [again] = await take(second, 1)
        assert again.redelivered
        assert again.records == delivery.records
        assert second.stats.redelivered == 1
        await publisher.publish(records(2, "acme"))
        [fresh] = await take(second, 1)
        assert not fresh.redelivered
        assert list(fresh.records) == records(2, "acme")
        await second.close()
        await publisher.close()

    run(scenario())


def test_full_stream_pushes_back(config: NatsBusConfig) -> None:
    small = NatsBusConfig(
        url=config.url, prefix=config.prefix, partitions=2, max_bytes=64 * 1024, publish_timeout=2
    )

    async def scenario() -> None:
        bus = NatsBus(small)
        await bus.start()

        async def fill() -> None:
            for b in range(1000):
                await bus.publish(records(b, "acme", 20), wait=False)

        with pytest.raises(BackpressureError):
            await fill()
        assert bus.stats.backpressure == 1
        blocked = asyncio.create_task(bus.publish(records(9999, "acme", 20)))
        await asyncio.sleep(1.5)
        assert not blocked.done(), "wait=True keeps retrying while the stream is full"
        assert bus.stats.publish_retries > 0
        nc = await nats.connect(small.url)
        await nc.jetstream().purge_stream(small.stream)
        await nc.close()
        await asyncio.wait_for(blocked, 10)
        await bus.close()

    run(scenario())


def test_oversized_record_is_rejected_before_publishing(config: NatsBusConfig) -> None:
    async def scenario() -> None:
        bus = NatsBus(NatsBusConfig(url=config.url, prefix=config.prefix, max_message_bytes=4096))
        await bus.start()
        big = RawRecord("acme", "s1", "json", b"x" * 10_000, NOW)
        with pytest.raises(PayloadTooLargeError):
            await bus.publish([*records(1, "other"), big])
        assert bus.stats.published_messages == 0
        await bus.publish(records(2, "acme", 100))  # split into several messages
        assert bus.stats.published_messages > 1
        await bus.close()

    run(scenario())


def test_unusable_worker_id_is_refused(config: NatsBusConfig) -> None:
    with pytest.raises(ConfigError):
        NatsBus(config, worker_id="host.example worker")
    assert NatsBus(config, worker_id="worker-1").worker_id == "worker-1"


def test_other_partition_count_is_refused(config: NatsBusConfig) -> None:
    async def scenario() -> None:
        bus = NatsBus(config)
        await bus.start()
        await bus.close()
        other = NatsBus(NatsBusConfig(url=config.url, prefix=config.prefix, partitions=4))
        with pytest.raises(ConfigError, match="partitions"):
            await other.start()

    run(scenario())


def test_corrupt_message_is_terminated_and_skipped(config: NatsBusConfig) -> None:
    async def scenario() -> None:
        bus = NatsBus(config)
        await bus.start()
        nc = await nats.connect(config.url)
        await nc.jetstream().publish(config.subject(partition("acme", 8)), b"MMB1 not a frame")
        await nc.close()
        await bus.publish(records(1, "acme"))
        [delivery] = await take(bus, 1)
        assert list(delivery.records) == records(1, "acme")
        assert bus.stats.corrupt == 1
        await bus.close()

    run(scenario())


def test_state_store_round_trip(config: NatsBusConfig) -> None:
    async def scenario() -> None:
        bus = NatsBus(config)
        await bus.start()
        store = await bus.state_store()
        assert await store.get("partition-3") is None
        snapshot = bytes(range(256)) * 12_000  # ~3 MB
        await store.put("partition-3", snapshot)
        assert await store.get("partition-3") == snapshot
        await store.put("partition-3", b"smaller")
        assert await store.get("partition-3") == b"smaller"
        other = await bus.state_store()  # a second handle (another process) sees the same data
        assert await other.get("partition-3") == b"smaller"
        await store.delete("partition-3")
        await store.delete("partition-3")
        assert await store.get("partition-3") is None
        await bus.close()

    run(scenario())


def test_deleted_stream_is_recreated_by_a_waiting_publisher(config: NatsBusConfig) -> None:
    async def scenario() -> None:
        bus = NatsBus(config)
        await bus.start()
        await bus.publish(records(1, "acme"))
        nc = await nats.connect(config.url)
        await nc.jetstream().delete_stream(config.stream)
        await bus.publish(records(2, "acme"))
        assert bus.stats.publish_retries >= 1
        [delivery] = await take(bus, 1)
        assert list(delivery.records) == records(2, "acme")
        await nc.close()
        await bus.close()

    run(scenario())


def test_a_slow_worker_keeps_its_batches_past_ack_wait(config: NatsBusConfig) -> None:
    """Fetched batches wait in the worker's buffer or are being processed for longer than ack_wait (3 s
    here): their deadline is renewed, so NATS does not deliver them a second time behind the worker's back."""

    async def scenario() -> None:
        publisher, worker = NatsBus(config), NatsBus(config)
        await publisher.start()
        await worker.start()
        for b in range(6):
            await publisher.publish(records(b, "slow-tenant"))
        got: list[NatsDelivery] = []
        async for delivery in worker.deliveries():
            got.append(delivery)
            if len(got) == 1:
                await asyncio.sleep(2.5 * config.ack_wait)  # a slow first batch; the others wait buffered
            await delivery.ack()
            if len(got) == 6:
                break
        await asyncio.sleep(1.5 * config.ack_wait)  # a redelivery would arrive now
        assert worker.stats.redelivered == 0
        assert worker.stats.delivered == 6
        assert not any(d.redelivered for d in got)
        await worker.close()
        await publisher.close()

    run(scenario(), timeout=60)
