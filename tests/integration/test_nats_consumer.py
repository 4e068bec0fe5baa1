"""PartitionFetcher against the shared NATS server: what it hands back when a partition is given up."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext
from tests.support.nats_server import bus_config

from mimamori.bus.consumer import PartitionFetcher
from mimamori.bus.jetstream import NatsBus, NatsBusConfig, NatsBusStats
from mimamori.bus.partitions import partition
from mimamori.domain import RawRecord

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def run(coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture
def config() -> Iterator[NatsBusConfig]:
    # ack_wait far beyond the test: a message left unacknowledged would not come back in time.
    yield from bus_config(ack_wait=120, fetch_timeout=0.5)


class KeepsSubscription(PartitionFetcher):
    """Remembers the pull subscription its fetch loop binds, so the test can address its inbox."""

    sub: JetStreamContext.PullSubscription | None = None

    async def _bind(self, p: int) -> JetStreamContext.PullSubscription:
        self.sub = await super()._bind(p)
        return self.sub


def test_a_message_sent_after_the_last_fetch_returned_is_handed_back_when_the_partition_is_given_up(
    config: NatsBusConfig,
) -> None:
    """A pull request can outlive the fetch that made it (its expiry counts from when the server got it);
    what the server sends for it then waits in the subscription's queue. Giving the partition up must
    nak it, not drop it with the subscription (it would be stranded for ack_wait, 120 s here)."""

    async def scenario() -> None:
        publisher = NatsBus(config)
        await publisher.start()
        nc = await nats.connect(config.url)
        try:
            holding = True
            counts = dict.fromkeys(NatsBusStats.__slots__, 0)
            fetcher = KeepsSubscription(nc.jetstream(), config, lambda p: holding, counts)
            fetcher.start([0])
            deadline = time.monotonic() + 10
            while fetcher.sub is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            sub = fetcher.sub
            assert sub is not None, "the fetch loop bound the partition's consumer"
            holding = False  # the loop stops fetching (and keeps its subscription) ...
            await asyncio.sleep(config.fetch_timeout + 0.5)  # ... once its fetch in flight has ended
            before = sub.pending_msgs  # status messages (request timed out) may wait there already
            # A pull request that is still open on the server, as one that outlived its fetch would be.
            request = json.dumps({"batch": 1, "expires": 10_000_000_000}).encode()
            await nc.publish(sub._nms, request, reply=sub._deliver)
            tenant = next(f"tenant-{i}" for i in range(1000) if partition(f"tenant-{i}", 8) == 0)
            await publisher.publish([RawRecord(tenant, "s", "f", b"late", NOW)])
            deadline = time.monotonic() + 10
            while sub.pending_msgs == before and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert sub.pending_msgs == before + 1, (
                "the message waits in the subscription's queue, fetched by nobody"
            )

            await fetcher.stop([0])
            assert counts["late_handed_back"] == 1

            next_owner = await nc.jetstream().pull_subscribe_bind(
                durable=config.durable(0), stream=config.stream
            )
            started = time.monotonic()
            msgs = await next_owner.fetch(1, timeout=5)
            assert time.monotonic() - started < 3, "redelivered at once, not after ack_wait"
            assert msgs[0].metadata.num_delivered == 2
            await msgs[0].ack()
            await fetcher.close()
        finally:
            await nc.close()
            await publisher.close()

    run(scenario())


def test_waiting_takes_buffered_deliveries_without_waiting_and_hands_back_those_of_partitions_let_go(
    config: NatsBusConfig,
) -> None:
    async def scenario() -> None:
        publisher = NatsBus(config)
        await publisher.start()
        nc = await nats.connect(config.url)
        try:
            held = {0, 1}
            counts = dict.fromkeys(NatsBusStats.__slots__, 0)
            fetcher = PartitionFetcher(nc.jetstream(), config, lambda p: p in held, counts)
            for p, n in ((0, 5), (1, 2)):
                tenant = next(f"tenant-{i}" for i in range(1000) if partition(f"tenant-{i}", 8) == p)
                for i in range(n):
                    await publisher.publish([RawRecord(tenant, "s", "f", f"p{p}-{i}".encode(), NOW)] * 2)
            fetcher.start([0, 1])
            deadline = time.monotonic() + 10
            while counts["delivered"] < 7 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert counts["delivered"] == 7, "everything is buffered"
            held.discard(1)  # partition 1 is being given up: its fetch loop stops fetching ...
            await asyncio.sleep(config.fetch_timeout + 0.5)  # ... once its fetch in flight has ended

            first = await fetcher.waiting(3)
            assert [d.partition for d in first] == [0, 0], "until 3 records: two batches of two"
            rest = await fetcher.waiting(100)
            assert [d.partition for d in rest] == [0, 0, 0]
            started = time.monotonic()
            assert await fetcher.waiting(100) == []
            assert time.monotonic() - started < 0.1, "an empty buffer is not waited on"
            assert sorted(d.records[0].data for d in first + rest) == [f"p0-{i}".encode() for i in range(5)]

            next_owner = await nc.jetstream().pull_subscribe_bind(
                durable=config.durable(1), stream=config.stream
            )
            msgs = await next_owner.fetch(2, timeout=3)
            assert [m.metadata.num_delivered for m in msgs] == [2, 2], "partition 1's batches were nak'ed"
            for msg in msgs:
                await msg.ack()
            for delivery in first + rest:
                await delivery.ack()
            await fetcher.close()
        finally:
            await nc.close()
            await publisher.close()

    run(scenario())
