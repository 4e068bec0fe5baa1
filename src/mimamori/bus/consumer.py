"""The fetching half of the NATS bus: one pull consumer per owned partition feeding a bounded buffer.

A fetch task per owned partition binds the partition's durable pull consumer (created if missing:
explicit ack, filter ``<prefix>.raw.<p>``, ``max_ack_pending``, ``ack_wait``) and fetches batches of
messages while the worker holds the partition's lease. Decoded messages wait in a bounded local buffer
(a full buffer stops fetching). A message that is not an intact frame is terminated (never redelivered)
and counted. When a partition is revoked, its task ends after its fetch in flight (what that fetch
brought is nak'ed), then what the server still sent for that fetch's pull request after it returned
(it can outlive the fetch by the server's latency) is taken from the subscription and nak'ed, and so are
the messages of that partition still in the buffer, so that the next owner gets them all at once; a
delivery already handed to the caller can still be acked. What a dead worker
fetched and never acked is redelivered after ``ack_wait``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from mimamori.bus.nats_config import NatsBusConfig
from mimamori.bus.partitions import decode_frame
from mimamori.domain import RawRecord

__all__ = ["NatsDelivery", "PartitionFetcher"]

log = logging.getLogger(__name__)

_NATS_ERRORS = (nats.errors.Error, OSError)
WORK_HORIZON_SECONDS = 10.0
# How long after its last fetch returned a partition's subscription still waits for late messages of that
# fetch's pull request before it unsubscribes (see PartitionFetcher._release).
LATE_GRACE_SECONDS = 0.25


class NatsDelivery:
    """One NATS message (a batch of records) of one partition."""

    __slots__ = ("_acked", "_counts", "_msg", "_outstanding", "_records", "_redelivered", "partition")

    def __init__(
        self,
        msg: Msg,
        records: Sequence[RawRecord],
        partition: int,
        counts: dict[str, int],
        outstanding: dict[int, tuple[Msg, int]] | None = None,
    ) -> None:
        self._msg, self._records, self.partition, self._counts = msg, records, partition, counts
        self._outstanding = outstanding if outstanding is not None else {}
        self._redelivered = msg.metadata.num_delivered > 1
        self._acked = False

    @property
    def records(self) -> Sequence[RawRecord]:
        return self._records

    @property
    def redelivered(self) -> bool:
        return self._redelivered

    async def ack(self) -> None:
        """Acknowledge the message; a lost ack only causes a redelivery, so failures are logged."""
        if self._acked:
            return
        self._acked = True
        self._outstanding.pop(id(self._msg), None)
        try:
            await self._msg.ack()
            self._counts["acked"] += 1
        except _NATS_ERRORS as exc:
            self._counts["ack_errors"] += 1
            log.warning("ack of partition %d failed (it will be redelivered): %r", self.partition, exc)

    async def nak(self) -> None:
        """Hand the message back for immediate redelivery (to whoever owns the partition)."""
        if not self._acked:
            self._acked = True
            self._outstanding.pop(id(self._msg), None)
            with contextlib.suppress(*_NATS_ERRORS):
                await self._msg.nak()


class PartitionFetcher:
    """Fetch tasks of the owned partitions and the buffer they fill."""

    def __init__(
        self,
        js: JetStreamContext,
        config: NatsBusConfig,
        holds: Callable[[int], bool],
        counts: dict[str, int],
    ) -> None:
        self._js, self._c, self._holds, self._counts = js, config, holds, counts
        self._queue: asyncio.Queue[NatsDelivery | None] = asyncio.Queue(config.buffer)
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._pending: dict[int, int] = {}  # per partition: messages left in the stream after the last fetch
        # Per partition, for work(): records handed out so far, records per message (moving average),
        # records in the buffer; and (time, handed out + backlog per partition) about once a second.
        self._records: dict[int, int] = {}
        self._per_msg: dict[int, float] = {}
        self._buffered: dict[int, int] = {}
        self._marks: collections.deque[tuple[float, dict[int, float]]] = collections.deque()
        # Fetched and not yet acknowledged (buffered or being processed) -> partition. Their ack_wait is
        # renewed (``in_progress``) every ack_wait / 3, so a slow worker's backlog is never redelivered
        # behind its back; a partition that is given up stops renewing its messages.
        self._outstanding: dict[int, tuple[Msg, int]] = {}  # by id(): Msg is not hashable
        self._keeper: asyncio.Task[None] | None = None
        self._fetching: set[int] = set()  # partitions with a fetch request in flight
        self._stopping: set[int] = set()  # partitions whose fetch loop ends after its current request
        self._closed = False

    def start(self, partitions: Iterable[int]) -> None:
        """Start fetching these partitions (their leases are held)."""
        for p in partitions:
            if p not in self._tasks:
                self._tasks[p] = asyncio.create_task(self._fetch_loop(p), name=f"nats-fetch-{p}")
        if self._keeper is None:
            self._keeper = asyncio.create_task(self._keep_alive(), name="nats-in-progress")

    async def stop(self, partitions: Iterable[int]) -> None:
        """Stop fetching; nak the buffered messages of these partitions. Returns once fetching stopped.

        A fetch request in flight is let finish (at most ``fetch_timeout``) and what it brings is nak'ed:
        cancelling it would leave the messages the server already sent for it unacknowledged until
        ``ack_wait`` (30 s), holding the partition's next owner back."""
        wanted = set(partitions)
        tasks = {p: self._tasks.pop(p) for p in wanted if p in self._tasks}
        self._stopping |= set(tasks)
        try:
            for p, task in tasks.items():
                if p not in self._fetching:
                    task.cancel()
            if tasks:
                await asyncio.wait(tasks.values(), timeout=self._c.fetch_timeout + LATE_GRACE_SECONDS + 5.0)
            for task in tasks.values():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            self._stopping -= set(tasks)
        for p in wanted:
            for table in (self._pending, self._records, self._per_msg, self._buffered):
                table.pop(p, None)
        for key, (_msg, p) in list(self._outstanding.items()):
            if p in wanted:  # the next owner gets what this worker has not acknowledged
                self._outstanding.pop(key, None)
        kept: list[NatsDelivery | None] = []
        dropped: list[NatsDelivery] = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None and item.partition in wanted:
                dropped.append(item)
            else:
                kept.append(item)
        for item in kept:
            self._queue.put_nowait(item)
        for delivery in dropped:
            await delivery.nak()

    async def get(self) -> NatsDelivery | None:
        """The next delivery of a partition still held, or None once closed."""
        while not self._closed:
            delivery = await self._queue.get()
            if delivery is None:
                break
            if await self._taken(delivery):
                return delivery
        return None

    async def waiting(self, max_records: int) -> list[NatsDelivery]:
        """Deliveries of held partitions already buffered (none is waited for), until ``max_records``
        records are reached (the last one may pass it)."""
        out: list[NatsDelivery] = []
        total = 0
        while total < max_records and not self._closed and not self._queue.empty():
            delivery = self._queue.get_nowait()
            if delivery is None:  # closing: leave the wake-up for get()
                self._queue.put_nowait(None)
                break
            if await self._taken(delivery):
                out.append(delivery)
                total += len(delivery.records)
        return out

    async def _taken(self, delivery: NatsDelivery) -> bool:
        """Account a delivery leaving the buffer; False (and nak'ed) if its partition is no longer held."""
        p = delivery.partition
        self._buffered[p] = self._buffered.get(p, 0) - len(delivery.records)
        if self._holds(p):
            return True
        await delivery.nak()  # its lease was lost meanwhile: the next owner gets it
        return False

    async def close(self) -> None:
        await self.stop(list(self._tasks))
        self._closed = True
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)  # wakes a waiting get(); a full queue means nobody waits

    def depth(self) -> int:
        return self._queue.qsize() + sum(self._pending.values())

    def work(self, horizon: float = WORK_HORIZON_SECONDS) -> dict[int, float]:
        """Records each fetched partition needs: its backlog (messages left in the stream times records
        per message, plus the records buffered here) and the records that arrived in the last
        ``horizon`` seconds. What load balancing weighs.

        Arrivals are what was handed out plus how much the backlog grew, so a worker that cannot keep up
        still reports the demand, not its own speed. They are counted from a partition's first fetch on,
        so a backlog found there is not also counted as an arrival."""
        now = time.monotonic()
        stream = {p: self._pending[p] * self._per_msg.get(p, 0.0) for p in self._tasks if p in self._pending}
        arrived = {p: self._records.get(p, 0) + left for p, left in stream.items()}  # fetched + left
        backlog = {p: left + max(0, self._buffered.get(p, 0)) for p, left in stream.items()}
        marks = self._marks
        if not marks or now - marks[-1][0] >= 1.0:
            marks.append((now, arrived))
        while len(marks) > 1 and now - marks[1][0] >= horizon:
            marks.popleft()  # keep one mark at least ``horizon`` old as the baseline
        out = dict.fromkeys(self._tasks, 0.0)
        for p, total in arrived.items():
            base = next((mark[p] for _, mark in marks if p in mark), total)
            out[p] = backlog[p] + max(0.0, total - base)
        return out

    # -- internals --------------------------------------------------------------------------------------
    async def _keep_alive(self) -> None:
        """Renew the ack deadline of every outstanding message (``+WPI``) every ack_wait / 3."""
        interval = max(0.5, self._c.ack_wait / 3)
        while True:
            await asyncio.sleep(interval)
            for key, (msg, _p) in list(self._outstanding.items()):
                if key in self._outstanding:
                    with contextlib.suppress(*_NATS_ERRORS):
                        await msg.in_progress()

    async def _bind(self, p: int) -> JetStreamContext.PullSubscription:
        c = self._c
        config = ConsumerConfig(
            durable_name=c.durable(p),
            filter_subject=c.subject(p),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=c.ack_wait,
            max_ack_pending=c.max_ack_pending,
            max_deliver=-1,
        )
        try:
            await self._js.add_consumer(c.stream, config)
        except nats.js.errors.BadRequestError as exc:  # exists with other settings: use it as it is
            log.warning("consumer %s kept with its existing settings: %s", c.durable(p), exc.description)
        return await self._js.pull_subscribe_bind(durable=c.durable(p), stream=c.stream)

    async def _fetch_loop(self, p: int) -> None:
        sub: JetStreamContext.PullSubscription | None = None
        backoff = self._c.retry_initial
        last_fetch = 0.0
        task = asyncio.current_task()
        try:
            while True:
                if task is not None and task.cancelling():  # a library swallowed our cancellation
                    raise asyncio.CancelledError
                if p in self._stopping:
                    return
                if not self._holds(p):
                    await asyncio.sleep(0.1)  # the lease is going: this task is about to be cancelled
                    continue
                try:
                    if sub is None:
                        sub = await self._bind(p)
                    self._fetching.add(p)
                    try:
                        msgs = await sub.fetch(self._c.fetch_batch, timeout=self._c.fetch_timeout)
                    finally:
                        self._fetching.discard(p)
                        last_fetch = time.monotonic()
                    if p in self._stopping:  # given up meanwhile: hand these back at once
                        for msg in msgs:
                            with contextlib.suppress(*_NATS_ERRORS):
                                await msg.nak()
                        return
                except TimeoutError:  # nats.errors.TimeoutError too
                    self._pending[p] = 0
                    continue  # nothing to fetch
                except _NATS_ERRORS as exc:
                    log.warning("fetching partition %d failed: %r", p, exc)
                    if sub is not None:  # bind again: the consumer may have been recreated
                        await self._release(p, sub, last_fetch)
                        sub = None
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self._c.retry_max)
                    continue
                backoff = self._c.retry_initial
                for msg in msgs:
                    self._outstanding[id(msg)] = (msg, p)
                await self._buffer(p, msgs)
        finally:
            if sub is not None:
                await self._release(p, sub, last_fetch)

    async def _release(self, p: int, sub: JetStreamContext.PullSubscription, last_fetch: float) -> None:
        """Nak what reached the subscription after its last fetch returned, then unsubscribe.

        A fetch can return before its pull request ends on the server (the request's expiry counts from
        when the server got it), and what the server sends for it then waits in the subscription's queue
        for the next fetch. Unsubscribing would drop those messages, unacknowledged, until ``ack_wait``:
        so they are taken (for up to ``LATE_GRACE_SECONDS`` after the last fetch) and nak'ed."""
        inbox = sub._sub  # nats-py keeps the deliveries no fetch took in the core subscription's queue
        deadline = last_fetch + LATE_GRACE_SECONDS
        try:
            while True:
                try:
                    msg = await inbox.next_msg(timeout=max(0.001, deadline - time.monotonic()))
                except _NATS_ERRORS:  # nats.errors.TimeoutError: nothing more came
                    break
                if JetStreamContext.is_status_msg(msg) is None:  # status messages carry no delivery
                    self._counts["late_handed_back"] += 1
                    with contextlib.suppress(*_NATS_ERRORS):
                        await msg.nak()
        finally:
            with contextlib.suppress(*_NATS_ERRORS):
                await sub.unsubscribe()

    async def _buffer(self, p: int, msgs: list[Msg]) -> None:
        for i, msg in enumerate(msgs):
            try:
                records = decode_frame(msg.data)
            except ValueError as exc:
                self._counts["corrupt"] += 1
                log.error("partition %d: unreadable message terminated: %s", p, exc)
                self._outstanding.pop(id(msg), None)
                with contextlib.suppress(*_NATS_ERRORS):
                    await msg.term()
                continue
            delivery = NatsDelivery(msg, records, p, self._counts, self._outstanding)
            self._pending[p] = msg.metadata.num_pending
            try:
                await self._queue.put(delivery)
            except asyncio.CancelledError:
                for rest in msgs[i:]:  # not handed out: give them back at once
                    self._outstanding.pop(id(rest), None)
                    with contextlib.suppress(*_NATS_ERRORS):
                        await rest.nak()
                raise
            self._counts["delivered"] += 1
            self._records[p] = self._records.get(p, 0) + len(records)
            self._buffered[p] = self._buffered.get(p, 0) + len(records)
            average = self._per_msg.get(p)
            self._per_msg[p] = len(records) if average is None else 0.9 * average + 0.1 * len(records)
            if delivery.redelivered:
                self._counts["redelivered"] += 1
